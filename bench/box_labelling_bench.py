"""Modelled cost of labelling boxes with suggested boxes, as a fraction of drawing every box (goal: under 0.4).

A simulated annotator who knows a set's true boxes works through each image as the Boxes mode lets them: look at
each suggestion, accept those that fit (Enter, then delete the false ones; or click each one that fits), fix a wrong
class (point + key), draw what is missing (≈ 7 s), press n (workbench/labeling/box_cost.py has the model;
--key-per-box counts the earlier, dearer way: a key per suggestion and a delete per false one). The ratio of summed seconds is printed per suggester
with a 95% bootstrap interval over images (paired), beside the strongest simple baseline, copying the previous
image's boxes, and drawing every box (1.0 by definition).

Any set with boxes works: the truth is Store.boxes (or --truth ANNOTATOR's boxes). A detector run is scored only on
the images its own dataset.json puts in the test split (never on what it trained on), plus every image of a
--held-out set; its boxes are suggested one per object, at the score floor that costs least on the run's val split
(never chosen on the images it is scored on) unless --min-score gives one.

    python bench/box_labelling_bench.py --dataset NAME [--truth ANNOTATOR] [--suggest haar,copy,run:RUN,latest]
    python bench/box_labelling_bench.py --scenes faces --images 60      # composed scenes (workbench.data.scenes)
    python bench/box_labelling_bench.py --home H --dataset bench-scenes --more-scenes 300 --suggest copy,run:RUN
        # a run of bench/detect_bench.py's set, scored on its test split and the 300 scenes that follow the set
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.labeling.box_cost import CostModel, above, cheapest_floor, image_cost, summarize  # noqa: E402
from workbench.labeling.box_suggest import detection_runs, detector_suggester, haar_suggester  # noqa: E402
from workbench.run import Run  # noqa: E402
from workbench.workspace import Workspace  # noqa: E402


def truth_by_image(ws: Workspace, dataset: str, annotator: str | None) -> tuple[pd.DataFrame, dict[int, list[dict]]]:
    """The boxed images (in order) and each one's true boxes."""
    images = ws.store.boxed_images(dataset, annotator)
    boxes = ws.store.boxes(dataset, annotator)
    per = {int(i): [] for i in images.image_id}
    for b in boxes.itertuples():
        per[int(b.image_id)].append({"label": b.label, "x": b.x, "y": b.y, "w": b.w, "h": b.h})
    return images, per


def split_ids(run: Run, split: str) -> set[int]:
    """The image ids a detection run's dataset.json puts in `split`."""
    return {int(r["image_id"]) for r in run.dataset_info.get("images", []) if r.get("split") == split}


def unseen(run: Run, images: pd.DataFrame) -> pd.DataFrame:
    """The `images` (of another set) whose pixels the run neither trained on nor chose its epoch on (by sha256)."""
    seen = {r.get("sha256") for r in run.dataset_info.get("images", []) if r.get("split") in ("train", "val")}
    return images[~images.sha256.isin(seen)]


def copy_previous(images: pd.DataFrame, truth: dict[int, list[dict]]) -> dict[int, list[dict]]:
    """The simple baseline: each image is offered the previous image's true boxes, at the same fractions."""
    out, prev = {}, None
    for r in images.itertuples():
        if prev is None:
            out[r.image_id] = []
        else:
            sx, sy = r.width / prev.width, r.height / prev.height
            out[r.image_id] = [{**b, "x": b["x"] * sx, "w": b["w"] * sx, "y": b["y"] * sy, "h": b["h"] * sy}
                               for b in truth[prev.image_id]]
        prev = r
    return out


@dataclass
class Scored:
    """Boxes one suggester offers per image, the images they are scored on (None: all), and how the floor was set."""

    name: str
    offered: dict[int, list[dict]]
    only: set[int] | None = None
    note: str = ""


