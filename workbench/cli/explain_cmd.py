"""`workbench explain RUN IMAGE_ID... --out DIR`: CAM overlays of chosen images as PNG files."""

from __future__ import annotations

import argparse

from workbench.errors import WorkbenchError
from workbench.explain.methods import METHODS
from workbench.lazy import lazy_import

# Grad-CAM needs torch: imported when the command runs, not when the CLI starts
overlays = lazy_import("workbench.explain.export")
loaded_runs = lazy_import("workbench.train.runs")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench explain` to the CLI's subcommands."""
    p = sub.add_parser("explain", help="write Grad-CAM overlays of chosen images of a run as PNG files",
                       description="Explain what a run's best checkpoint looks at in the given images (ids as the "
                                   "app and `workbench evaluate --by` show them): one heatmap-over-image PNG per "
                                   "image in --out. Without --layer, the architecture's last feature map is used, or, "
                                   "when that map is smaller than 3x3 at the run's input size, the deepest block "
                                   "that keeps 3x3; the layer used is printed.")
    p.add_argument("run", help="run name (a folder under checkpoints/), or 'last' for the newest run")
    p.add_argument("image_ids", nargs="+", type=int, metavar="IMAGE_ID", help="image ids of the run's dataset")
    p.add_argument("--method", default="gradcam", choices=list(METHODS), help="CAM method (default gradcam)")
    p.add_argument("--layer", help="target layer by dotted name, e.g. layer3 or blocks.4 (default: automatic)")
    p.add_argument("--class", dest="class_name", metavar="CLASS",
                   help="class to explain (default: each image's predicted class)")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.add_argument("--size", type=int, default=192, help="overlay size in pixels on the long side (default 192)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the PNG files (created if missing)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the overlays and print the layer used and one line per file."""
    if not 16 <= args.size <= 2048:
        raise WorkbenchError(f"--size must be between 16 and 2048 pixels, got {args.size}.")
    ws = args.workspace
    run = ws.run(args.run)
    loaded = loaded_runs.load_run(run, args.checkpoint)
    try:
        result = overlays.write_overlays(loaded, ws.store, args.image_ids, args.out, args.class_name, args.method,
                                         args.layer, args.size)
    finally:
        ws.close()
    print(f"{run.name} · {args.method} at {result.layer.describe()}")
    for f, c in zip(result.files, result.captions):
        print(f"  {f}  ({c})")
    return 0
