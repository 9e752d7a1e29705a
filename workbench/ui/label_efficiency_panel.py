"""Experiments tab section: the label-efficiency curve (val metric against number of labels) of a dataset."""

from __future__ import annotations

import gradio as gr

from workbench.errors import WorkbenchError
from workbench.labeling.efficiency import dataset_efficiency, efficiency_figure
from workbench.ui.context import UIContext


def build_label_efficiency(ctx: UIContext) -> None:
    """An accordion: pick a dataset and seeds, get the curve and its table."""
    store = ctx.store
    with gr.Accordion("How many labels do I need? (label-efficiency curve)", open=False):
        with gr.Row():
            dataset = gr.Dropdown(choices=store.datasets(), label="Dataset", scale=2, elem_id="wb-eff-dataset")
            seeds = gr.Number(3, label="Seeds", precision=0, minimum=1, maximum=10, scale=1)
            go_btn = gr.Button("Draw the curve", scale=1, elem_id="wb-eff-go")
        plot = gr.Plot(label="Val metric against number of labels", elem_id="wb-eff-plot")
        table = gr.Dataframe(interactive=False, label="Mean over seeds")

    def on_curve(ds, n, progress=gr.Progress()):
        if not ds:
            raise gr.Error("Pick a dataset first.", print_exception=False)
        try:
            curve = dataset_efficiency(store, ds, int(n or 3), progress=lambda f, what: progress(f, desc=what))
        except WorkbenchError as e:
            raise gr.Error(str(e), print_exception=False)
        mean = curve.groupby("n_labels")[["balanced_accuracy", "accuracy"]].mean().round(3).reset_index()
        return efficiency_figure(curve), mean

    dataset.focus(lambda ds: gr.Dropdown(choices=store.datasets(), value=ds), dataset, dataset,
                  api_visibility="private")
    go_btn.click(on_curve, [dataset, seeds], [plot, table], api_name="label_efficiency")