def suggested(ws: Workspace, dataset: str, name: str, images: pd.DataFrame, truth: dict, held_out: pd.DataFrame,
              model: CostModel, min_score: float | None) -> Scored:
    """What `name` (copy, haar, run:RUN or latest) suggests on the images it may be scored on."""
    if name == "copy":
        return Scored("copy the previous image's boxes", copy_previous(images, truth))
    classes = ws.store.box_classes(dataset)
    if name == "haar":
        sugg = haar_suggester(classes)
        if sugg is None:
            raise SystemExit(f"haar: the box classes of {dataset!r} ({', '.join(classes)}) name no face or eye.")
        return Scored(sugg.name, {int(r.image_id): sugg.suggest({"path": r.path}, classes) for r in images.itertuples()})
    run = name.removeprefix("run:")
    if run == "latest":
        runs = detection_runs(ws, dataset)
        if not runs:
            raise SystemExit(f"No detection run of {dataset!r} yet: train one (workbench train {dataset}).")
        run = runs[-1]
    return detector_scored(ws.run(run), classes, images, truth, held_out, model, min_score)


def detector_scored(run: Run, classes: list[str], images: pd.DataFrame, truth: dict, held_out: pd.DataFrame,
                    model: CostModel, min_score: float | None) -> Scored:
    """A detection run's boxes (one per object) on its test split and the unseen held-out images, at `min_score` or
    else at the floor with the least modelled cost on its val split."""
    val, extra = split_ids(run, "val") & truth.keys(), set(unseen(run, held_out).image_id.astype(int))
    test = (split_ids(run, "test") | extra) & truth.keys()
    if not test or (min_score is None and not val):
        raise SystemExit(f"Run {run.name!r} has no boxed {'test' if not test else 'val'} images in this set.")
    sugg = detector_suggester(run, 0.0)  # every box the detector keeps; the floor is applied below
    rows = pd.concat([images, held_out])
    offered = {int(r.image_id): sugg.suggest({"path": r.path}, classes)
               for r in rows[rows.image_id.isin(test | val)].drop_duplicates("image_id").itertuples()}
    if min_score is None:
        floor, val_ratio = cheapest_floor({i: truth[i] for i in val}, offered, model)
        note = f"score floor {floor:g}: least modelled cost on the run's {len(val)} val images ({val_ratio:.3f}x there)"
    else:
        floor, note = min_score, f"score floor {min_score:g} (given)"
    note += f"; scored on {len(test) - len(extra & test)} test images of the run's split + {len(extra & test)} held out"
    return Scored(f"detector run {run.name} (score >= {floor:g})", {i: above(offered[i], floor) for i in test},
                  test, note)


