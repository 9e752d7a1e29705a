"""The Evaluate tab's detection panels: a detection run's box errors (false positives, missed boxes, wrong classes)
as a gallery grouped by box size or category tag, and detection runs compared with intervals. Shown for detection
runs only; the tab's run picker, Evaluate button and metrics serve both kinds of run (see evaluate_tab)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.run import Run, list_runs
from workbench.ui.handlers import bind
from workbench.ui.thumb_grid import grid_value, thumb_grid
from workbench.workspace import Workspace

detect_evaluate = lazy_import("workbench.detect.evaluate")
detect_gallery = lazy_import("workbench.detect.gallery")
detect_compare = lazy_import("workbench.detect.compare")

PAGE_SIZE = 48
OUTCOMES = [("all errors", ""), ("false positives", "false positive"), ("missed boxes", "missed"),
            ("wrong class", "wrong class"), ("correct", "correct")]
GROUPS = [("box size", "size"), ("category tag", "tag")]
ALL = ("all boxes", "")
PRIVATE = {"api_visibility": "private"}


@dataclass
class DetectionPanel:
    """Box errors (outcome, grouping, group, paging, gallery, counts) and the comparison of detection runs."""

    accordion: gr.Accordion
    outcome: gr.Radio
    by: gr.Radio
    group: gr.Dropdown
    previous: gr.Button
    page: gr.Number
    next: gr.Button
    label: gr.Markdown
    gallery: gr.HTML
    table: gr.Dataframe
    compare_runs: gr.Dropdown
    compare: gr.Button
    compared: gr.Dataframe

    def inputs(self, run: gr.Dropdown) -> dict:
        """What `show_box_errors` reads, by parameter name."""
        return {"run": run, "outcome": self.outcome, "by": self.by, "group": self.group, "page": self.page}

    def outputs(self) -> list:
        """What `show_box_errors` returns, in order."""
        return [self.accordion, self.gallery, self.label, self.table, self.group, self.page]


def layout(ws: Workspace) -> DetectionPanel:
    """The detection accordion (hidden until a detection run is picked)."""
    with gr.Accordion("Detection: box errors and run comparison", open=True, visible=False,
                      elem_id="wb-eval-detection") as accordion:
        with gr.Row():
            outcome = gr.Radio(OUTCOMES, value="", label="Show", scale=3, elem_id="wb-eval-box-outcome")
            by = gr.Radio(GROUPS, value="size", label="Group by", scale=2)
            group = gr.Dropdown(choices=[ALL], value="", label="Group", scale=2, allow_custom_value=True)
        with gr.Row():
            previous = gr.Button("◀ Previous", scale=1)
            page = gr.Number(value=1, precision=0, minimum=1, label="Page", scale=1)
            next_ = gr.Button("Next ▶", scale=1)
            label = gr.Markdown()
        gallery = thumb_grid(label="Boxes at the operating score (red: false positive, orange: missed, purple: "
                                   "wrong class), most confident first", elem_id="wb-eval-box-gallery",
                             height="520px", empty="Evaluate the run to see its boxes.")
        table = gr.Dataframe(label="Box outcomes per group (miss rate: missed / true boxes)", interactive=False,
                             elem_id="wb-eval-box-table")
        gr.Markdown("**Compare detection runs** on the test images they share: mAP with 95% bootstrap intervals over "
                    "the images, and each run's paired difference from the first.")
        with gr.Row():
            compare_runs = gr.Dropdown(list_runs(ws), multiselect=True, label="Runs (the first is the reference)",
                                       scale=4, allow_custom_value=True)
            compare = gr.Button("Compare", scale=1, elem_id="wb-eval-box-compare")
        compared = gr.Dataframe(interactive=False, elem_id="wb-eval-box-compared")
    return DetectionPanel(accordion, outcome, by, group, previous, page, next_, label, gallery, table,
                          compare_runs, compare, compared)


def wire(p: DetectionPanel, run: gr.Dropdown, *, ws: Workspace) -> None:
    """Browsing the box errors (back to the first page when the filter changes; paging) and comparing runs."""
    inputs, outputs = p.inputs(run), p.outputs()
    for trigger in (p.outcome.input, p.by.input, p.group.input):
        trigger(bind(show_box_errors, ws, "first"), inputs_kwargs=inputs, outputs=outputs, trigger_mode="always_last",
                **PRIVATE)
    p.page.submit(bind(show_box_errors, ws, "stay"), inputs_kwargs=inputs, outputs=outputs, api_name="box_errors")
    p.previous.click(bind(show_box_errors, ws, "previous"), inputs_kwargs=inputs, outputs=outputs, **PRIVATE)
    p.next.click(bind(show_box_errors, ws, "next"), inputs_kwargs=inputs, outputs=outputs, **PRIVATE)
    p.compare.click(bind(compare_runs, ws), inputs_kwargs={"runs": p.compare_runs}, outputs=[p.compared],
                    api_name="compare_detectors")


def first_page(ws: Workspace) -> object:
    """The handler that shows a run's first page of box errors (after it is picked or evaluated)."""
    return bind(show_box_errors, ws, "first")


def show_box_errors(ws: Workspace, turn: str, run: str | None, outcome: str, by: str, group: str | None,
                    page: float | None) -> tuple:
    """The panel for `run`: hidden unless it is a detection run; its box outcomes filtered and paged."""
    picked = ws.run(run) if run else None
    if picked is None or not picked.is_detector:
        return gr.Accordion(visible=False), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    matched = detect_evaluate.load_matches(picked)
    shown = gr.Accordion(visible=True)
    if matched is None:
        empty = grid_value([], empty="Evaluate the run to see its boxes.")
        return shown, empty, "", None, gr.Dropdown(choices=[ALL]), 1
    number = {"first": 1, "previous": max(1, int(page or 1) - 1), "next": int(page or 1) + 1}.get(turn, int(page or 1))
    thumbs = detect_evaluate.thumbnails_folder(picked)
    tags = _tags(picked) if by == "tag" else None
    view = detect_gallery.error_page(matched, thumbs, outcome=outcome or "", by=by, group=group or "", tags=tags,
                                     page=number - 1, page_size=PAGE_SIZE)
    groups = gr.Dropdown(choices=[ALL, *view.groups], value=group if group in view.groups else "")
    return (shown, grid_value(view.tiles, empty=view.label), view.label, view.table, groups, view.page + 1)


def compare_runs(ws: Workspace, runs: list[str] | None, progress: gr.Progress = gr.Progress()) -> pd.DataFrame:
    """The comparison table of the picked detection runs."""
    progress(0.1, desc="bootstrapping mAP over the test images")
    try:
        return detect_compare.compare_detectors([ws.run(r) for r in runs or []])
    except WorkbenchError as e:
        raise gr.Error(str(e), duration=None) from None


def _tags(run: Run) -> pd.DataFrame:
    """The category tags of the run's images (image_id, category)."""
    tags = run.ws.store.image_tags(run.config.dataset)
    return tags.rename(columns={"tag": "category"})[["image_id", "category"]]
