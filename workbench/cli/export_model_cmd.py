"""`workbench export-model RUN --format onnx|torchscript`: the run's model, with a model card, for use without
Workbench."""

from __future__ import annotations

import argparse

from workbench.deploy.formats import FORMATS
from workbench.lazy import lazy_import

# exporting needs torch: imported when the command runs, not when the CLI starts
export = lazy_import("workbench.deploy.export")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `workbench export-model`."""
    about = (" The card (model_card.json) gives classes, input size, channels, normalisation, preprocessing, "
             "threshold, training data and metrics; an ONNX export also gets predict_onnx.py, which needs only numpy, "
             "Pillow and onnxruntime. A detection run exports as ONNX with predict_onnx_boxes.py (one CSV row per "
             "box).")
    p = subparsers.add_parser("export-model", help="export a run's model (ONNX or TorchScript) with a model card",
                              description=" ".join(__doc__.split()) + about)
    p.add_argument("run", help="run name, or `last` for the newest run")
    p.add_argument("--format", required=True, choices=list(FORMATS), dest="fmt")
    p.add_argument("--out", help="folder to write into (default: checkpoints/RUN/export-FORMAT/)")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export the run and list the files written."""
    result = export.export_run(args.workspace.run(args.run), args.fmt, args.out, args.checkpoint)
    print(result)
    for f in result.files:
        print(f"  {f}")
    return 0
