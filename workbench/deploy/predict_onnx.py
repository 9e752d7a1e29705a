"""Predict with a model exported by `workbench export-model --format onnx`, without Workbench.

    python predict_onnx.py IMAGE [IMAGE ...] [--model model.onnx] [--card model_card.json]

Needs only numpy, Pillow and onnxruntime. Follows the card's preprocessing and prints one CSV row per image:
file, one probability per class, the predicted class (at the card's threshold when it has one).
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


def preprocess(path: str | Path, card: dict) -> np.ndarray:
    """One image file -> float32 (3, size, size), as the card's preprocessing steps say."""
    im = ImageOps.exif_transpose(Image.open(path))
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    size = card["input"]["size"]
    im = im.convert("RGB" if card["input"]["channels"] == 3 else "L")
    if im.size != (size, size):
        im = im.resize((size, size), Image.BILINEAR)
    x = np.asarray(im, dtype=np.float32) / 255.0
    x = np.repeat(x[:, :, None], 3, axis=2) if x.ndim == 2 else x
    norm = card.get("normalisation")
    if norm:
        x = (x - np.asarray(norm["mean"], np.float32)) / np.asarray(norm["std"], np.float32)
    return x.transpose(2, 0, 1).astype(np.float32)


def decide(probs: np.ndarray, card: dict) -> np.ndarray:
    """Class index per row: the positive class at or above the stored threshold, else argmax."""
    t = card.get("threshold")
    if t and "positive_index" in t and probs.shape[1] == 2:
        pos = t["positive_index"]
        return np.where(probs[:, pos] >= t["threshold"], pos, 1 - pos)
    return probs.argmax(axis=1)


def predict(model: str | Path, card: dict, images: list[str]) -> np.ndarray:
    """(N, classes) probabilities of the image files, in the card's class order."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    batch = np.stack([preprocess(p, card) for p in images])
    return session.run(["probabilities"], {"input": batch})[0]


def _text(cell: str) -> str:
    """A text cell a spreadsheet shows as text (OWASP's CSV-injection rule, as workbench.tables.safe_cell: this
    script runs without Workbench)."""
    return "'" + cell if cell.startswith(("=", "+", "-", "@", "\t", "\r", "'")) else cell


def main(argv: list[str] | None = None) -> int:
    """Predict the images named on the command line; one CSV row each on stdout."""
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("images", nargs="+")
    p.add_argument("--model", default=str(here / "model.onnx"))
    p.add_argument("--card", default=str(here / "model_card.json"))
    args = p.parse_args(argv)
    card = json.loads(Path(args.card).read_text())
    probs = predict(args.model, card, args.images)
    out = csv.writer(sys.stdout)
    out.writerow([_text(c) for c in ["file", *(f"p_{c}" for c in card["classes"]), "predicted"]])
    for f, row, k in zip(args.images, probs, decide(probs, card)):
        out.writerow([_text(f), *(f"{v:.8f}" for v in row), _text(card["classes"][k])])
    return 0


if __name__ == "__main__":
    sys.exit(main())
