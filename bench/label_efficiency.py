"""Model-assisted labelling, measured: a simulated annotator who knows the true classes labels a whole set, and
what it did is costed by the Keystroke-Level Model (workbench.labeling.simulate).

It drives the labelling core as the keys do: types labels until suggestions are seen, then verifies pages of one
suggested class (fixing the wrong thumbnails it sees; with --miss it overlooks some), on a modelled clock with
retrains at the app's pace (it always acts on the last retrain that has finished). Every figure is a ratio to
one key per image without suggestions (M + K = 1.63 s and 1 action per image).

Prints per set and strategy: actions per image, thumbnails inspected per image, modelled seconds per image and
their ratio to one key per image, labels right, and the retrains' measured seconds (fit + predict; the model
charges RETRAIN_S, or --retrain-s, whatever they took, so figures do not depend on the machine's load).

    python bench/label_efficiency.py [--sets faces digits mnist] [--strategies verify-pages ...] [--miss 0.02]
    python bench/label_efficiency.py --dataset NAME [--truth truth.csv] [--home DIR]   # any imported set

`--truth` is a .csv or .xlsx with columns file,label (file: the image's name or path in the set); without it the
set's own labels are the truth. The set is copied into a scratch store first (its files are not; its embeddings
are cached beside it, as the app caches them), so the simulation never writes its labels.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from workbench.data import demo
from workbench.labeling.features import dataset_features
from workbench.labeling.sandbox import read_truth, sandbox, stored_truth
from workbench.labeling.simulate import MISS, PARTS, RETRAIN_S, STRATEGIES, CostModel, SimResult, simulate
from workbench.workspace import Workspace

BUNDLED = ("faces", "digits", "mnist")
GOALS = {"mnist": (0.12, 0.25, 0.995)}  # actions/image, × one key per image, labels right (issue 22)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=list(BUNDLED), choices=BUNDLED, help="bundled demo sets")
    ap.add_argument("--dataset", help="an imported set of the workspace at --home (instead of --sets)")
    ap.add_argument("--truth", help="its true classes: .csv/.xlsx with columns file,label (default: its labels)")
    ap.add_argument("--home", help="workspace holding --dataset (default: $WORKBENCH_HOME or here); for --sets, "
                                   "where the demo sets and their embeddings are kept (default: a temporary folder)")
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    ap.add_argument("--miss", type=float, default=MISS, help="chance of overlooking a wrong suggestion")
    ap.add_argument("--retrain-s", type=float, default=RETRAIN_S,
                    help="modelled seconds per retrain (a negative value: each retrain's measured seconds)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    scratch = Workspace.open(tempfile.mkdtemp(prefix="wb-label-eff-")).store
    if a.dataset:
        ws = Workspace.open(a.home)
        truth = read_truth(ws.store, a.dataset, a.truth) if a.truth else stored_truth(ws.store, a.dataset)
        sources = [(ws.store, a.dataset, truth)]
    else:
        ws = Workspace.open(a.home or tempfile.mkdtemp(prefix="wb-label-eff-src-"))
        sources = [(ws.store, name, _bundled_truth(ws, name)) for name in a.sets]
    cost = CostModel()
    print(f"cost model: M {cost.mental} s, K {cost.key} s, P {cost.point} s, H {cost.home} s, inspection "
          f"{cost.inspect} s per thumbnail; one key per image = {cost.one_key:.2f} s and 1 action per image; "
          f"miss {a.miss}; retrains charged {a.retrain_s if a.retrain_s >= 0 else 'their measured'} s")
    print("x 1 key by part: first = labels typed before suggestions, inspect = thumbnails looked at on verify pages, "
          "enter = Enter on each page, fix = wrong thumbnails fixed on pages, single = images decided one at a time "
          "once suggestions exist; cpu s = the simulation's CPU seconds")
    print(f"{'set':9} {'strategy':26} {'images':>6} {'actions/img':>11} {'inspected/img':>13} {'s/img':>6} "
          f"{'x 1 key':>7} {'right':>7} {'pages':>5} {'typed':>5} {'enter':>5} {'fixes':>5} {'moves':>5} "
          f"{'retrain s med/max':>17} {'x 1 key by part: ' + ' '.join(PARTS):>45} {'cpu s':>6}")
    for store, name, truth in sources:
        t0 = time.perf_counter()
        # embeddings once per set, cached beside it as the app caches them (the scratch copy reads that cache)
        dataset_features(store, name)
        copy, copy_truth = sandbox(store, name, truth, scratch)
        dataset_features(scratch, copy)
        print(f"{name}: {len(copy_truth)} images, {copy_truth.nunique()} classes; embeddings ready in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        for key in a.strategies:
            cpu = time.process_time()
            r = simulate(scratch, copy, copy_truth.to_dict(), STRATEGIES[key], annotator=f"sim-{key}", miss=a.miss,
                         seed=a.seed, cost=cost, retrain_s=a.retrain_s if a.retrain_s >= 0 else None)
            print(_row(name, key, r, time.process_time() - cpu), flush=True)
        if name in GOALS:
            acts, ratio, right = GOALS[name]
            print(f"{name} goal: ≤ {acts} actions/image, ≤ {ratio}× one key per image, ≥ {right:.1%} right")


def _bundled_truth(ws: Workspace, name: str):
    getattr(demo, f"ensure_{name}")(ws.store)
    return demo.faces_truth(ws.store) if name == "faces" else stored_truth(ws.store, name)


def _row(name: str, key: str, r: SimResult, cpu: float) -> str:
    ref = r.refresh_s or [float("nan")]
    parts = " ".join(f"{r.parts[p] / max(r.images, 1) / r.cost.one_key:.3f}" for p in PARTS)
    return (f"{name:9} {key:26} {r.images:6d} {r.actions_per_image:11.3f} {r.inspected_per_image:13.2f} "
            f"{r.seconds_per_image:6.2f} {r.ratio:7.3f} {r.right:7.2%} {r.pages:5d} {r.typed:5d} {r.accepted:5d} "
            f"{r.fixes:5d} {r.moves:5d} {statistics.median(ref):8.2f}/{max(ref):.2f} {parts:>45} {cpu:6.0f}")


if __name__ == "__main__":
    main()
