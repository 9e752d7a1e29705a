"""Evaluate tab: test metrics, confusion matrix, ROC, Grad-CAM, error galleries, run comparison, label errors.

Layout functions build each panel and return its components; module-level handlers call workbench.evaluate /
workbench.review / workbench.explain and shape the result; `wire_*` functions connect the events. Handlers get
their inputs by parameter name (`inputs_kwargs`), after the workspace / loaded-run cache bound by `ui.handlers.bind`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import gradio as gr
import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.evaluate.report import INTERVAL_COLUMN
from workbench.explain.methods import LABELS as CAM_LABELS
from workbench.lazy import lazy_import
from workbench.review.categories import CATEGORY_COLUMNS, GROUPINGS, cell_category
from workbench.review.run_cache import RunCache
from workbench.review.file_names import with_file_names
from workbench.run import Run, list_runs
from workbench.workspace import Workspace
from workbench.ui import detection_panel
from workbench.ui.context import UIContext
from workbench.ui.handlers import bind
from workbench.ui.export_panel import build_export_panel
from workbench.ui.operating_point import build_operating_point
from workbench.ui.thumb_grid import grid_value, picked_id, thumb_grid

# evaluating, reviewing and explaining need torch, scikit-learn and plotly: imported when first used, not to serve
# the first page
evaluation = lazy_import("workbench.evaluate.evaluate")
plots = lazy_import("workbench.evaluate.plots")
report = lazy_import("workbench.evaluate.report")
label_issues = lazy_import("workbench.review.label_issues")
leaks = lazy_import("workbench.evaluate.leaks")
views = lazy_import("workbench.review.views")
detection = lazy_import("workbench.detect.evaluate")

PAGE_SIZE = 48
CAM_CHOICES = [(label, key) for key, label in CAM_LABELS.items()]
ALL = ("all errors", "")
PREDICTED = ("predicted class", "")
PRIVATE = {"api_visibility": "private"}  # events the page needs that are no API of the app
CONFUSION_LABEL = "Confusion matrix: click a cell to see its errors"


def build(ctx: UIContext) -> None:
    """The tab: its panels, then their events."""
    ws, runs = ctx.ws, ctx.runs
    gr.Markdown("### Evaluate and review failures")
    top = run_panel(ws)
    build_operating_point(ws, top.run, top.metrics)  # threshold chosen on validation, metrics at it vs argmax
    build_export_panel(ws, top.run)  # the model with that threshold in its card, for use without Workbench
    boxes = detection_panel.layout(ws)  # shown for detection runs only
    gallery, explain, compare, suspects = gallery_panel(), explain_panel(), compare_panel(ws), suspects_panel()

    wire_runs(top, gallery, explain, compare, boxes, ws=ws, runs=runs)
    detection_panel.wire(boxes, top.run, ws=ws)
    # runs trained since the page loaded are offered when a list opens
    ctx.follow_runs(top.run, compare.run_b, boxes.compare_runs)
    wire_gallery(top, gallery, ws=ws, runs=runs)
    wire_explain(top, gallery, explain, ws=ws, runs=runs)
    wire_compare(top, compare, ws=ws)
    wire_suspects(top, suspects, ws=ws, runs=runs)
    if ctx.goto is not None and ctx.tabs is not None:
        for image_id, button in ((suspects.image_id, suspects.open_label), (explain.image_id, explain.open_label)):
            button.click(bind(open_in_label, ws), inputs_kwargs={"run": top.run, "image_id": image_id},
                         outputs=[ctx.goto, ctx.tabs], **PRIVATE)


# -- layout -----------------------------------------------------------------------------------------------------

@dataclass
class RunPanel:
    """The run picker and its evaluation: status line, metrics, ROC and the clickable confusion matrix."""

    run: gr.Dropdown
    refresh: gr.Button
    evaluate: gr.Button
    status: gr.Markdown
    metrics: gr.Dataframe
    roc: gr.Plot
    confusion: gr.Dataframe


def run_panel(ws: Workspace) -> RunPanel:
    """The run picker, the Evaluate button and the evaluation's panels."""
    with gr.Row():
        # custom values: runs finished after the page loaded; the core names unknown ones
        run = gr.Dropdown(choices=list_runs(ws), value=None, label="Run", scale=4, elem_id="wb-eval-run",
                          allow_custom_value=True)
        refresh = gr.Button("Refresh runs", scale=1)
        evaluate = gr.Button("Evaluate best checkpoint on test split", variant="primary", scale=2,
                             elem_id="wb-eval-evaluate")
    status = gr.Markdown()
    with gr.Row():
        # 2:3, not 1:2: at 1400 px a third of the row cut the intervals ("0.8954–0." of "0.8954–0.9350")
        metrics = gr.Dataframe(label="Test metrics", headers=["metric", "value", INTERVAL_COLUMN], interactive=False,
                               scale=2, elem_id="wb-eval-metrics")
        roc = gr.Plot(label="ROC curve", scale=3, elem_id="wb-eval-roc")
    # a row of its own: a 10-class matrix beside the metrics and the ROC showed only its first three columns
    confusion = gr.Dataframe(label=CONFUSION_LABEL, headers=["true \\ predicted"],
                             interactive=False, elem_id="wb-eval-confusion")
    return RunPanel(run, refresh, evaluate, status, metrics, roc, confusion)


