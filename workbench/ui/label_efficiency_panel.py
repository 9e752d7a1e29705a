"""Experiments tab section: the label-efficiency curve (val metric against number of labels) of a dataset."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.store import Store
from workbench.ui.context import UIContext
from workbench.ui.handlers import bind


# the curve trains heads on embeddings (torch, scikit-learn) and draws with plotly: imported when one is drawn
efficiency = lazy_import("workbench.labeling.efficiency")


@dataclass
class EfficiencyPanel:
    """The dataset and seeds to draw with, the button, the curve and its table."""

    dataset: gr.Dropdown
    seeds: gr.Number
    draw: gr.Button
    plot: gr.Plot
    table: gr.Dataframe


def layout(store: Store) -> EfficiencyPanel:
    """An accordion, closed at first."""
    with gr.Accordion("How many labels do I need? (label-efficiency curve)", open=False):
        with gr.Row():
            dataset = gr.Dropdown(choices=store.datasets(), label="Dataset", scale=2, elem_id="wb-eff-dataset")
            seeds = gr.Number(3, label="Seeds", precision=0, minimum=1, maximum=10, scale=1)
            draw = gr.Button("Draw the curve", scale=1, elem_id="wb-eff-go")
        plot = gr.Plot(label="Val metric against number of labels", elem_id="wb-eff-plot")
        table = gr.Dataframe(interactive=False, label="Mean over seeds", headers=["n_labels", "balanced_accuracy",
                                                                                 "accuracy"])
    return EfficiencyPanel(dataset, seeds, draw, plot, table)


def draw_curve(store: Store, ds: str | None, n: float | None, progress: gr.Progress = gr.Progress()) -> tuple:
    """The curve of `ds` over `n` seeds (a plotly figure), and its mean per number of labels (a table)."""
    if not ds:
        raise gr.Error("Pick a dataset first.", print_exception=False)
    try:
        curve = efficiency.dataset_efficiency(store, ds, int(n or 3), progress=lambda f, what: progress(f, desc=what))
    except WorkbenchError as e:
        raise gr.Error(str(e), print_exception=False)
    return efficiency.efficiency_figure(curve), efficiency.mean_over_seeds(curve)


def build_label_efficiency(ctx: UIContext) -> None:
    """The panel, wired to the core; its dataset picker lists every set (ui.pickers)."""
    p = layout(ctx.store)
    ctx.follow_datasets(p.dataset)
    p.draw.click(bind(draw_curve, ctx.store), [p.dataset, p.seeds], [p.plot, p.table], api_name="label_efficiency")
