"""Grid page in the "similar" order (look-alikes together) vs the plain file order, on 4,000 24×24 crops.

Times one grid page of 100 in each order, the first "similar" page (thumbnails decoded and cached) and
later ones (from the cache), and reports how often neighbours in each order share the true class: what
makes a page labellable with "Select all".

    python bench/grid_bench.py [--images 4000] [--size 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=4000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    os.environ["WORKBENCH_HOME"] = tempfile.mkdtemp(prefix="wb-grid-bench-")
    sys.path.insert(0, str(Path(__file__).parent))
    from train_bench import make_images

    from workbench.data.importers import import_arrays
    from workbench.labeling import build_queue, grid_page
    from workbench.store import Store

    store = Store()
    x, y = make_images(a.images, np.random.default_rng(0))
    import_arrays(store, x, y, class_names=["open", "closed"], name="eyes")

    def timed(order: str) -> float:
        t0 = time.perf_counter()
        grid_page(store, "eyes", "ann", 0, a.size, order)
        return time.perf_counter() - t0

    first = timed("similar")
    similar = statistics.median(timed("similar") for _ in range(a.repeat))
    plain = statistics.median(timed("unlabeled") for _ in range(a.repeat))
    truth = store.resolved_labels("eyes")

    def neighbours(order: str) -> float:
        labels = [truth[i] for i in build_queue(store, "eyes", "ann", order)]
        return float(np.mean([p == q for p, q in zip(labels, labels[1:])]))

    print(f"{a.images} images, page of {a.size}")
    print(f"similar order: first page {first:.3f} s (decodes and caches thumbnails), then {similar:.3f} s "
          f"= {similar / plain:.1f}x the file-order page ({plain:.3f} s)")
    print(f"neighbours with the same true class: similar {neighbours('similar'):.2f}, "
          f"file order {neighbours('unlabeled'):.2f}")


if __name__ == "__main__":
    main()