# a confusion cell holds errors only: its row counts them among its true class's images, with no rest (review.categories)
CATEGORY_TABLE_LABEL = ("Error rate per category (vs_rest: how many times the rest's rate; a confusion cell: its "
                        "errors among its true class's images)")


@dataclass
class GalleryPanel:
    """The error gallery: grouping and category pickers, CAM thumbnails, paging, and the per-category table."""

    grouping: gr.Radio
    category: gr.Dropdown
    with_cam: gr.Checkbox
    method: gr.Dropdown
    previous: gr.Button
    page: gr.Number
    next: gr.Button
    page_label: gr.Markdown
    gallery: gr.HTML  # ui.thumb_grid: whole thumbnails, captions below; a click picks an image by its id
    table: gr.Dataframe

    def inputs(self, run: gr.Dropdown) -> dict:
        """What `show_errors` reads, by parameter name (the order is error_gallery's API order)."""
        return {"run": run, "grouping": self.grouping, "category": self.category, "page": self.page,
                "with_cam": self.with_cam, "method": self.method}

    def outputs(self) -> list:
        """What `show_errors` returns, in order."""
        return [self.gallery, self.page_label, self.table, self.category, self.page]


def gallery_panel() -> GalleryPanel:
    """The error gallery accordion."""
    with gr.Accordion("Error gallery", open=True):
        with gr.Row():
            grouping = gr.Radio([(v, k) for k, v in GROUPINGS.items()], value="tag", label="Group errors by", scale=3)
            category = gr.Dropdown(choices=[ALL], value="", label="Category", scale=2, allow_custom_value=True)
            with_cam = gr.Checkbox(label="Grad-CAM thumbnails", value=False, scale=1)
            method = gr.Dropdown(CAM_CHOICES, value="gradcam", label="CAM method", scale=1)
        with gr.Row():
            previous = gr.Button("◀ Previous", scale=1)
            page = gr.Number(value=1, precision=0, minimum=1, label="Page", scale=1)
            next_ = gr.Button("Next ▶", scale=1)
            page_label = gr.Markdown()
        gallery = thumb_grid(label="Misclassified images (most confident first): click one to explain it",
                             elem_id="wb-eval-gallery", height="560px", empty="Pick an evaluated run.")
        table = gr.Dataframe(label=CATEGORY_TABLE_LABEL, headers=list(CATEGORY_COLUMNS), interactive=False,
                             elem_id="wb-eval-category-table")
    return GalleryPanel(grouping, category, with_cam, method, previous, page, next_, page_label, gallery, table)


