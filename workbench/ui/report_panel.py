"""The Experiments tab's Report panel: the study of a dataset (the runs picked above, else all of its runs) written as
one self-contained HTML file that opens offline, offered for download with its warnings summed up."""

from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.ui.context import UIContext
from workbench.ui.handlers import bind, fail
from workbench.workspace import Workspace

report = lazy_import("workbench.report")  # plotly, torch (Grad-CAM), scikit-learn: imported when a report is written

REPORTS = "reports"  # plots_checkpoints/reports/: served like the saved plots beside it


@dataclass
class ReportPanel:
    dataset: gr.Dropdown
    write: gr.Button
    status: gr.Markdown
    file: gr.File


def build_report_panel(ctx: UIContext, runs: gr.Dropdown) -> ReportPanel:
    """The panel under the runs: a dataset, the Report button, what it found, the file. `runs`: the tab's picked runs."""
    gr.Markdown("#### Report")
    with gr.Row():
        dataset = gr.Dropdown(ctx.store.datasets(), value=None, label="Dataset to report on", scale=3,
                              elem_id="wb-report-dataset",
                              info="The runs picked above, else every run trained on it; the run with the lowest "
                                   "best val loss looked at closely.")
        write = gr.Button("Report", variant="primary", scale=1, elem_id="wb-report")
    status = gr.Markdown(elem_id="wb-report-status")
    file = gr.File(label="The report (one HTML file: opens offline, without Workbench)", interactive=False,
                   elem_id="wb-report-file")
    ctx.follow_datasets(dataset)
    panel = ReportPanel(dataset, write, status, file)
    write.click(bind(write_report, ctx.ws), inputs_kwargs={"dataset": dataset, "runs": runs},
                outputs=[status, file], api_name="write_report")
    return panel


def write_report(ws: Workspace, dataset: str | None, runs: list[str] | None,
                 progress: gr.Progress = gr.Progress()) -> tuple[str, str]:
    """Write the report into plots_checkpoints/reports/; say where, how many runs, and its warnings."""
    if not dataset:
        raise gr.Error("Pick a dataset to report on first.")
    try:
        study = report.open_study(ws, dataset, runs=runs or ())
        out = ws.plots / REPORTS / f"{dataset}-report-{time.strftime('%Y%m%d-%H%M%S')}.html"
        written = report.write_report(study, out, lambda f, what: progress(f, desc=what))
    except WorkbenchError as e:
        fail(e)
    n = len(study.runs)
    lines = [f"**Report of {dataset}** ({n} run{'s' if n != 1 else ''}): {len(written.sections)} sections, "
             f"{len(written.warnings)} warning{'s' if len(written.warnings) != 1 else ''}. "
             f"Saved as plots_checkpoints/{REPORTS}/{written.path.name}."]
    lines += [f"- warn: {w}" for w in written.warnings]
    return "\n".join(lines), str(written.path)
