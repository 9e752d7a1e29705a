"""The Evaluate tab's operating-point panel: a binary run's decision threshold (chosen on validation) and its test
metrics at that threshold beside argmax; the rule (eer, fpr=R, fnr=R) can be changed here."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.evaluate.threshold import current_operating_point, operating_point_table, set_threshold_rule


def build_operating_point(store, run: gr.components.Component, shown_after: gr.components.Component) -> None:
    """The panel; refreshed whenever `shown_after` (the tab's metrics table) changes, i.e. after a run is
    picked or evaluated."""
    with gr.Accordion("Operating point (binary runs)", open=True):
        text = gr.Markdown(elem_id="wb-eval-threshold")
        table = gr.Dataframe(interactive=False, elem_id="wb-eval-threshold-table", visible=False)
        with gr.Row():
            rule = gr.Textbox(value="eer", label="Threshold rule: eer, fpr=0.01 or fnr=0.05 (on the validation split)",
                              scale=3, elem_id="wb-eval-threshold-rule")
            choose = gr.Button("Choose threshold", scale=1, elem_id="wb-eval-threshold-choose")

    def show(r):
        if not r:
            return "", gr.Dataframe(visible=False)
        try:
            return _panel(current_operating_point(r))
        except WorkbenchError as e:
            return str(e), gr.Dataframe(visible=False)

    def choose_rule(r, text, progress=gr.Progress()):
        if not r:
            raise gr.Error("Pick a run first.", duration=None)
        progress(0.1, desc="predicting the validation split")
        try:
            return _panel(set_threshold_rule(r, text, store))
        except WorkbenchError as e:
            raise gr.Error(str(e), duration=None) from None

    shown_after.change(show, inputs=[run], outputs=[text, table], api_visibility="private")
    choose.click(choose_rule, inputs=[run, rule], outputs=[text, table], api_name="choose_threshold")


def _panel(op: dict | None) -> tuple:
    if op is None:
        return ("No decision threshold: multi-class runs decide by the most probable class; a binary run gets one "
                "(at the EER on its validation split) when it is evaluated.", gr.Dataframe(visible=False))
    text = (f"Decide **{op['positive']}** when P({op['positive']}) ≥ **{op['threshold']:.4f}**, chosen by "
            f"`{op['rule']}` on {op['n']} {op['split']} images (there: FPR {op['fpr']:.3f}, FNR {op['fnr']:.3f}). "
            "Test metrics at argmax and at this threshold:")
    return text, gr.Dataframe(pd.DataFrame(operating_point_table(op)).round(4), visible=True)
