"""`workbench import PATH`: import an image set in any supported format."""

from __future__ import annotations

import argparse
from typing import Iterable

from tqdm import tqdm

from workbench.data.importers.crops import CROP_KINDS
from workbench.data.importers import FORMATS, import_path


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench import`."""
    formats = "\n".join(f"  {k:12s} {v}" for k, v in FORMATS.items())
    p = sub.add_parser("import", help="import an image set (folder, zip, ImageFolder, CSV/xlsx, numpy; boxes: COCO, VOC, YOLO)",
                       description="Import an image set into the label store. Formats:\n" + formats
                       + "\nRe-importing the same set adds nothing twice.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", help="folder, .zip, .csv/.xlsx, X.npy, COCO .json, VOC folder, YOLO folder or data.yaml")
    p.add_argument("--format", default="auto", choices=["auto", *FORMATS], help="default: detected from the path")
    p.add_argument("--name", help="dataset name (default: from the path)")
    p.add_argument("--labels", help="numpy: y.npy of class indices or one-hot rows")
    p.add_argument("--classes", help="class names, comma-separated (numpy: in index order); coco/voc/yolo: the box "
                   "classes (YOLO: in index order), a box of any other class is refused")
    p.add_argument("--images", help="table, coco: folder the file names are relative to (default: the file's folder; "
                   "coco also tries its images/ folder)")
    p.add_argument("--skip-bad", action="store_true", help="import the readable images and list the bad ones")
    p.add_argument("--crop", choices=CROP_KINDS, help="import the faces (or the eyes inside them) found in the photos "
                   "with OpenCV's Haar cascades, each a grey SIZE x SIZE crop; photos with none are listed")
    p.add_argument("--size", type=int, default=24, help="--crop: crop side in pixels (default: 24)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import args.path and print what was imported."""
    def progress(it: Iterable, total: int, desc: str) -> Iterable:
        return tqdm(it, total=total, desc=desc, unit="img")

    result = import_path(args.workspace.store, args.path, fmt=args.format, name=args.name, labels=args.labels,
                         classes=args.classes, images=args.images, skip_bad=args.skip_bad, progress=progress,
                         crop=args.crop, crop_size=args.size)
    print(result)
    return 0
