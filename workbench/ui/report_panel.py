"""The Experiments tab's Report panel: the study of a dataset (a saved comparison's runs, else the runs picked above,
else all of its runs) written as one self-contained HTML file that opens offline, offered for download with its
warnings summed up."""

from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.ui.context import UIContext
from workbench.ui.handlers import bind, fail
from workbench.ui.pickers import comparison_choices, wire_pickers
from workbench.workspace import Workspace

report = lazy_import("workbench.report")  # plotly, torch (Grad-CAM), scikit-learn: imported when a report is written

REPORTS = "reports"  # plots_checkpoints/reports/: served like the saved plots beside it


@dataclass
class ReportPanel:
    dataset: gr.Dropdown
    comparison: gr.Dropdown
    write: gr.Button
    status: gr.Markdown
    file: gr.File


def build_report_panel(ctx: UIContext, runs: gr.Dropdown) -> ReportPanel:
    """The panel under the runs: a dataset or a saved comparison, the Report button, what it found, the file.
    `runs`: the tab's picked runs."""
    gr.Markdown("#### Report")
    with gr.Row():
        dataset = gr.Dropdown(ctx.store.datasets(), value=None, label="Dataset to report on", scale=2,
                              elem_id="wb-report-dataset",
                              info="The runs picked above, else every run trained on it; the run with the lowest "
                                   "best val loss looked at closely.")
        comparison = gr.Dropdown([], value=None, label="Or a saved comparison", scale=2, elem_id="wb-report-comparison",
                                 info="Its runs and its saved table and verdict (its dataset when none is picked).")
        write = gr.Button("Report", variant="primary", scale=1, elem_id="wb-report")
    status = gr.Markdown(elem_id="wb-report-status")
    file = gr.File(label="The report (one HTML file: opens offline, without Workbench)", interactive=False,
                   elem_id="wb-report-file")
    ctx.follow_datasets(dataset)
    # listed on load, when opened, and when a job of this page ends (a comparison job saves one)
    wire_pickers(bind(comparison_choices, ctx.ws), [comparison], ctx.runs_listed, on_load=True)
    panel = ReportPanel(dataset, comparison, write, status, file)
    write.click(bind(write_report, ctx.ws), inputs_kwargs={"dataset": dataset, "runs": runs, "comparison": comparison},
                outputs=[status, file], api_name="write_report")
    return panel


def write_report(ws: Workspace, dataset: str | None, runs: list[str] | None, comparison: str | None = None,
                 progress: gr.Progress = gr.Progress()) -> tuple[str, str]:
    """Write the report into plots_checkpoints/reports/; say where, how many runs, and its warnings. A saved
    comparison reports its runs (the runs picked above are then not used)."""
    if not dataset and not comparison:
        raise gr.Error("Pick a dataset or a saved comparison to report on first.")
    try:
        dataset = dataset or report.comparison_dataset(ws, comparison)
        study = report.open_study(ws, dataset, comparison=comparison or None, runs=() if comparison else runs or ())
        stem = f"{dataset}-{comparison}" if comparison else dataset
        out = ws.plots / REPORTS / f"{stem}-report-{time.strftime('%Y%m%d-%H%M%S')}.html"
        written = report.write_report(study, out, lambda f, what: progress(f, desc=what))
    except WorkbenchError as e:
        fail(e)
    n = len(study.runs)
    of = f", comparison {comparison}" if comparison else ""
    lines = [f"**Report of {dataset}**{of} ({n} run{'s' if n != 1 else ''}): {len(written.sections)} sections, "
             f"{len(written.warnings)} warning{'s' if len(written.warnings) != 1 else ''}. "
             f"Saved as plots_checkpoints/{REPORTS}/{written.path.name}."]
    lines += [f"- warn: {w}" for w in written.warnings]
    return "\n".join(lines), str(written.path)