def compose_scenes(ws: Workspace, objects: str, n: int, seed: int) -> str:
    """A composed scenes set (real objects pasted on real photos, exact boxes) imported as a user would: COCO."""
    from workbench.data.importers import import_path
    from workbench.data.scenes import SceneSpec, write_scenes

    folder = Path(tempfile.mkdtemp(prefix="wb-scenes-"))
    coco = write_scenes(SceneSpec(n=n, objects=objects, seed=seed), folder)
    name = f"scenes-{objects}"
    import_path(ws.store, coco, name=name)
    return name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", help="a set with true boxes in the store")
    ap.add_argument("--truth", help="whose boxes are the truth (default: per image, as Store.boxes picks)")
    ap.add_argument("--scenes", choices=["faces", "digits", "both"], help="compose a scenes set instead")
    ap.add_argument("--images", type=int, default=60, help="--scenes: how many scenes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--suggest", default="copy,haar", help="comma-separated: copy, haar, run:NAME, latest")
    ap.add_argument("--min-score", type=float,
                    help="a detector's boxes below are not suggested (default: the floor least costly on its val split)")
    ap.add_argument("--held-out", help="a second boxed set: detector runs are also scored on each of its images")
    ap.add_argument("--more-scenes", type=int, default=0,
                    help="with detect_bench.py's set as --dataset: compose the N scenes that follow it and hold them out")
    ap.add_argument("--home", help="the workspace (default: $WORKBENCH_HOME or the current folder)")
    ap.add_argument("--accept-iou", type=float, default=CostModel().accept_iou)
    ap.add_argument("--key-per-box", action="store_true",
                    help="count a key per suggestion and a delete per false one (not one Enter for all)")
    a = ap.parse_args()
    if a.scenes:
        os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="wb-box-bench-"))
    ws = Workspace.open(a.home)
    dataset = compose_scenes(ws, a.scenes, a.images, a.seed) if a.scenes else a.dataset
    if not dataset:
        raise SystemExit("Give --dataset NAME (a set with boxes) or --scenes faces|digits|both.")
    images, truth = truth_by_image(ws, dataset, a.truth)
    if images.empty:
        raise SystemExit(f"{dataset!r} has no boxed images: import or draw boxes first.")
    if a.more_scenes and dataset != "bench-scenes":
        raise SystemExit("--more-scenes continues bench/detect_bench.py's set: give --dataset bench-scenes.")
    if a.more_scenes:
        from detect_bench import more_scenes  # torch and the detectors: only --more-scenes needs them

        held_name = more_scenes(ws, len(ws.store.images(dataset)), a.more_scenes)
    else:
        held_name = a.held_out
    held_out, held_truth = truth_by_image(ws, held_name, a.truth) if held_name else (images.iloc[:0], {})
    held_out = held_out.merge(ws.store.images(held_name)[["image_id", "sha256"]]) if held_name else held_out
    model = CostModel(accept_iou=a.accept_iou, key_per_box=a.key_per_box)
    print(f"{dataset}: {len(images)} boxed images, {sum(map(len, truth.values()))} true boxes"
          + (f"; held out {held_name}: {len(held_out)}, {sum(map(len, held_truth.values()))}" if held_name else "")
          + f"; draw {model.draw} s, look at a suggestion {model.look:.2f} s, "
          + ("a key each" if model.key_per_box else f"Enter accepts all {model.accept:.2f} s")
          + f", fix or click one {model.fix:.2f} s, done {model.done:.2f} s per image; a suggestion is kept at IoU >= "
          f"{model.accept_iou}")
    truth = {**truth, **held_truth}
    print(f"{'suggester':58s} {'images':>6s} {'ratio':>6s} {'95% CI':>13s} {'accepted':>8s} {'fixed':>5s} "
          f"{'false':>7s} {'drawn':>5s} {'s/image':>7s}")
    for name in [s.strip() for s in a.suggest.split(",") if s.strip()]:
        t0 = time.perf_counter()
        got = suggested(ws, dataset, name, images, truth, held_out, model, a.min_score)
        what, offered, only = got.name, got.offered, got.only
        ids = images.image_id.astype(int).tolist() if only is None else sorted(only)
        how = replace(model, click_one=False) if name == "copy" else model  # c copies every box: none alone
        costs = [image_cost(truth[i], offered.get(i, []), how) for i in ids]
        s = summarize(costs, boxes=sum(len(truth[i]) for i in ids), seed=a.seed)
        goal = "meets < 0.4" if s.high < 0.4 else ("< 0.4 not shown" if s.ratio < 0.4 else "")
        print(f"{what[:58]:58s} {s.images:6d} {s.ratio:6.3f} [{s.low:5.3f}, {s.high:5.3f}] {s.accepted:8d} "
              f"{s.reclassed:5d} {s.rejected:7d} {s.drawn:5d} {s.suggested_s / s.images:7.1f}  {goal}"
              f"  ({time.perf_counter() - t0:.0f} s)")
        if got.note:
            print(f"    {got.note}")
    print(f"{'draw every box (the baseline the ratio is against)':58s} {len(images):6d} {1.0:6.3f}")


if __name__ == "__main__":
    main()
