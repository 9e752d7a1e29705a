"""The Evaluate tab's operating-point panel: a binary run's decision threshold (chosen on validation) and its test
metrics at that threshold beside argmax; the rule (eer, fpr=R, fnr=R) can be changed here."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.workspace import Workspace
from workbench.ui.handlers import bind

# choosing a threshold predicts with torch and scores with scikit-learn: imported when first used
operating = lazy_import("workbench.evaluate.operating_point")
report = lazy_import("workbench.evaluate.report")


@dataclass
class OperatingPointPanel:
    """The panel's components: its accordion (shown for binary runs only), the threshold sentence, its table, the
    rule box and its button."""

    accordion: gr.Accordion
    text: gr.Markdown
    table: gr.Dataframe
    rule: gr.Textbox
    choose: gr.Button


def layout() -> OperatingPointPanel:
    """The panel, in an accordion of its own, hidden until a binary run is picked."""
    with gr.Accordion("Operating point (binary runs)", open=True, visible=False,
                      elem_id="wb-eval-operating-point") as accordion:
        text = gr.Markdown(elem_id="wb-eval-threshold")
        table = gr.Dataframe(interactive=False, elem_id="wb-eval-threshold-table", visible=False)
        with gr.Row():
            rule = gr.Textbox(value="eer", label="Threshold rule: eer, fpr=0.01 or fnr=0.05 (on the validation split)",
                              scale=3, elem_id="wb-eval-threshold-rule")
            choose = gr.Button("Choose threshold", scale=1, elem_id="wb-eval-threshold-choose")
    return OperatingPointPanel(accordion, text, table, rule, choose)


def build_operating_point(ws: Workspace, run: gr.components.Component, shown_after: gr.components.Component) -> None:
    """The panel for the run picked in `run`; refreshed whenever `shown_after` (the tab's metrics table) changes,
    i.e. after a run is picked or evaluated."""
    panel = layout()
    outputs = [panel.text, panel.table]
    shown_after.change(bind(show_operating_point, ws), inputs_kwargs={"run": run}, outputs=[panel.accordion, *outputs],
                       api_visibility="private")
    panel.choose.click(bind(choose_rule, ws), inputs_kwargs={"run": run, "rule": panel.rule}, outputs=outputs,
                       api_name="choose_threshold")


def show_operating_point(ws: Workspace, run: str | None) -> tuple:
    """The panel for a binary run: its stored threshold on the saved test predictions (no model run), or the reason
    as text when there is none; hidden for no run and for a run of more classes (it decides by argmax)."""
    hidden = (gr.Accordion(visible=False), "", gr.Dataframe(visible=False))
    if not run:
        return hidden
    try:
        picked = ws.run(run)
        if not operating.has_threshold(picked):
            return hidden
        return (gr.Accordion(visible=True), *_panel(operating.current_operating_point(picked)))
    except WorkbenchError as e:
        return gr.Accordion(visible=True), str(e), gr.Dataframe(visible=False)


def choose_rule(ws: Workspace, run: str | None, rule: str, progress: gr.Progress = gr.Progress()) -> tuple:
    """Choose the threshold by `rule` on the validation split and show it on the test split."""
    if not run:
        raise gr.Error("Pick a run first.", duration=None)
    try:
        picked = ws.run(run)
        progress(0.1, desc="predicting the validation split")
        return _panel(operating.set_threshold_rule(picked, rule))
    except WorkbenchError as e:
        raise gr.Error(str(e), duration=None) from None


def _panel(op: dict | None) -> tuple:
    if op is None:
        return report.operating_point_markdown(None), gr.Dataframe(visible=False)
    return report.operating_point_markdown(op), gr.Dataframe(report.operating_point_table(op).round(4), visible=True)
