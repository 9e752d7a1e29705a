"""Suggested boxes from a trained detector: once a detection run of the set exists, the Boxes mode suggests its boxes
at or above the threshold (instead of the Haar cascades), and an accepted one keeps its provenance and score."""

from __future__ import annotations

import pytest

pytest.importorskip("workbench.detect.model")  # the detectors (issue 23's training half)

from workbench.data.demo import ensure_scenes  # noqa: E402
from workbench.data.scenes import SceneSpec  # noqa: E402
import gradio as gr  # noqa: E402

from workbench.detect.evaluate import evaluate_detector  # noqa: E402
from workbench.labeling.box_suggest import MIN_SCORE, detection_runs, operating_score, pick_suggester  # noqa: E402
from workbench.labeling.boxes import apply, open_boxes, screen  # noqa: E402
from workbench.train.config import Augment, Detect, RunConfig  # noqa: E402
from workbench.train.tasks import train  # noqa: E402
from workbench.ui import label_boxes  # noqa: E402
from workbench.ui.label_boxes import BoxTab, on_boxes_dataset  # noqa: E402
from workbench.workspace import Workspace  # noqa: E402

pytestmark = pytest.mark.slow


def test_a_trained_detector_suggests_boxes_above_its_threshold_and_accepted_ones_keep_provenance(store, home):
    ensure_scenes(store, spec=SceneSpec(n=24, size=(160, 120), per_image=(2, 3), scale=(20, 40), seed=0))
    ws = Workspace.around(store, home)
    classes = store.box_classes("scenes")
    assert pick_suggester(ws, "scenes") is None  # digit classes: no cascade fits, and no detector yet
    result = train(ws, RunConfig("scenes", method="finetune", epochs=1, batch_size=8, detect=Detect("fcos", 96),
                                 augment=Augment(flip=False, rotation=0, crop_scale=0.8), name="det"))
    assert result.status == "completed", result.message
    assert detection_runs(ws, "scenes") == ["det"]
    every = pick_suggester(ws, "scenes", min_score=0.0)
    assert every.name.startswith("detector run det")
    image = store.image(int(store.images("scenes").image_id[0]))
    found = every.suggest(image, classes)
    assert found, "the detector's floor keeps some boxes"
    for b in found:
        assert b["label"] in classes and 0 <= b["x"] and b["x"] + b["w"] <= image["width"] + 1e-3
        assert 0 <= b["y"] and b["y"] + b["h"] <= image["height"] + 1e-3
    top = sorted(b["confidence"] for b in found)[len(found) // 2]
    above = pick_suggester(ws, "scenes", min_score=top).suggest(image, classes)
    assert 0 < len(above) < len(found) and all(b["confidence"] >= top for b in above)

    s = open_boxes(store, "scenes", "ann", image_id=image["id"])
    shown = screen(store, s, every.suggest)["suggestions"]
    assert store.boxes("scenes", annotator="ann").empty  # never recorded by themselves
    apply(store, s, {"op": "accept", "index": 0}, every.suggest)
    got = store.boxes("scenes", annotator="ann")
    assert got.how.tolist() == ["accepted"] and got.confidence[0] == pytest.approx(shown[0]["confidence"])

    # the score floor starts where the run's evaluation put it on val, once there is one
    score, why = operating_score(ws, "scenes")
    assert score == MIN_SCORE and "workbench evaluate det" in why
    ev = evaluate_detector(ws.run("det"))
    score, why = operating_score(ws, "scenes")
    assert score == pytest.approx(ev.score_threshold) and "run det" in why and "val" in why
    with gr.Blocks():
        tab = BoxTab(ws, label_boxes.layout())
    slider = on_boxes_dataset(tab, "scenes")[tab.ui.min_score]
    assert slider.value == pytest.approx(ev.score_threshold) and "val" in slider.info
