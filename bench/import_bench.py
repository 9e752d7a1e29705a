"""Import speed: 4,000 generated 24×24 grayscale PNGs through `workbench import`'s core.

Prints images/s for the full import (decode, checks, sha256, quality stats, SQLite commit) and, as a
baseline measured in the same run, a bare loop that only opens and decodes the same files with PIL.
Goal: >= 1,300 images/s (4,000 in <= 3 s) on 2 cores.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_pngs(folder: Path, n: int = 4000, size: int = 24) -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        # eye-like blob with noise, so the stats have something to measure
        cx, cy, r = rng.uniform(8, 16), rng.uniform(8, 16), rng.uniform(3, 7)
        a = 180 - 120 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) + rng.normal(0, 12, (size, size))
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L").save(folder / f"eye_{i:05d}.png")


def main(n: int = 4000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WORKBENCH_HOME"] = tmp
        from workbench.data.importers import import_folder
        from workbench.store import Store

        src = Path(tmp) / "eyes"
        src.mkdir()
        make_pngs(src, n)
        files = sorted(src.iterdir())

        t = time.perf_counter()
        for f in files:
            with Image.open(f) as im:
                im.load()
        baseline = time.perf_counter() - t

        store = Store()
        t = time.perf_counter()
        result = import_folder(store, src, name="eyes")
        full = time.perf_counter() - t
        t = time.perf_counter()
        again = import_folder(store, src, name="eyes")
        reimport = time.perf_counter() - t
        assert result.added == n and again.added == 0

        print(f"images: {n} ({os.cpu_count()} cores)")
        print(f"baseline PIL open+decode: {n / baseline:8.0f} images/s ({baseline:.2f} s)")
        print(f"workbench import:         {n / full:8.0f} images/s ({full:.2f} s)  goal >= 1300 images/s")
        print(f"re-import (no-op):        {n / reimport:8.0f} images/s ({reimport:.2f} s)")
        print(f"ratio import / bare decode time: {full / baseline:.2f}x")
        sys.exit(0 if n / full >= 1300 else 1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
