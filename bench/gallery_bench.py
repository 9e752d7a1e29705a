"""Error-gallery speed: the first page of a gallery over 4,000 images' predictions.

Builds 4,000 generated 24x24 grayscale crops (two classes, 10% tagged "glasses"), trains a one-epoch
resnet18 head on them (random backbone: speed, not accuracy, is measured) and predicts all 4,000, so
about half are errors. Then times what the Evaluate tab does for a first page, per grouping:
categories + per-category table + errors in a category + page of thumbnails as file paths.
Also: the tab's end-to-end path on the run's real test split, a page of 48 Grad-CAM thumbnails cold
and cached, and as baseline measured in the same run an unpaged gallery that decodes all 4,000 images.
Goal: first page <= 1 s.

    python bench/gallery_bench.py [--n 4000] [--page-size 48] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_imagefolder(root: Path, n: int, size: int = 24) -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    for cls in ("open", "closed"):
        (root / cls).mkdir(parents=True)
    for i in range(n):
        cls = "open" if i % 2 == 0 else "closed"
        cx, cy, r = rng.uniform(8, 16), rng.uniform(8, 16), rng.uniform(3, 7) * (1 if cls == "open" else 0.5)
        a = 180 - 120 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) + rng.normal(0, 12, (size, size))
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L").save(root / cls / f"eye_{i:05d}.png")


def timed(fn, repeat: int = 5) -> tuple[float, float]:
    """(first call, median of the following calls) in seconds."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    rest = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        rest.append(time.perf_counter() - t0)
    return first, statistics.median(rest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--page-size", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the generated home folder")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    home = Path(tempfile.mkdtemp(prefix="wb-gallery-bench-"))
    os.environ["WORKBENCH_HOME"] = str(home)

    from workbench.data.importers import import_path
    from workbench.evaluate.evaluate import evaluate_run
    from workbench.evaluate.evaluate import predictions_table
    from workbench.explain.cache import cache_dir, cam_overlay_files
    from workbench.review import categories, category_table, errors_in, gallery_page
    from workbench.review.run_cache import RunCache
    from workbench.review.views import error_view
    from workbench.store import Store
    from workbench.workspace import Workspace
    from workbench.train.config import RunConfig
    from workbench.train.loop import train
    from workbench.train.predict import predict
    from workbench.train.runs import load_run

    t0 = time.perf_counter()
    make_imagefolder(home / "src", args.n)
    store = Store()
    ws = Workspace.around(store)
    import_path(store, home / "src", fmt="imagefolder", name="eyes")
    images = store.images("eyes")
    with store.transaction():  # one transaction: setting up the bench, not measuring the store
        for i in images.image_id[::10]:
            store.set_image_tag(int(i), "glasses", "bench")
    train(ws, RunConfig(dataset="eyes", method="feature_extract", backbone="resnet18", weights="none", input_size=64,
                    epochs=1, batch_size=256, name="bench"))
    evaluate_run(ws.run("bench"))
    loaded = load_run(ws.run("bench"))
    labelled = loaded.task_labels(store)
    preds = predictions_table(labelled, predict(loaded, labelled["path"].tolist()))
    classes = loaded.classes
    print(f"setup (generate, import, train, predict {len(preds)} images): {time.perf_counter() - t0:.1f} s")
    print(f"{len(preds)} predictions, {int((preds.y_true != preds.y_pred).sum())} errors; page size {args.page_size}\n")

    def first_page(grouping, category):
        cats = categories(grouping, preds, classes, store, "eyes")
        table = category_table(preds, cats)
        page = gallery_page(errors_in(preds, cats, category), classes, 0, args.page_size)
        return table, page

    rows = []
    for grouping, category in (("tag", "glasses"), ("quality", None), ("confusion", "open → closed")):
        first, median = timed(lambda: first_page(grouping, category))
        rows.append((f"first page, {args.n} images, by {grouping}", first, median))
    first, median = timed(lambda: error_view(ws.run("bench"), "tag", "glasses", 0, args.page_size, runs=RunCache()))
    rows.append(("Evaluate tab path (error_view), test split", first, median))

    runs = RunCache()
    runs.get(ws.run("bench"))
    page_rows = errors_in(preds, categories("confusion", preds, classes)).iloc[:args.page_size]
    folder = cache_dir(ws.run("bench"), "gradcam", None)
    t0 = time.perf_counter()
    cam_overlay_files(loaded, page_rows.image_id.tolist(), page_rows.path.tolist(), page_rows.y_pred.tolist(), folder)
    cold = time.perf_counter() - t0
    _, warm = timed(lambda: cam_overlay_files(loaded, page_rows.image_id.tolist(), page_rows.path.tolist(),
                                              page_rows.y_pred.tolist(), folder))
    rows.append((f"page of {len(page_rows)} Grad-CAM thumbnails (cold, then cached)", cold, warm))

    t0 = time.perf_counter()
    _ = [np.asarray(Image.open(p).convert("RGB")) for p in preds.path]
    baseline = time.perf_counter() - t0

    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}   first call   median")
    for name, first, median in rows:
        print(f"{name:{width}}   {first * 1000:8.1f} ms  {median * 1000:6.1f} ms")
    print(f"{'baseline: unpaged gallery decoding all ' + str(len(preds)) + ' images':{width}}   "
          f"{baseline * 1000:8.1f} ms")
    worst = max(r[1] for r in rows[:3])
    print(f"\nfirst page (slowest grouping, first call): {worst * 1000:.0f} ms -> goal <= 1 s "
          f"{'met' if worst <= 1 else 'NOT met'}; {baseline / worst:.1f}x faster than the unpaged baseline")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    store.close()
    if args.keep:
        print(f"files kept in {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
