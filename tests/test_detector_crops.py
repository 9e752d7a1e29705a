"""A detection run trained in Workbench as the crop step (`--crop run:NAME`) of video files, photos and the live
camera: the classifier looks at the boxes the detector finds, as it does at the Haar cascades' faces.

A tiny FCOS is trained for one epoch on composed scenes (LFW faces pasted onto scikit-image photos, exact boxes);
its boxes are taken at a score floor of 0 so that an untrained-looking detector still gives some."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

pytest.importorskip("workbench.detect.model")  # the detectors (issue 23's training half)

from faces_run import faces_run  # noqa: E402
from workbench.cli import main  # noqa: E402
from workbench.data.demo import ensure_scenes  # noqa: E402
from workbench.data.importers.crops import Box  # noqa: E402
from workbench.data.scenes import SceneSpec  # noqa: E402
from workbench.errors import WorkbenchError  # noqa: E402
from workbench.predict.crop_steps import crop_step  # noqa: E402
from workbench.predict.detector_crops import DetectorCrops  # noqa: E402
from workbench.predict.live import LiveSettings, LiveStream  # noqa: E402
from workbench.train.config import Augment, Detect, RunConfig  # noqa: E402
from workbench.train.predict import predict  # noqa: E402
from workbench.train.runs import load_run  # noqa: E402
from workbench.train.tasks import train  # noqa: E402
from workbench.workspace import Workspace  # noqa: E402

pytestmark = pytest.mark.slow
CLASSIFIER, DETECTOR = "faces-clf", "face-det"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A face classifier and a face detector in one home, and three scene photos written as PNG files."""
    home = tmp_path_factory.mktemp("detector_crops_home")
    with faces_run(home, CLASSIFIER) as store:
        ws = Workspace.around(store, home)
        ensure_scenes(store, spec=SceneSpec(n=24, size=(160, 120), objects="faces", per_image=(1, 2),
                                            scale=(36, 56), seed=0))
        done = train(ws, RunConfig("scenes", method="finetune", epochs=1, batch_size=8, detect=Detect("fcos", 96),
                                   augment=Augment(flip=False, rotation=0, crop_scale=0.8), name=DETECTOR))
        assert done.status == "completed", done.message
        scenes = [np.asarray(Image.open(p).convert("RGB")) for p in store.images("scenes").path[:3]]
        yield {"home": home, "ws": ws, "scenes": scenes, "loaded": load_run(ws.run(CLASSIFIER))}


def expected_boxes(step: DetectorCrops, frame: np.ndarray) -> list[Box]:
    """The detector's own boxes on `frame` at the step's floor, rounded into the frame, top to bottom."""
    found = step.detector.detect([torch.from_numpy(frame.copy()).permute(2, 0, 1)])[0]
    out = []
    for (x1, y1, x2, y2), s in zip(found["boxes"].tolist(), found["scores"].tolist()):
        x1, y1 = max(0, round(x1)), max(0, round(y1))
        x2, y2 = min(frame.shape[1], round(x2)), min(frame.shape[0], round(y2))
        if s >= step.min_score and x2 > x1 and y2 > y1:
            out.append(Box(x1, y1, x2 - x1, y2 - y1))
    return sorted(out, key=lambda b: (b.y, b.x))


def test_a_detection_run_is_a_crop_step_loaded_once(runs):
    ws, frame = runs["ws"], runs["scenes"][0]
    step = crop_step(f"run:{DETECTOR}", ws=ws, min_score=0.0)
    assert isinstance(step, DetectorCrops) and step.name == f"run:{DETECTOR}"
    boxes = step.boxes(frame)
    assert boxes and boxes == expected_boxes(step, frame)
    assert all(0 <= b.x and b.x + b.w <= frame.shape[1] and 0 <= b.y and b.y + b.h <= frame.shape[0] for b in boxes)
    assert crop_step(f"run:{DETECTOR}", ws=ws).detector is step.detector  # kept: a live stream asks every frame
    assert len(crop_step(f"run:{DETECTOR}", ws=ws, min_score=1.01).boxes(frame)) == 0  # the floor applies

    with pytest.raises(WorkbenchError, match=f"'{CLASSIFIER}' is a classifier; a crop step takes a detection run: "
                                             f"run:{DETECTOR}"):
        crop_step(f"run:{CLASSIFIER}", ws=ws)
    with pytest.raises(WorkbenchError, match="No run named 'nope'"):
        crop_step("run:nope", ws=ws)