@dataclass
class ExplainPanel:
    """One image explained: which image, class, method and layer; the image beside its CAM overlay."""

    image_id: gr.Number
    cam_class: gr.Dropdown
    method: gr.Dropdown
    layer: gr.Textbox
    explain: gr.Button
    original: gr.Image
    overlay: gr.Image
    caption: gr.Markdown
    open_label: gr.Button

    def inputs(self, run: gr.Dropdown) -> dict:
        """What `show_cam` reads, by parameter name (the order is explain_image's API order)."""
        return {"run": run, "image_id": self.image_id, "class_name": self.cam_class, "method": self.method,
                "layer": self.layer}


def explain_panel() -> ExplainPanel:
    """The Grad-CAM accordion for one image."""
    with gr.Accordion("Explain one image (Grad-CAM)", open=True):
        with gr.Row():
            image_id = gr.Number(label="Image id", precision=0, scale=1, elem_id="wb-eval-image-id")
            cam_class = gr.Dropdown(choices=[PREDICTED], value="", label="Class to explain", scale=1,
                                    allow_custom_value=True)
            method = gr.Dropdown(CAM_CHOICES, value="gradcam", label="Method", scale=1)
            layer = gr.Textbox(label="Target layer (empty: automatic)", placeholder="e.g. layer3 or conv_head",
                               scale=1)
            explain = gr.Button("Explain", variant="primary", scale=1)
        with gr.Row():
            original = gr.Image(label="Image", type="pil", elem_classes=["pixelated"], height=320)
            overlay = gr.Image(label="CAM overlay", type="pil", height=320)
        caption = gr.Markdown()
        open_label = gr.Button("Open this image in the Label tab")
    return ExplainPanel(image_id, cam_class, method, layer, explain, original, overlay, caption, open_label)


@dataclass
class ComparePanel:
    """Run B, the grouping to count outcomes by, the outcome table and the images of one outcome."""

    run_b: gr.Dropdown
    grouping: gr.Radio
    compare: gr.Button
    test: gr.Markdown  # McNemar's test on the shared test images, or why not
    table: gr.Dataframe
    outcome: gr.Radio
    gallery: gr.HTML


def compare_panel(ws: Workspace) -> ComparePanel:
    """The run comparison accordion (closed at first)."""
    with gr.Accordion("Compare with another run (same test images)", open=False):
        with gr.Row():
            run_b = gr.Dropdown(choices=list_runs(ws), label="Run B", scale=3, allow_custom_value=True)
            grouping = gr.Radio([(v, k) for k, v in GROUPINGS.items() if k != "confusion"], value="tag",
                                label="Per category of", scale=2)
            compare = gr.Button("Compare", scale=1)
        test = gr.Markdown(elem_id="wb-eval-mcnemar")
        table = gr.Dataframe(label="Outcomes per category", interactive=False)
        outcome = gr.Radio(["only A wrong", "only B wrong", "both wrong"], value="only A wrong", label="Show")
        gallery = thumb_grid(elem_id="wb-eval-compare-gallery", height="420px", empty="Press Compare.")
    return ComparePanel(run_b, grouping, compare, test, table, outcome, gallery)


@dataclass
class SuspectsPanel:
    """Suspected label errors: the button, the ranked table, and the picked image to open in the Label tab."""

    find: gr.Button
    table: gr.Dataframe
    image_id: gr.Number
    open_label: gr.Button


def suspects_panel() -> SuspectsPanel:
    """The suspected label errors accordion (closed at first)."""
    with gr.Accordion("Suspected label errors", open=False):
        gr.Markdown("Out-of-fold predictions of a quick head on the run's embeddings, ranked with cleanlab: "
                    "images whose given label the model contradicts most confidently come first.")
        find = gr.Button("Find suspected label errors")
        table = gr.Dataframe(interactive=False, label="Suspects (click a row, then open it in the Label tab)",
                             elem_id="wb-eval-suspects")
        with gr.Row():
            image_id = gr.Number(label="Image id", precision=0)
            open_label = gr.Button("Open in Label tab", variant="primary", elem_id="wb-eval-open-label")
    return SuspectsPanel(find, table, image_id, open_label)


