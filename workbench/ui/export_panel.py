"""The Evaluate tab's export panel: the picked run's model as ONNX (with its operating threshold in the model card
and a standalone predict script) or TorchScript, written beside the run and offered as one .zip download: what
`workbench export-model RUN --format F` writes."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from workbench.deploy.formats import FORMATS
from workbench.deploy.package import zip_files
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.ui.handlers import bind
from workbench.workspace import Workspace

# exporting loads the run with torch (and torchvision for a detector): imported when first used
export = lazy_import("workbench.deploy.export")


@dataclass
class ExportPanel:
    fmt: gr.Dropdown
    write: gr.Button
    status: gr.Markdown
    file: gr.File


def build_export_panel(ws: Workspace, run: gr.components.Component) -> ExportPanel:
    """The panel under the operating point, for the run picked in `run`."""
    with gr.Accordion("Export the model (ONNX or TorchScript, with its model card)", open=False,
                      elem_id="wb-eval-export"):
        with gr.Row():
            fmt = gr.Dropdown(list(FORMATS), value="onnx", label="Format", scale=1, elem_id="wb-export-format",
                              info="ONNX comes with predict_onnx.py: numpy, Pillow and onnxruntime, no Workbench")
            write = gr.Button("Export", variant="primary", scale=1, elem_id="wb-export")
        status = gr.Markdown(elem_id="wb-export-status")
        file = gr.File(label="The export (.zip: model, model_card.json, predict script)", interactive=False,
                       elem_id="wb-export-file")
    write.click(bind(export_run, ws), inputs_kwargs={"run": run, "fmt": fmt}, outputs=[status, file],
                api_name="export_model")
    return ExportPanel(fmt, write, status, file)


def export_run(ws: Workspace, run: str | None, fmt: str, progress: gr.Progress = gr.Progress()) -> tuple[str, str]:
    """Export the run's best checkpoint, checked against PyTorch; say where and how close, and hand over a zip."""
    if not run:
        raise gr.Error("Pick a run first.")
    try:
        picked = ws.run(run)
        progress(0.1, desc=f"exporting {run} as {fmt} and checking it against PyTorch")
        result = export.export_run(picked, fmt)
    except WorkbenchError as e:
        raise gr.Error(str(e), duration=None) from None
    # a fresh temporary folder: gradio hands out files from there (checkpoints/ is never served)
    packed = zip_files(result.files, Path(tempfile.mkdtemp(prefix="wb-export-")) / f"{run}-{fmt}.zip")
    names = ", ".join(f.name for f in result.files)
    return (f"**{run}** exported as {fmt} into checkpoints/{run}/{result.model_file.parent.name}/ ({names}); "
            f"{_parity(result, fmt)}.{_threshold(result)}"), str(packed)


def _threshold(result) -> str:
    """The operating threshold the card carries, if one was chosen (the panel above chooses one)."""
    t = json.loads(result.card_file.read_text()).get("threshold")
    return (f" The card decides {t['positive']!r} at P ≥ {t['threshold']:.3f} ({t['rule']} on {t['split']})."
            if isinstance(t, dict) and "threshold" in t else "")


def _parity(result, fmt: str) -> str:
    """How far the export's outputs are from PyTorch's on the check batch."""
    if hasattr(result, "max_box_diff"):
        return (f"against PyTorch: boxes within {result.max_box_diff:.1e} px, scores within "
                f"{result.max_score_diff:.1e}")
    return f"max |{fmt} − PyTorch| = {result.max_abs_diff:.1e} on a check batch"
