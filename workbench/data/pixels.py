"""Measures of each image's decoded pixels, cached per dataset by file content (sha256 of the file).

- a hash of the decoded pixels (mode, size and 8-bit values): two files are exact duplicates when their pixels are
  equal, whatever their format or metadata (a PNG and its lossless re-encoding, a copy with other EXIF);
- a 32×32 grey copy (bilinear, so it is anti-aliased when shrinking): what near-duplicates are compared on;
- the grey-level entropy of the whole image (bits), cleanvision's "low information" score.

A file that cannot be read any more gets an empty hash, a blank grey copy and NaN entropy: it is left out of
duplicate search and quality scores rather than failing them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from PIL import Image

from workbench.atomic import atomic_path
from workbench.data.imageio import load_image

SIDE = 32
CACHE = "pixels32.npz"
# stored in the cache, so a cache made by another pipeline is never mixed in
PIPELINE = "sha256(mode,size,bytes); L bilinear 32; entropy L"

Progress = Callable[[float, str], None]


def no_progress(frac: float, what: str) -> None:
    """The Progress that shows nothing."""


@dataclass(frozen=True)
class Pixels:
    """The measures of N images, in the order asked for."""

    hashes: np.ndarray  # (N,) str: hex digest of the decoded pixels, "" when unreadable
    grey: np.ndarray  # (N, SIDE, SIDE) uint8
    entropy: np.ndarray  # (N,) float, NaN when unreadable

    @property
    def readable(self) -> np.ndarray:
        """(N,) bool: the image could be decoded."""
        return self.hashes != ""


def measure(im: Image.Image) -> tuple[str, np.ndarray, float]:
    """(pixel hash, SIDE×SIDE grey uint8, entropy) of one decoded L or RGB image."""
    h = hashlib.sha256(f"{im.mode} {im.width}x{im.height}\n".encode())
    h.update(im.tobytes())
    grey = im if im.mode == "L" else im.convert("L")
    small = np.asarray(grey.resize((SIDE, SIDE), Image.BILINEAR), dtype=np.uint8)
    return h.hexdigest()[:32], small, float(grey.entropy())


def _measure_file(path: str) -> tuple[str, np.ndarray, float]:
    try:
        return measure(load_image(path))
    except Exception:  # gone or damaged since import: kept out of comparisons, not fatal
        return "", np.zeros((SIDE, SIDE), np.uint8), float("nan")


def cached_pixels(folder: Path, images: pd.DataFrame, progress: Progress = no_progress) -> Pixels:
    """The measures of `images` (columns sha256, path) in row order, from `folder`/pixels32.npz or decoded once
    and added to it."""
    cache = Path(folder) / CACHE
    known = _read_cache(cache)
    missing = list({s: p for s, p in zip(images["sha256"], images["path"]) if s not in known}.items())
    for n, (sha, path) in enumerate(missing):
        if n % 500 == 0:
            progress(n / len(missing), f"reading pixels: {n} / {len(missing)} images")
        known[sha] = _measure_file(path)
    if missing and any(v[0] for v in known.values()):
        _write_cache(cache, known)
    rows = [known[s] for s in images["sha256"]]
    if not rows:
        return Pixels(np.array([], dtype=str), np.zeros((0, SIDE, SIDE), np.uint8), np.zeros(0))
    return Pixels(np.array([r[0] for r in rows], dtype=str), np.stack([r[1] for r in rows]),
                  np.array([r[2] for r in rows], dtype=float))


def _read_cache(cache: Path) -> dict[str, tuple[str, np.ndarray, float]]:
    if not cache.is_file():
        return {}
    with np.load(cache) as f:
        if str(f["pipeline"]) != PIPELINE:
            return {}
        return {s: (h, g, e) for s, h, g, e in zip(f["sha256"].tolist(), f["hash"].tolist(), f["grey"], f["entropy"])}


def _write_cache(cache: Path, known: dict[str, tuple[str, np.ndarray, float]]) -> None:
    # unreadable files are not cached: they are tried again next time (the file may be back)
    keep = {s: v for s, v in known.items() if v[0]}
    with atomic_path(cache) as tmp:
        np.savez(tmp, pipeline=np.array(PIPELINE), sha256=np.array(list(keep)),
                 hash=np.array([v[0] for v in keep.values()]), grey=np.stack([v[1] for v in keep.values()]),
                 entropy=np.array([v[2] for v in keep.values()], dtype=float))