# -- events -----------------------------------------------------------------------------------------------------

def wire_runs(top: RunPanel, gallery: GalleryPanel, explain: ExplainPanel, compare: ComparePanel,
              boxes: detection_panel.DetectionPanel, *, ws: Workspace, runs: RunCache) -> None:
    """Run lists, picking a run (its saved evaluation, then its gallery, or a detection run's box errors) and the
    Evaluate button."""
    run_lists = [top.run, compare.run_b, boxes.compare_runs]
    top.refresh.click(bind(refresh_runs, ws), outputs=run_lists, **PRIVATE)
    gr.on(None, bind(runs_on_load, ws), outputs=run_lists, **PRIVATE)
    panels = [top.status, top.metrics, top.confusion, top.roc]
    first_page = bind(show_errors, ws, runs, "first")
    box_page = detection_panel.first_page(ws)
    # the panels' values are plain (the API's shape); their labels follow the run's kind in an event of their own
    top.run.change(bind(panel_labels, ws), inputs_kwargs={"run": top.run}, outputs=[top.confusion, top.roc],
                   **PRIVATE)
    top.run.change(bind(show_run, ws, runs), inputs_kwargs={"run": top.run}, outputs=[*panels, explain.cam_class],
                   **PRIVATE).then(first_page, inputs_kwargs=gallery.inputs(top.run), outputs=gallery.outputs(),
                                   **PRIVATE).then(box_page, inputs_kwargs=boxes.inputs(top.run),
                                                   outputs=boxes.outputs(), **PRIVATE)
    top.evaluate.click(bind(evaluate, ws), inputs_kwargs={"run": top.run}, outputs=panels,
                       api_name="evaluate_run").then(
        bind(show_errors, ws, runs, "stay"), inputs_kwargs=gallery.inputs(top.run),
        outputs=gallery.outputs(), **PRIVATE).then(box_page, inputs_kwargs=boxes.inputs(top.run),
                                                  outputs=boxes.outputs(), **PRIVATE)


def wire_gallery(top: RunPanel, g: GalleryPanel, *, ws: Workspace, runs: RunCache) -> None:
    """Browsing errors: grouping, category and CAM changes go back to the first page; paging; a matrix cell."""
    inputs, outputs = g.inputs(top.run), g.outputs()
    first_page = bind(show_errors, ws, runs, "first")
    # .input (the user's own change), not .change: a cell click sets grouping and category together, and a
    # grouping .change could run with the old category and reset the cell's (seen in Chromium)
    for trigger in (g.grouping.input, g.category.input, g.with_cam.change, g.method.change):
        trigger(first_page, inputs_kwargs=inputs, outputs=outputs, trigger_mode="always_last", **PRIVATE)
    g.page.submit(bind(show_errors, ws, runs, "stay"), inputs_kwargs=inputs, outputs=outputs,
                  api_name="error_gallery")
    g.previous.click(bind(show_errors, ws, runs, "previous"), inputs_kwargs=inputs,
                     outputs=outputs, **PRIVATE)
    g.next.click(bind(show_errors, ws, runs, "next"), inputs_kwargs=inputs, outputs=outputs,
                 **PRIVATE)
    top.confusion.select(bind(pick_cell, ws), inputs_kwargs={"run": top.run}, outputs=[g.grouping, g.category],
                         **PRIVATE).then(first_page, inputs_kwargs=inputs, outputs=outputs, **PRIVATE)


def wire_explain(top: RunPanel, g: GalleryPanel, e: ExplainPanel, *, ws: Workspace, runs: RunCache) -> None:
    """A thumbnail clicked, or the Explain button: the image's CAM."""
    explain = bind(show_cam, ws, runs)
    outputs = [e.original, e.overlay, e.caption]
    g.gallery.pick(pick_image, outputs=[e.image_id], **PRIVATE).then(
        explain, inputs_kwargs=e.inputs(top.run), outputs=outputs, **PRIVATE)
    e.explain.click(explain, inputs_kwargs=e.inputs(top.run), outputs=outputs, api_name="explain_image")


