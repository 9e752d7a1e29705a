"""Find objects with a detector exported by `workbench export-model` (a detection run), without Workbench.

    python predict_onnx_boxes.py IMAGE [IMAGE ...] [--model model.onnx] [--card model_card.json] [--min-score S]

Needs only numpy, Pillow and onnxruntime. Follows the card's preprocessing and prints one CSV row per box:
file, box, label, score, x, y, w, h (top-left corner and size in the original image's pixels).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps


def preprocess(path: str | Path, card: dict) -> tuple[np.ndarray, float]:
    """One image file -> (float32 (3, H, W) in [0, 1] with the longer side at the card's size, the resize factor)."""
    im = ImageOps.exif_transpose(Image.open(path))
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    im = im.convert("RGB")
    size = card["input"]["size"]
    factor = size / max(im.size)
    if factor != 1:
        im = im.resize((max(1, round(im.width * factor)), max(1, round(im.height * factor))), Image.BILINEAR)
    return (np.asarray(im, dtype=np.float32) / 255.0).transpose(2, 0, 1).copy(), factor


def detect(session: ort.InferenceSession, path: str, card: dict, min_score: float) -> list[tuple]:
    """(label, score, x, y, w, h) of each box scored at least `min_score`, in the image's own pixels."""
    x, factor = preprocess(path, card)
    boxes, scores, labels = session.run(["boxes", "scores", "labels"], {"image": x})
    keep = scores >= min_score
    return [(card["classes"][int(c)], float(s), *(float(v) / factor for v in (b[0], b[1], b[2] - b[0], b[3] - b[1])))
            for b, s, c in zip(boxes[keep], scores[keep], labels[keep])]


def _text(cell: str) -> str:
    """A text cell a spreadsheet shows as text (OWASP's CSV-injection rule, as workbench.tables.safe_cell: this
    script runs without Workbench)."""
    return "'" + cell if cell.startswith(("=", "+", "-", "@", "\t", "\r", "'")) else cell


def main(argv: list[str] | None = None) -> int:
    """Detect objects in the images named on the command line; one CSV row per box on stdout."""
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("images", nargs="+")
    p.add_argument("--model", default=str(here / "model.onnx"))
    p.add_argument("--card", default=str(here / "model_card.json"))
    p.add_argument("--min-score", type=float, help="keep boxes scored at least this (default: the card's min_score)")
    args = p.parse_args(argv)
    card = json.loads(Path(args.card).read_text())
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    min_score = card["min_score"] if args.min_score is None else args.min_score
    out = csv.writer(sys.stdout)
    out.writerow(["file", "box", "label", "score", "x", "y", "w", "h"])
    for path in args.images:
        for k, (label, score, x, y, w, h) in enumerate(detect(session, path, card, min_score), 1):
            out.writerow([_text(path), k, _text(label), f"{score:.4f}", f"{x:.1f}", f"{y:.1f}", f"{w:.1f}", f"{h:.1f}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