def test_video_and_photos_are_classified_in_the_detectors_boxes(runs, capsys):
    home, ws, loaded, scenes = runs["home"], runs["ws"], runs["loaded"], runs["scenes"]
    step = crop_step(f"run:{DETECTOR}", ws=ws, min_score=0.0)
    photos = home / "scene-photos"
    photos.mkdir()
    for i, s in enumerate(scenes):
        Image.fromarray(s).save(photos / f"scene{i}.png")
    out = home / "scene-crops.csv"
    assert main(["predict", CLASSIFIER, str(photos), "--crop", f"run:{DETECTOR}", "--min-score", "0",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    df = pd.read_csv(out)
    for i, s in enumerate(scenes):
        rows = df[df.file == str(photos / f"scene{i}.png")]
        boxes = expected_boxes(step, s)
        assert [Box(*r) for r in rows[["x", "y", "w", "h"]].itertuples(index=False)] == boxes
        crops = [Image.fromarray(s[b.y:b.y + b.h, b.x:b.x + b.w]) for b in boxes]
        if crops:
            np.testing.assert_allclose(rows[["p_face", "p_not face"]].to_numpy(), predict(loaded, crops), atol=1e-5)
    assert df["class"].notna().any()

    clip = home / "scenes.avi"  # the scenes as the frames of a 5 frames/s MJPG video
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 5, (scenes[0].shape[1], scenes[0].shape[0]))
    for s in scenes:
        writer.write(cv2.cvtColor(s, cv2.COLOR_RGB2BGR))
    writer.release()
    out = home / "scene-video.csv"
    assert main(["predict", CLASSIFIER, str(clip), "--crop", f"run:{DETECTOR}", "--min-score", "0",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    df = pd.read_csv(out)
    assert sorted(df.frame.unique()) == [0, 1, 2] and df["class"].notna().any()


def test_the_live_camera_crops_with_a_detector_and_keeps_its_boxes_between_searches(runs):
    ws, loaded, scenes = runs["ws"], runs["loaded"], runs["scenes"]
    settings = LiveSettings(CLASSIFIER, f"run:{DETECTOR}", 320, detect_every=3, min_score=0.0)
    stream = LiveStream.start(settings, loaded, now=0.0)
    frames = [scenes[0]] * 2 + [scenes[1]] * 2
    handled = [stream.step(stream.classifier(loaded), f, now=0.1 * i) for i, f in enumerate(frames)]
    step = stream.classifier(loaded).crop
    assert handled[0].detections and [d.box for d in handled[0].detections] == expected_boxes(step, scenes[0])
    assert [d.box for d in handled[2].detections] == [d.box for d in handled[0].detections]  # kept, not searched
    assert [d.box for d in handled[3].detections] == expected_boxes(step, scenes[1])  # the 4th frame: searched


def test_a_classifier_as_crop_step_is_refused_by_the_cli(runs, capsys):
    home = runs["home"]
    Image.fromarray(runs["scenes"][0]).save(home / "one.png")
    assert main(["predict", CLASSIFIER, str(home / "one.png"), "--crop", f"run:{CLASSIFIER}",
                 "--out", str(home / "refused.csv")]) == 2
    assert f"'{CLASSIFIER}' is a classifier; a crop step takes a detection run" in capsys.readouterr().err
    assert not (home / "refused.csv").exists()


def test_the_camera_tab_offers_detection_runs_as_crop_steps(runs):
    from workbench.ui.camera_panel import crop_choices

    offered = [c[0] if isinstance(c, tuple) else c for c in crop_choices(runs["ws"]).choices]
    assert offered == ["faces", "eyes", "none", f"run:{DETECTOR}"]  # the classifier is no crop step