def wire_compare(top: RunPanel, c: ComparePanel, *, ws: Workspace) -> None:
    """Compare run A (the tab's run) with run B; the outcome picker re-filters the images."""
    inputs = {"run_a": top.run, "run_b": c.run_b, "grouping": c.grouping, "outcome": c.outcome}
    compare = bind(show_comparison, ws)
    c.compare.click(compare, inputs_kwargs=inputs, outputs=[c.test, c.table, c.gallery], api_name="compare_runs")
    c.outcome.change(compare, inputs_kwargs=inputs, outputs=[c.test, c.table, c.gallery], **PRIVATE)


def wire_suspects(top: RunPanel, s: SuspectsPanel, *, ws: Workspace, runs: RunCache) -> None:
    """Find suspected label errors; a clicked row's image id is the one to open."""
    s.find.click(bind(find_suspects, ws, runs), inputs_kwargs={"run": top.run}, outputs=[s.table],
                 api_name="suspected_label_errors")
    s.table.select(pick_suspect, inputs_kwargs={"table": s.table}, outputs=[s.image_id], **PRIVATE)


# -- handlers: call the core, shape its result for display ----------------------------------------------------------

def _user_errors(fn: Callable) -> Callable:
    """The core's WorkbenchError (a message for the user) shown as a gradio error box that stays until closed."""
    @functools.wraps(fn)
    def handler(*args, **kwargs):  # functools.wraps: gradio and the guard read fn's signature
        try:
            return fn(*args, **kwargs)
        except WorkbenchError as e:
            raise gr.Error(str(e), duration=None) from None
    return handler


def refresh_runs(ws: Workspace) -> list:
    """The run pickers with the runs there are now."""
    return [gr.Dropdown(choices=list_runs(ws))] * 3


def runs_on_load(ws: Workspace) -> tuple:
    """Runs finished since the app started, the newest one selected."""
    names = list_runs(ws)
    return (gr.Dropdown(choices=names, value=names[-1] if names else None), gr.Dropdown(choices=names),
            gr.Dropdown(choices=names))


@_user_errors
def show_run(ws: Workspace, runs: RunCache, run: str | None) -> tuple:
    """A picked run's saved evaluation (status, metrics, confusion matrix, ROC) and its classes to explain."""
    if not run:
        return "Pick a run.", None, None, None, gr.Dropdown(choices=[PREDICTED], value="")
    picked = ws.run(run)
    if picked.is_detector:
        return (*_detection_panels(picked), gr.Dropdown(choices=[PREDICTED], value=""))  # Grad-CAM explains classifiers
    ev = picked.evaluation()
    classes = gr.Dropdown(choices=[PREDICTED, *picked.classes], value="")
    if ev is None:
        unfinished = picked.unfinished()
        return (f"{unfinished}  \n" if unfinished else "") + "Not evaluated yet: press **Evaluate**.", None, \
            None, None, classes
    return (*_panels(ev, picked), classes)


@_user_errors
def evaluate(ws: Workspace, run: str | None, progress: gr.Progress = gr.Progress()) -> tuple:
    """Evaluate the run's best checkpoint on its test split: status, metrics, confusion matrix, ROC."""
    if not run:
        raise WorkbenchError("Pick a run first.")
    picked = ws.run(run)
    progress(0.1, desc="predicting the test split")
    if picked.is_detector:
        return _detection_panels(picked, detection.evaluate_detector(picked))
    return _panels(evaluation.evaluate_run(picked), picked)


def _panels(ev, run: Run) -> tuple:
    """Status line (with the run's leaks: test images with a copy in train), metrics table, confusion matrix and ROC
    of one evaluation."""
    try:
        leaked = "  \n".join(leaks.leak_lines(leaks.run_leaks(run, ev.split), markdown=True))
    except WorkbenchError as e:  # the evaluation still shows; why leaks could not be counted is said instead
        leaked = f"Leaks not counted: {e}"
    return (report.status_markdown(ev) + "\n\n" + leaked, report.metrics_table(ev.metrics, len(ev.classes), ev.intervals),
            plots.confusion_table(np.array(ev.confusion), ev.classes), plots.roc_figure(ev.roc) if ev.roc else None)


