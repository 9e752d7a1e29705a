"""Modelled cost of labelling boxes with suggested boxes, as a fraction of drawing every box (goal: under 0.4).

A simulated annotator who knows a set's true boxes works through each image as the Boxes mode lets them: accept the
suggestions that fit (verify ≈ 1.6 s each), fix the class or delete the others (point + key), draw what is missing
(≈ 7 s), press n (workbench/labeling/box_cost.py has the model). The ratio of summed seconds is printed per suggester
with a 95% bootstrap interval over images (paired), beside the strongest simple baseline, copying the previous
image's boxes, and drawing every box (1.0 by definition).

Any set with boxes works: the truth is Store.boxes (or --truth ANNOTATOR's boxes). A detector run is scored only on
the images its own dataset.json puts in the test split (never on what it trained on).

    python bench/box_labelling_bench.py --dataset NAME [--truth ANNOTATOR] [--suggest haar,copy,run:RUN,latest]
    python bench/box_labelling_bench.py --scenes faces --images 60      # composed scenes (workbench.data.scenes)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.labeling.box_cost import CostModel, image_cost, summarize  # noqa: E402
from workbench.labeling.box_suggest import MIN_SCORE, detection_runs, detector_suggester, haar_suggester  # noqa: E402
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


def held_out(run: Run) -> set[int] | None:
    """The test-split image ids of a detection run (its dataset.json), or None when it lists none."""
    rows = run.dataset_info.get("images", [])
    return {int(r["image_id"]) for r in rows if r.get("split") == "test"} or None


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


def suggested(ws: Workspace, dataset: str, name: str, images: pd.DataFrame, truth: dict,
              min_score: float) -> tuple[str, dict[int, list[dict]], set[int] | None]:
    """(what suggests, suggestions per image, the images it may be scored on: None for all)."""
    if name == "copy":
        return "copy the previous image's boxes", copy_previous(images, truth), None
    classes = ws.store.box_classes(dataset)
    if name == "haar":
        sugg, only = haar_suggester(classes), None
        if sugg is None:
            raise SystemExit(f"haar: the box classes of {dataset!r} ({', '.join(classes)}) name no face or eye.")
    else:
        run = name.removeprefix("run:")
        if run == "latest":
            runs = detection_runs(ws, dataset)
            if not runs:
                raise SystemExit(f"No detection run of {dataset!r} yet: train one (workbench train {dataset}).")
            run = runs[-1]
        picked = ws.run(run)
        sugg, only = detector_suggester(picked, min_score), held_out(picked)
    rows = images if only is None else images[images.image_id.isin(only)]
    return sugg.name, {int(r.image_id): sugg.suggest({"path": r.path}, classes) for r in rows.itertuples()}, only


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
    ap.add_argument("--min-score", type=float, default=MIN_SCORE, help="a detector's boxes below are not suggested")
    ap.add_argument("--accept-iou", type=float, default=CostModel().accept_iou)
    a = ap.parse_args()
    if a.scenes:
        os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="wb-box-bench-"))
    ws = Workspace.open()
    dataset = compose_scenes(ws, a.scenes, a.images, a.seed) if a.scenes else a.dataset
    if not dataset:
        raise SystemExit("Give --dataset NAME (a set with boxes) or --scenes faces|digits|both.")
    images, truth = truth_by_image(ws, dataset, a.truth)
    if images.empty:
        raise SystemExit(f"{dataset!r} has no boxed images: import or draw boxes first.")
    model = CostModel(accept_iou=a.accept_iou)
    print(f"{dataset}: {len(images)} boxed images, {sum(map(len, truth.values()))} true boxes; draw {model.draw} s, "
          f"verify {model.verify:.2f} s, fix {model.fix:.2f} s, done {model.done:.2f} s per image; "
          f"a suggestion is accepted at IoU >= {model.accept_iou}")
    print(f"{'suggester':58s} {'images':>6s} {'ratio':>6s} {'95% CI':>13s} {'accepted':>8s} {'fixed':>5s} "
          f"{'deleted':>7s} {'drawn':>5s} {'s/image':>7s}")
    for name in [s.strip() for s in a.suggest.split(",") if s.strip()]:
        t0 = time.perf_counter()
        what, offered, only = suggested(ws, dataset, name, images, truth, a.min_score)
        ids = [i for i in truth if only is None or i in only]
        costs = [image_cost(truth[i], offered.get(i, []), model) for i in ids]
        s = summarize(costs, boxes=sum(len(truth[i]) for i in ids), seed=a.seed)
        goal = "meets < 0.4" if s.high < 0.4 else ("< 0.4 not shown" if s.ratio < 0.4 else "")
        print(f"{what[:58]:58s} {s.images:6d} {s.ratio:6.3f} [{s.low:5.3f}, {s.high:5.3f}] {s.accepted:8d} "
              f"{s.reclassed:5d} {s.rejected:7d} {s.drawn:5d} {s.suggested_s / s.images:7.1f}  {goal}"
              f"  ({time.perf_counter() - t0:.0f} s)")
    print(f"{'draw every box (the baseline the ratio is against)':58s} {len(images):6d} {1.0:6.3f}")


if __name__ == "__main__":
    main()
