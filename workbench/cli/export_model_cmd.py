"""`workbench export-model RUN --format onnx|torchscript`: the run's model, with a model card, for use without
Workbench."""

from __future__ import annotations

import argparse

from workbench.deploy import EXPORTERS, export_model
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.train.runs import load_config, resolve_run

detect_export = lazy_import("workbench.detect.export")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `workbench export-model`."""
    about = (" The card (model_card.json) gives classes, input size, channels, normalisation, preprocessing, "
             "threshold, training data and metrics; an ONNX export also gets predict_onnx.py, which needs only numpy, "
             "Pillow and onnxruntime. A detection run exports as ONNX with predict_onnx_boxes.py (one CSV row per box).")
    p = subparsers.add_parser("export-model", help="export a run's model (ONNX or TorchScript) with a model card",
                              description=" ".join(__doc__.split()) + about)
    p.add_argument("run", help="run name, or `last` for the newest run")
    p.add_argument("--format", required=True, choices=list(EXPORTERS), dest="fmt")
    p.add_argument("--out", help="folder to write into (default: checkpoints/RUN/export-FORMAT/)")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export the run and list the files written."""
    ws = args.workspace
    name = resolve_run(ws, args.run)
    if load_config(ws, name).task == "detection":
        if args.fmt != "onnx":
            raise WorkbenchError(f"{name!r} is a detection run: it exports as onnx only (--format onnx).")
        result = detect_export.export_detector(ws, name, args.out, args.checkpoint)
    else:
        result = export_model(ws, name, args.fmt, args.out, args.checkpoint)
    print(result)
    for f in result.files:
        print(f"  {f}")
    return 0