def _detection_panels(run, ev=None) -> tuple:
    """A detection run's status line, metrics with intervals, AP per class and precision-recall curves (its saved
    evaluation unless `ev` is given)."""
    ev = ev or detection.load_detection_evaluation(run)
    if ev is None:
        unfinished = run.unfinished()
        return ((f"{unfinished}  \n" if unfinished else "") + "Not evaluated yet: press **Evaluate**.", None,
                None, None)
    status = (f"**{ev.run}** · {ev.checkpoint} checkpoint · {ev.n} {ev.split} images, {ev.boxes} boxes"
              + "".join(f"\n- {n}" for n in ev.notes))
    return status, detection.metrics_table(ev), detection.per_class_table(ev), plots.pr_figure(ev.pr)


def panel_labels(ws: Workspace, run: str | None) -> tuple[gr.Dataframe, gr.Plot]:
    """One Dataframe and one Plot show a classifier's confusion matrix and ROC, or a detector's AP per class and
    precision-recall curves: their labels for the picked run."""
    try:
        detector = bool(run) and ws.run(run).is_detector
    except WorkbenchError:  # a run gone since the list was drawn: show_run says so
        detector = False
    if detector:
        return gr.Dataframe(label="AP per class (test boxes)"), gr.Plot(label="Precision-recall per class (IoU 0.5)")
    return gr.Dataframe(label=CONFUSION_LABEL), gr.Plot(label="ROC curve")


@_user_errors
def show_errors(ws: Workspace, runs: RunCache, turn: str, run: str | None, grouping: str, category: str | None,
                page: float | None,
                with_cam: bool, method: str, progress: gr.Progress = gr.Progress()) -> tuple:
    """A page of the run's errors in `category` (all if empty), `turn`ed from `page` (first, previous, next or
    stay): thumbnails, page line, per-category table, categories to pick from, the page's image ids, page number."""
    picked = ws.run(run) if run else None
    if picked is not None and picked.is_detector:
        empty = "A detection run: its box errors are in the Detection panel above."
        return grid_value([], empty=empty), "", None, gr.Dropdown(choices=[ALL], value=""), 1
    if picked is None or picked.evaluation() is None:  # evaluating is a button press, not a side effect of browsing
        empty = "Evaluate the run to see its errors." if run else "Pick a run."
        return grid_value([], empty=empty), "", None, gr.Dropdown(choices=[ALL], value=""), 1
    number = _turned(page, turn)
    view = views.error_view(picked, grouping, category or None, number - 1, PAGE_SIZE,
                            cam_method=method if with_cam else None, runs=runs)
    label = view.page.label() + (f"  \n{view.cam_note}" if view.cam_note else "")  # the CAM layer, or why none
    tiles = [(i, path, text) for i, (path, text) in zip(view.page.image_ids, view.page.items)]
    return (grid_value(tiles, empty=view.page.label()), label, view.table.round(3),
            gr.Dropdown(choices=[ALL, *view.categories], value=category if category in view.categories else ""),
            view.page.page + 1)


def _turned(page: float | None, turn: str) -> int:
    """The 1-based page number to show after `turn` from `page`."""
    current = int(page or 1)
    return {"first": 1, "previous": max(1, current - 1), "next": current + 1}.get(turn, current)


def pick_cell(ws: Workspace, run: str | None, evt: gr.SelectData) -> tuple:
    """A confusion-matrix cell clicked: group by confusion cell, with that (true, predicted) pair picked."""
    try:
        ev = ws.run(run).evaluation() if run else None
    except WorkbenchError:  # a name typed into the picker that is no run: nothing to pick
        ev = None
    row, col = evt.index if isinstance(evt.index, (list, tuple)) else (None, None)
    if ev is None or row is None or not 1 <= col <= len(ev.classes) or row >= len(ev.classes):
        return gr.skip(), gr.skip()
    cell = cell_category(ev.classes, row, col - 1)  # column 0 holds the true class
    return "confusion", gr.Dropdown(choices=[ALL, cell], value=cell)


