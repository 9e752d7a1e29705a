"""Detection: mAP against hand-checked values, box outcomes, and a small detector trained on composed scenes end to end
(the task picked from the set, history and curves, evaluation with intervals, one CSV row per box, ONNX parity)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torchvision import tv_tensors
from torchvision.ops import box_iou

from workbench.cli import main as cli
from workbench.data.demo import ensure_scenes
from workbench.data.scenes import SceneSpec
from workbench.detect import errors as E
from workbench.detect.compare import Difference, compare_detectors
from workbench.detect.data import detection_task, read_image, train_transform
from workbench.detect.evaluate import evaluate_detector, load_matches
from workbench.detect.export import export_detector
from workbench.detect.map import detection_metrics, map_interval, paired_difference
from workbench.detect.model import load_detector
from workbench.detect.train import DETECTION_HISTORY_COLUMNS
from workbench.errors import WorkbenchError
from workbench.store import Store
from workbench.train.config import Augment, Detect, RunConfig
from workbench.train.tasks import pick_task, train
from workbench.workspace import Workspace

# Two images of one class. Truth: A holds G1, G2; B holds G3. Predictions, best first: P1 = G1 (IoU 1), P2 where
# nothing is (a false positive), P3 on G3 cut to 62.5% of its height (IoU 0.625); G2 is missed.
TRUTHS = [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "labels": [0, 0]}, {"boxes": [[0, 0, 10, 10]], "labels": [0]}]
PREDS = [{"boxes": [[0, 0, 10, 10], [50, 50, 60, 60]], "scores": [0.9, 0.8], "labels": [0, 0]},
         {"boxes": [[0, 0, 10, 6.25]], "scores": [0.7], "labels": [0]}]


def test_map_equals_the_hand_computed_coco_value():
    """At IoU 0.5 the ranked list is TP, FP, TP of 3 true boxes: precision 1 up to recall 1/3, then 2/3 up to
    recall 2/3. COCO interpolates at 101 recall points: 34 points at 1 (recall 0..0.33) and 33 at 2/3 (0.34..0.66),
    so AP@0.5 = (34 + 33·2/3) / 101 = 56/101. P3 (IoU 0.625) is a hit at IoU 0.5, 0.55, 0.6 and a false positive
    from 0.65 on, where only recall 1/3 is reached at precision 1: AP = 34/101. Over the ten thresholds:
    mAP = (3·56 + 7·34) / 1010 = 406/1010."""
    m = detection_metrics(PREDS, TRUTHS, ["digit", "unused"])
    assert m["map_50"] == pytest.approx(56 / 101, abs=1e-6)
    assert m["map"] == pytest.approx(406 / 1010, abs=1e-6)
    assert (m["n"], m["boxes"]) == (2, 3)
    digit, unused = m["per_class"]
    assert digit == {"class": "digit", "boxes": 3, "ap_50": pytest.approx(56 / 101), "ap": pytest.approx(406 / 1010)}
    assert unused["boxes"] == 0 and np.isnan(unused["ap_50"])
    curve = m["pr"]["digit"]
    assert len(curve["recall"]) == 101 and curve["precision"][:34] == [1.0] * 34
    assert curve["precision"][34:67] == pytest.approx([2 / 3] * 33) and max(curve["precision"][67:]) == 0.0


def test_map_on_a_small_scenes_set_equals_the_hand_computed_value(store):
    """Three composed scenes with two faces each (K = 6 true boxes, one class), read back from the store. Predicted:
    a box where no face is, scored highest, then five of the six faces exactly, the sixth missed. Ranked: FP, TP x 5:
    precision j/(j+1) at recall j/6, so the interpolated precision is 5/6 up to recall 5/6 and 0 beyond. COCO's recall
    points 0, 0.01, ..., 0.83 (84 of 101) get 5/6: AP = 84 · (5/6) / 101 = 70/101 at every IoU threshold (the boxes
    are exact), so mAP@0.5 = mAP@[.5:.95] = 70/101."""
    ensure_scenes(store, spec=SceneSpec(n=3, size=(160, 120), objects="faces", per_image=(2, 2), scale=(20, 30)))
    task = detection_task(store, "scenes", None, seed=0)
    ids = task.images.image_id.tolist()
    truths = task.truths(ids)
    assert [len(t["labels"]) for t in truths] == [2, 2, 2] and task.classes == ["face"]
    preds = [{"boxes": t["boxes"], "scores": torch.tensor([0.9 - 0.1 * (2 * i + k) for k in range(2)]),
              "labels": t["labels"]} for i, t in enumerate(truths)]
    preds[2] = {"boxes": truths[2]["boxes"][:1], "scores": torch.tensor([0.5]), "labels": truths[2]["labels"][:1]}
    preds[0] = {k: torch.cat([torch.as_tensor(v), extra]) for (k, v), extra in zip(
        preds[0].items(), (torch.tensor([[140.0, 100.0, 159.0, 119.0]]), torch.tensor([0.95]), torch.tensor([0])))}
    assert box_iou_max(preds[0]["boxes"][-1:], truths[0]["boxes"]) == 0  # the extra box overlaps no face
    m = detection_metrics(preds, truths, task.classes)
    assert m["map_50"] == pytest.approx(70 / 101, abs=1e-6) and m["map"] == pytest.approx(70 / 101, abs=1e-6)
    assert m["boxes"] == 6


def box_iou_max(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(box_iou(a, b).max())


def test_map_interval_and_paired_difference():
    lo, hi = map_interval(PREDS * 20, TRUTHS * 20, resamples=100)
    assert lo < 56 / 101 < hi and hi - lo < 0.3
    d, dlo, dhi = paired_difference(PREDS * 10, PREDS * 10, TRUTHS * 10, resamples=50)
    assert (d, dlo, dhi) == (0.0, 0.0, 0.0)  # a run against itself: every resample differs by exactly 0
    worse = [{**p, "scores": [0.5, 0.9][: len(p["scores"])]} for p in PREDS]  # the false positive ranked first
    d, dlo, dhi = paired_difference(PREDS * 10, worse * 10, TRUTHS * 10, resamples=50)
    assert d > 0 and dlo <= d <= dhi
    with pytest.raises(ValueError, match="prediction 0: 2 boxes but 1 labels"):
        detection_metrics([{"boxes": [[0, 0, 1, 1], [0, 0, 2, 2]], "scores": [1, 1], "labels": [0]}], TRUTHS[:1])


def test_box_outcomes_name_each_kind_of_error():
    truth = {"boxes": [[0, 0, 10, 10], [20, 20, 40, 40], [60, 60, 70, 70]], "labels": [0, 1, 0]}
    pred = {"boxes": [[0, 0, 10, 10], [21, 21, 40, 40], [100, 100, 110, 110], [0, 0, 9, 9]],
            "scores": [0.9, 0.8, 0.7, 0.1], "labels": [0, 0, 1, 0]}
    rows = pd.DataFrame(E.match_image(7, pred, truth, ["a", "b"], min_score=0.5))
    assert rows[["outcome", "label", "predicted"]].values.tolist() == [
        ["correct", "a", "a"], ["wrong class", "b", "a"], ["false positive", "", "b"], ["missed", "a", ""]]
    assert rows["size"].tolist() == ["small"] * 4 and rows.iloc[3][["x", "y", "w", "h"]].tolist() == [60, 60, 10, 10]
    by_size = E.outcome_counts(rows, by="size")
    counted = by_size.iloc[0][["true boxes", "correct", "missed", "wrong class", "false positive"]]
    assert counted.tolist() == [3, 1, 1, 1, 1]
    assert E.f1_of(rows) == pytest.approx(2 / (2 + 1 + 1 + 2))


def test_augmentation_moves_the_boxes_with_the_pixels():
    """A white square on black, flipped and zoomed: its box is where its pixels went."""
    img = torch.zeros(3, 60, 80, dtype=torch.uint8)
    img[:, 10:30, 5:25] = 255
    boxes = tv_tensors.BoundingBoxes([[5, 10, 25, 30]], format="XYXY", canvas_size=(60, 80))
    torch.manual_seed(1)
    for _ in range(5):
        out, target = train_transform(80, Augment(flip=True, rotation=0, crop_scale=0.6))(
            tv_tensors.Image(img), {"boxes": boxes, "labels": torch.tensor([0])})
        x1, y1, x2, y2 = target["boxes"][0].round().int().tolist()
        ys, xs = torch.nonzero(out[0] > 0.5, as_tuple=True)
        assert abs(xs.min() - x1) <= 1 and abs(xs.max() + 1 - x2) <= 1 and abs(ys.min() - y1) <= 1


# -- a small detector trained on composed scenes, shared by the tests below ------------------------------------------
SPEC = SceneSpec(n=40, size=(160, 120), per_image=(2, 3), scale=(20, 40), seed=0)
CFG = dict(method="finetune", epochs=2, batch_size=8, detect=Detect("fcos", 96),
           augment=Augment(flip=False, rotation=0, crop_scale=0.8), name="det")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("detect_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("WORKBENCH_HOME", str(home))
    mp.chdir(home)
    store = Store()
    ws = Workspace.around(store, home)
    ensure_scenes(store, spec=SPEC)
    result = train(ws, RunConfig("scenes", **CFG))
    yield {"ws": ws, "store": store, "home": home, "result": result}
    store.close()
    mp.undo()


def test_train_picks_detection_and_writes_history_checkpoints_and_curves(trained):
    ws, result = trained["ws"], trained["result"]
    assert result.status == "completed", result.message
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["task"] == "detection" and config["detect"] == {"detector": "fcos", "image_size": 96}
    h = result.history
    assert list(h.columns) == DETECTION_HISTORY_COLUMNS and len(h) == 4
    train_loss = h[h.split == "train"].loss.tolist()
    assert train_loss[1] < train_loss[0]  # it learns
    val = h[h.split == "val"]
    assert val[["loss", "map_50", "map"]].notna().all().all() and (val["map_50"] >= val["map"]).all()
    assert result.best_epoch == int(val.loc[val.map_50.idxmax(), "epoch"])
    assert {"best.pt", "last.pt", "dataset.json", "summary.json"} <= {p.name for p in result.run_dir.iterdir()}
    assert (ws.plot_folder("det") / "curves.png").is_file()
    info = json.loads((result.run_dir / "dataset.json").read_text())
    assert info["task"] == "detection" and info["classes"] == SPEC.classes and info["split_seed"] == 0
    assert {i["split"] for i in info["images"]} == {"train", "val", "test"} and len(info["images"]) == 40
    # TensorBoard reads the detection metrics per epoch (the run's settings, the detector's included, as hparams)
    assert "tracking failed" not in result.message
    acc = EventAccumulator(str(result.run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    assert [e.step for e in acc.Scalars("val/map_50")] == [1, 2]
    assert acc.Scalars("val/map_50")[-1].value == pytest.approx(val.map_50.iloc[-1], abs=1e-6)


def test_the_split_is_seeded_sticky_and_stratified_by_each_images_main_class(trained):
    store = trained["store"]
    task = detection_task(store, "scenes", None, seed=0)
    again = detection_task(store, "scenes", None, seed=0)
    assert task.images.split.tolist() == again.images.split.tolist()
    assert task.images.split.value_counts().to_dict().keys() == {"train", "val", "test"}
    other = detection_task(store, "scenes", None, seed=1)
    assert other.images.split.tolist() != task.images.split.tolist()


def test_evaluation_has_intervals_per_class_ap_and_box_outcomes(trained):
    ws = trained["ws"]
    ev = evaluate_detector(ws.run("det"), resamples=30)
    recorded = json.loads((ws.run_folder("det") / "dataset.json").read_text())["images"]
    assert ev.n == sum(i["split"] == "test" for i in recorded) > 0 and ev.boxes > 0
    assert 0 <= ev.metrics["map"] <= ev.metrics["map_50"] <= 1
    for key in ("map_50", "map"):
        lo, hi = ev.intervals[key]
        assert lo <= ev.metrics[key] + 1e-9 and ev.metrics[key] <= hi + 1e-9
    assert [r["class"] for r in ev.per_class] == SPEC.classes
    matched = load_matches(ws.run("det"))
    truths = sum(ev.outcomes[k] for k in (E.CORRECT, E.MISSED, E.WRONG_CLASS))
    assert truths == ev.boxes and len(matched) == sum(ev.outcomes.values())
    assert set(matched.label.dropna()) <= set(SPEC.classes) | {""}
    saved = json.loads((ws.run_folder("det") / "detection_test.json").read_text())
    assert saved["metrics"]["map_50"] == pytest.approx(ev.metrics["map_50"])
    assert (ws.plot_folder("det") / "pr_test.png").is_file()


def test_cli_evaluate_predict_and_export(trained, capsys):
    home, ws = trained["home"], trained["ws"]
    assert cli(["evaluate", "det", "--by", "size"]) == 0
    out = capsys.readouterr().out
    assert "mAP@0.5" in out and "95% CI" in out and "Boxes by size" in out
    images = sorted((home / "datasets" / "scenes" / "composed" / "images").glob("*.png"))[:3]
    bad = home / "broken.png"
    bad.write_bytes(b"not an image")
    assert cli(["predict", "det", *map(str, images), str(bad), "--out", str(home / "boxes.csv"), "--min-score", "0",
                "--draw", str(home / "drawn")]) == 0
    table = pd.read_csv(home / "boxes.csv", dtype={"label": str}, keep_default_na=False)
    assert list(table.columns) == ["file", "box", "label", "score", "x", "y", "w", "h", "error"]
    found = table[table.error == ""]
    assert set(found.file) == {str(p) for p in images} and (found.label != "").any()
    assert table[table.file == str(bad)].error.str.contains("not an image file").all()
    assert len(list((home / "drawn").glob("*.png"))) == 3
    assert cli(["predict", "det", str(images[0]), "--threshold", "0.5"]) == 2
    assert "--threshold is for binary classifiers" in capsys.readouterr().err


def test_onnx_export_matches_pytorch_and_runs_without_workbench(trained, tmp_path):
    ws, home = trained["ws"], trained["home"]
    result = export_detector(ws.run("det"), tmp_path / "onnx")
    assert result.max_box_diff <= 1e-2 and result.max_score_diff <= 1e-4
    card = json.loads(result.card_file.read_text())
    assert card["task"] == "detection" and card["classes"] == SPEC.classes and card["input"]["size"] == 96
    image = sorted((home / "datasets" / "scenes" / "composed" / "images").glob("*.png"))[0]
    script = tmp_path / "onnx" / "predict_onnx_boxes.py"
    run = subprocess.run([sys.executable, "-I", str(script), str(image), "--min-score", "0.05"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    loaded = load_detector(ws.run_folder("det"), device="cpu")
    eager = loaded.detect([read_image(str(image)).as_subclass(torch.Tensor)])[0]
    keep = eager["scores"] >= 0.05
    assert len(rows) == int(keep.sum())  # the script's boxes are the model's, in the photo's own pixels
    if rows:
        x1 = float(rows[0]["x"])
        assert abs(x1 - float(eager["boxes"][keep][0, 0])) < 1.5


def test_compare_table_has_intervals_and_paired_differences(trained, capsys):
    ws = trained["ws"]
    evaluate_detector(ws.run("det"), resamples=20)
    table = compare_detectors([ws.run("det")] * 2, resamples=20)
    assert list(table.run) == ["det", "det"]
    assert table.iloc[1]["Δ mAP@0.5 vs det"].startswith("+0.000 [+0.000, +0.000]")
    assert table.iloc[0]["mAP@0.5 95% CI"].startswith("[")
    assert cli(["evaluate", "det", "--compare", "det"]) == 0
    assert "paired" in capsys.readouterr().out


def test_bad_requests_are_refused_with_a_message(trained, capsys):
    ws, store = trained["ws"], trained["store"]
    assert pick_task(store, RunConfig("scenes")) == "detection"
    with pytest.raises(WorkbenchError, match="A run named 'det' exists already"):
        train(ws, RunConfig("scenes", **CFG))
    store.create_dataset("no-boxes", classes=["a", "b"])
    with pytest.raises(WorkbenchError, match="Detection needs at least one box class"):
        train(ws, RunConfig("no-boxes", task="detection", name="x"))
    assert cli(["export-model", "det", "--format", "torchscript"]) == 2
    assert "exports as onnx only" in capsys.readouterr().err
    assert cli(["evaluate", "det", "--by", "confusion"]) == 2
    assert "--by confusion is for classification runs" in capsys.readouterr().err
    image = str(sorted((trained["home"] / "datasets" / "scenes").rglob("*.png"))[0])
    assert cli(["predict", "det", image, "--crop", "faces"]) == 2
    assert "is a detector" in capsys.readouterr().err


def test_a_difference_says_which_run_is_better_only_when_its_interval_excludes_zero():
    assert Difference("b", "a", "mAP@0.5", 0.05, 0.01, 0.09).says() == \
        "b scores higher than a on mAP@0.5: +0.050 [+0.010, +0.090]."
    assert Difference("b", "a", "mAP@0.5", -0.05, -0.09, -0.01).says().startswith("b scores lower than a")
    assert "do not differ clearly" in Difference("b", "a", "COCO mAP", 0.02, -0.01, 0.05).says()
    assert "no verdict" in Difference("b", "a", "COCO mAP", 0.0, float("nan"), float("nan")).says()