def pick_image(evt: gr.EventData) -> int | None:
    """The image id of the clicked thumbnail."""
    return picked_id(evt) if picked_id(evt) is not None else gr.skip()


@_user_errors
def show_cam(ws: Workspace, runs: RunCache, run: str | None, image_id: float | None, class_name: str | None, method: str,
             layer: str | None) -> tuple:
    """The image, its CAM overlay and a caption naming label, prediction, class explained, method and layer."""
    if not run or image_id is None:
        raise WorkbenchError("Pick a run and an image (click a gallery thumbnail or type its id).")
    _classifier_only(ws.run(run), "Grad-CAM")
    v = views.cam_view(runs.get(ws.run(run)), ws.store, int(image_id), class_name or None, method,
                       (layer or "").strip() or None)
    return v.original, v.overlay, v.caption


@_user_errors
def show_comparison(ws: Workspace, run_a: str | None, run_b: str | None, grouping: str, outcome: str) -> tuple:
    """McNemar's test on the shared test images (or why there is none), outcome counts per category, and the images
    with the picked outcome as thumbnails (id, true class, both predictions)."""
    if not run_a or not run_b:
        raise WorkbenchError("Pick run A above and run B here.")
    for run in (run_a, run_b):
        _classifier_only(ws.run(run), "This comparison of image outcomes")
    v = views.compare_view(ws.run(run_a), ws.run(run_b), grouping, outcome)
    return v.test, v.table, grid_value(v.tiles(), empty=f"No image with the outcome {outcome!r}.")


@_user_errors
def find_suspects(ws: Workspace, runs: RunCache, run: str | None,
                  progress: gr.Progress = gr.Progress()) -> pd.DataFrame:
    """Suspected label errors of the run's dataset, most suspicious first (or a one-line 'none found' table)."""
    if not run:
        raise WorkbenchError("Pick a run first.")
    picked = ws.run(run)
    _classifier_only(picked, "Suspected label errors")
    progress(0.05, desc="embedding the labelled images")
    # the embedding is most of the wait (~25 s for 1,797 digits on 2 CPUs): the bar follows it, batch by batch;
    # then the out-of-fold head and cleanlab's ranking (~10 s there)
    sus = label_issues.run_label_errors(picked, runs, done=lambda n, total: progress(
        0.05 + 0.85 * n / total, desc=f"embedding the labelled images: {n} / {total}" if n < total else
        f"{total} images embedded; out-of-fold predictions and cleanlab's ranking"))
    if not len(sus):
        return pd.DataFrame({"result": ["No suspects found."]})
    named = with_file_names(picked, sus).drop(columns="path")
    # three significant digits: rounded to places, the most suspicious read p_given 0
    named[["p_given", "p_suggested"]] = named[["p_given", "p_suggested"]].map(lambda p: f"{p:.3g}")
    return named[["rank", "image_id", "name", *[c for c in named.columns if c not in ("rank", "image_id", "name")]]]


def _classifier_only(run, what: str) -> None:
    if run.is_detector:
        raise WorkbenchError(f"{what} works on classification runs; {run.name!r} is a detector (its box errors and "
                             "the comparison of detectors are in the Detection panel).")


def pick_suspect(table: pd.DataFrame, evt: gr.SelectData) -> int | None:
    """The image id of the clicked suspects row."""
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    try:
        return int(table.iloc[row]["image_id"])
    except (KeyError, IndexError, ValueError, TypeError):
        return None


@_user_errors
def open_in_label(ws: Workspace, run: str | None, image_id: float | None) -> tuple:
    """Switch to the Label tab on this image of the run's dataset."""
    if not run or image_id is None:
        raise WorkbenchError("Pick a run and an image first.")
    return {"dataset": ws.run(run).config.dataset, "image_id": int(image_id)}, gr.Tabs(selected="label")
