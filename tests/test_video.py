"""Videos and camera frames through a crop step and a run (workbench.predict.video, .live, .events): one row per
sampled frame and crop, events by a rule with a snapshot each, a clear message for each kind of bad video file.

The clips are made from real photos (tests/clips.py): skimage's astronaut (one face the Haar cascade finds), an
LFW face scaled up, and skimage's coffee photo (no face)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from clips import panning, photo, write_video
from faces_run import RUN
from workbench.cli import main
from workbench.data.importers.crops import Box, detect_faces
from workbench.errors import WorkbenchError
from workbench.predict import frames as frames_mod
from workbench.predict.crop_steps import BoxTracker, HaarCrops, crop_step
from workbench.predict.events import EventLog, EventRule, EventWatcher
from workbench.predict.frames import FRAME_THREADS, PALETTE, Detection, FrameClassifier, annotate
from workbench.predict.live import LiveSettings, LiveStream
from workbench.predict.video import open_video
from workbench.train.predict import predict
from workbench.train.runs import load_run

# 10 frames/s: a face for 0.6 s, none for 0.4 s, an LFW face for 0.5 s, the astronaut again for 0.3 s
SCRIPT = [("astronaut", 6), ("coffee", 4), ("lfw0", 5), ("astronaut", 3)]


@pytest.fixture(scope="module")
def trained(faces_run_home):
    """A faces run (face / not face) in its own home, a short clip made from real photos, the loaded run."""
    home, ws = faces_run_home.home, faces_run_home.ws
    clip = write_video(home / "clip.mp4", SCRIPT)
    return {"home": home, "ws": ws, "clip": clip, "loaded": load_run(ws.run(RUN))}


def decoded_frames(path) -> list[np.ndarray]:
    """Every frame of a video as OpenCV decodes it (RGB)."""
    import cv2

    cap, _ = open_video(path)
    out = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            return out
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def iou(a: Box, b: Box) -> float:
    w = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    h = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return w * h / (a.w * a.h + b.w * b.h - w * h)


def test_video_cli_writes_a_row_per_frame_and_crop_and_logs_events(trained, capsys):
    home, clip, loaded = trained["home"], trained["clip"], trained["loaded"]
    out, events = home / "out" / "detections.csv", home / "out" / "events"
    code = main(["predict", RUN, str(clip), "--crop", "faces", "--detect-width", "320", "--out", str(out),
                 "--event", "face", "--min-confidence", "0.5", "--frames", "3", "--events", str(events)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    df = pd.read_csv(out)
    assert list(df.columns[:10]) == ["video", "time_s", "frame", "crop", "x", "y", "w", "h", "class", "confidence"]
    assert sorted(df.frame.unique()) == list(range(18))  # every frame sampled (--every 1)
    np.testing.assert_allclose(df.groupby("frame").time_s.first(), np.arange(18) / 10, atol=1e-3)  # 10 frames/s
    coffee = df[df.frame.between(6, 9)]
    assert len(coffee) == 4 and coffee["class"].isna().all()  # no face: one row per frame, without a box

    # each row is the run's decision on the box Haar finds in that decoded frame, probabilities as predict() gives
    frames = decoded_frames(clip)
    for f in (0, 11):
        rows = df[df.frame == f].sort_values("crop")
        boxes = HaarCrops("faces", detect_width=320).boxes(frames[f])
        assert [Box(*r) for r in rows[["x", "y", "w", "h"]].itertuples(index=False)] == boxes
        crops = [Image.fromarray(frames[f][b.y:b.y + b.h, b.x:b.x + b.w]) for b in boxes]
        np.testing.assert_allclose(rows[["p_face", "p_not face"]].to_numpy(), predict(loaded, crops), atol=1e-5)
    # the astronaut's face is where the cascade finds it on the photo itself, and the run calls it a face
    truth = detect_faces(np.asarray(Image.fromarray(photo("astronaut")).convert("L")))[0]
    first = df[(df.frame == 0) & (df["class"] == "face")]
    assert max(iou(Box(*r), truth) for r in first[["x", "y", "w", "h"]].itertuples(index=False)) > 0.8

    # events: a face at >= 0.5 for 3 frames in a row, once per sighting, at the frame that completes the streak
    faces_at = sorted(set(df.frame[(df["class"] == "face") & (df.confidence >= 0.5)]))
    streaks = [f for f in faces_at if {f - 1, f - 2} <= set(faces_at) and f - 3 not in faces_at]
    log = pd.read_csv(events / "events.csv")
    assert list(log.frame) == streaks and len(streaks) >= 2  # the astronaut, then the LFW face after the coffee
    np.testing.assert_allclose(log.time_s, np.array(streaks) / 10, atol=1e-3)
    for row in log.itertuples():
        snap = np.asarray(Image.open(events / row.snapshot))
        assert snap.shape == (480, 640, 3)
        # the snapshot is the frame with the event's box drawn in the class's colour
        edge = snap[row.y + row.h // 2, row.x]
        assert np.abs(edge.astype(int) - PALETTE[0]).max() < 40
    assert f"{len(streaks)} events" in captured.out and str(events) in captured.out


def test_photos_with_a_crop_step_get_a_row_per_face_found(trained, capsys):
    home, loaded = trained["home"], trained["loaded"]
    photos = home / "photos"
    photos.mkdir()
    for name in ("astronaut", "lfw5", "coffee"):
        Image.fromarray(photo(name)).save(photos / f"{name}.png")
    (photos / "broken.png").write_bytes(b"not a png")
    out = home / "photo-crops.csv"
    code = main(["predict", RUN, str(photos), "--crop", "faces", "--detect-width", "320", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    df = pd.read_csv(out)
    assert list(df.columns[:9]) == ["file", "crop", "x", "y", "w", "h", "class", "confidence", "p_face"]
    for name in ("astronaut", "lfw5"):
        rows = df[df.file == str(photos / f"{name}.png")]
        boxes = HaarCrops("faces", detect_width=320).boxes(photo(name))
        assert [Box(*r) for r in rows[["x", "y", "w", "h"]].itertuples(index=False)] == boxes and boxes
        crops = [Image.fromarray(photo(name)[b.y:b.y + b.h, b.x:b.x + b.w]) for b in boxes]
        np.testing.assert_allclose(rows[["p_face", "p_not face"]].to_numpy(), predict(loaded, crops), atol=1e-5)
    coffee = df[df.file == str(photos / "coffee.png")]
    assert len(coffee) == 1 and coffee["class"].isna().all()  # no face: one row without a box
    broken = df[df.file == str(photos / "broken.png")]
    assert len(broken) == 1 and broken.error.notna().all()
    assert "3 photos" in captured.out and "1 with no crop found" in captured.out
    assert "1 could not be read" in captured.out
    assert "broken.png" in captured.err


def test_every_nth_frame(trained):
    home, clip = trained["home"], trained["clip"]
    out = home / "every.csv"
    assert main(["predict", RUN, str(clip), "--every", "4", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert sorted(df.frame.unique()) == [0, 4, 8, 12, 16]
    assert (df[["x", "y", "w", "h"]].to_numpy() == [0, 0, 640, 480]).all()  # --crop none: the whole frame
    np.testing.assert_allclose(df.groupby("frame").time_s.first(), [0.0, 0.4, 0.8, 1.2, 1.6], atol=1e-3)


def _bad_videos(home):
    """(file name, how to make it, what the message says): one per kind of bad video file."""
    import cv2

    from clips import SIZE

    def empty_writer(name, fourcc):
        w = cv2.VideoWriter(str(home / name), cv2.VideoWriter_fourcc(*fourcc), 10, SIZE)
        w.release()

    def cut(name, fourcc):
        write_video(home / f"whole-{name}", SCRIPT, fourcc=fourcc)
        data = (home / f"whole-{name}").read_bytes()
        (home / name).write_bytes(data[:len(data) // 2])

    def codec(name):
        data = write_video(home / "mjpg.avi", SCRIPT[:1], fourcc="MJPG").read_bytes()
        (home / name).write_bytes(data.replace(b"MJPG", b"QQQQ"))  # a codec no decoder knows

    return {
        "missing.mp4": (lambda: None, "no such file"),
        "empty.mp4": (lambda: (home / "empty.mp4").write_bytes(b""), r"empty file \(0 bytes\)"),
        "notes.mp4": (lambda: (home / "notes.mp4").write_text("not a video at all"), "not a video file"),
        "photo.mp4": (lambda: Image.fromarray(photo("astronaut")).save(home / "photo.mp4", "PNG"),
                      "a PNG image, not a video"),
        "cut.mp4": (lambda: cut("cut.mp4", "mp4v"), r"without its index \(moov box\): cut off"),
        "noframes.avi": (lambda: empty_writer("noframes.avi", "MJPG"), "holds no frames"),
        "noframes.mp4": (lambda: empty_writer("noframes.mp4", "mp4v"), "holding no frames"),
        "codec.avi": (lambda: codec("codec.avi"), "video codec 'QQQQ' OpenCV cannot decode"),
    }


@pytest.mark.parametrize("name", list(_bad_videos(None)))
def test_bad_video_files_are_refused_with_their_reason(trained, capsys, name):
    home = trained["home"]
    make, says = _bad_videos(home)[name]
    make()
    out = home / f"{name}.csv"
    assert main(["predict", RUN, str(home / name), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{home / name}: " in err
    assert re.search(says, err), err
    assert not out.exists()  # nothing half-written


def test_a_cut_off_video_keeps_the_frames_read_and_says_so(trained, capsys):
    home = trained["home"]
    whole = write_video(home / "long.avi", SCRIPT, fourcc="MJPG")
    data = whole.read_bytes()
    (home / "cut.avi").write_bytes(data[:len(data) * 2 // 3])
    out = home / "cut.csv"
    assert main(["predict", RUN, str(home / "cut.avi"), "--every", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "cut.avi looks cut off: its header declares 18 frames but only" in err
    df = pd.read_csv(out)
    assert 3 <= df.frame.max() + 1 < 18 and df.frame.min() == 0 and (df.frame % 2 == 0).all()


def test_one_bad_video_among_good_ones_is_listed_and_the_rest_predicted(trained, capsys):
    home, clip = trained["home"], trained["clip"]
    out = home / "two.csv"
    assert main(["predict", RUN, str(clip), str(home / "gone.mp4"), "--every", "6", "--out", str(out)]) == 0
    assert f"could not read {home / 'gone.mp4'}: no such file" in capsys.readouterr().err
    df = pd.read_csv(out)
    assert set(df.video) == {str(clip), str(home / "gone.mp4")}
    assert df.set_index("video").loc[str(home / "gone.mp4"), "error"] == "no such file"
    assert len(df[df.video == str(clip)]) == 3  # --crop none: the whole frame is one crop, frames 0, 6, 12


@pytest.mark.parametrize("args, says", [
    (["{clip}", "{home}/photo.png"], "images or videos, not both"),
    (["{home}/photo.png", "--every", "2"], "--every is for video files"),
    (["{home}/photo.png", "--event", "face"], "--event is for video files"),
    (["{clip}", "--event", "no_mask"], "names class 'no_mask'; the run's classes are 'face', 'not face'"),
    (["{clip}", "--every", "0"], "--every must be at least 1"),
    (["{clip}", "--event", "face", "--frames", "0"], "--frames must be at least 1"),
    (["{clip}", "--detect-width", "10", "--crop", "faces"], "detection width must be between 64"),
])
def test_bad_video_options_are_refused(trained, capsys, args, says):
    home = trained["home"]
    Image.fromarray(photo("coffee")).save(home / "photo.png")
    argv = [a.format(clip=trained["clip"], home=home) for a in args]
    assert main(["predict", RUN, *argv, "--out", str(home / "refused.csv")]) == 2
    assert says in capsys.readouterr().err
    assert not (home / "refused.csv").exists()


# -- events, frame by frame --------------------------------------------------------------------------------
def _det(label: str, confidence: float) -> Detection:
    return Detection(Box(0, 0, 10, 10), label, ["ok", "no_mask"].index(label), confidence, ())


def test_watcher_fires_once_per_streak_and_again_after_a_break():
    w = EventWatcher(EventRule("no_mask", 0.8, 3))
    seen = [[_det("no_mask", 0.9)], [_det("ok", 0.99), _det("no_mask", 0.85)], [_det("no_mask", 0.95)],
            [_det("no_mask", 0.99)], [_det("no_mask", 0.79)], [_det("no_mask", 0.8)], [], [_det("no_mask", 0.9)],
            [_det("no_mask", 0.9)], [_det("no_mask", 0.9)]]
    fired = [i for i, frame in enumerate(seen) if w.update(frame) is not None]
    assert fired == [2, 9]  # the 4th no_mask frame in a row fires nothing; 0.79 breaks the streak, 0.8 meets it
    assert EventRule("no_mask", 0.8, 1).match([_det("no_mask", 0.81), _det("no_mask", 0.97)]).confidence == 0.97


def test_rule_checks_its_class_and_numbers():
    with pytest.raises(WorkbenchError, match="the run's classes are 'ok', 'no_mask'"):
        EventRule("mask").check(["ok", "no_mask"])
    with pytest.raises(WorkbenchError, match="between 0 and 1"):
        EventRule("ok", 1.5).check(["ok", "no_mask"])
    with pytest.raises(WorkbenchError, match="whole number >= 1"):
        EventRule("ok", 0.5, 0).check(["ok", "no_mask"])
    with pytest.raises(WorkbenchError, match="Unknown crop step 'mouths'; choose one of: none, faces, eyes"):
        crop_step("mouths")


def test_event_log_writes_each_event_as_it_happens(tmp_path):
    log = EventLog(tmp_path / "ev", EventRule("no_mask", 0.8, 2))
    frame = photo("coffee")
    log.record(_det("no_mask", 0.9), frame, 1.25, 12)
    first = pd.read_csv(tmp_path / "ev" / "events.csv")  # on disk before the next event
    assert first[["event", "time_s", "frame", "class", "confidence"]].values.tolist() == [[1, 1.25, 12, "no_mask", 0.9]]
    log.record(_det("no_mask", 0.95), frame, 3.5, 30)
    assert list(log.latest().event) == [2, 1]
    assert [p.name for p in log.snapshot_paths()] == ["event-0002-t000003.50s.png", "event-0001-t000001.25s.png"]
    assert np.array_equal(np.asarray(Image.open(log.snapshot_paths()[0])), frame)


def test_annotate_draws_boxes_and_keeps_the_frame():
    frame = photo("coffee")
    shown = annotate(frame, [Detection(Box(100, 120, 80, 60), "no_mask", 1, 0.93, ())], ["1 crop"])
    assert shown.shape == frame.shape and not np.array_equal(shown, frame)
    assert tuple(shown[150, 100]) == PALETTE[1]  # the box's left edge, in class 1's colour
    assert np.array_equal(shown[200:300, 300:600], frame[200:300, 300:600])  # away from boxes and text: untouched
    assert np.array_equal(frame, photo("coffee"))  # the input is not drawn on


def test_live_stream_counts_measures_and_logs_events(trained):
    loaded = trained["loaded"]
    settings = LiveSettings(RUN, "faces", 320, EventRule("face", 0.5, 2), detect_every=1)  # every frame searched
    stream = LiveStream.start(settings, loaded, now=0.0)
    frames = [photo(n) for n in ("astronaut", "astronaut", "astronaut", "coffee", "astronaut", "astronaut")]
    handled = [stream.step(stream.classifier(loaded), f, now=0.1 * i) for i, f in enumerate(frames)]
    assert [h.event is not None for h in handled] == [False, True, False, False, False, True]
    assert handled[3].detections == [] and np.array_equal(handled[3].image[:400], frames[3][:400])
    assert any(d.label == "face" for d in handled[0].detections)
    assert not np.array_equal(handled[0].image, frames[0])
    assert stream.fps() == pytest.approx(10.0)
    assert handled[-1].status.startswith("frame 6 · ") and "10.0 frames/s" in handled[-1].status
    assert "2 events (class 'face' with confidence >= 0.50 for 2 frames in a row)" in handled[-1].status
    log = pd.read_csv(stream.log.folder / "events.csv")
    assert list(log.frame) == [2, 6] and stream.log.folder.parent == loaded.run_dir / "events"
    # the stream is small state a browser session keeps between frames: the model is passed in, not held
    assert isinstance(stream.classifier(loaded), FrameClassifier)
    assert not any(isinstance(v, (torch.nn.Module, type(loaded))) for v in vars(stream).values())


class Counted:
    """A crop step that counts its whole-frame searches (and passes refind through unless told not to)."""

    def __init__(self, step, refinds: bool = True):
        self.step, self.name, self.searched = step, step.name, []
        if refinds:
            self.refind = step.refind

    def boxes(self, frame):
        self.searched.append(frame)
        return self.step.boxes(frame)


def test_tracker_searches_whole_frames_every_n_and_follows_faces_between():
    moving = panning([("lfw0", 7)], 6)  # a face sliding 6 px a frame
    step = Counted(crop_step("faces", detect_width=320))
    tracker = BoxTracker(every=3)
    tracked = [tracker.boxes(step, f) for f in moving]
    assert [any(s is f for s in step.searched) for f in moving] == [True, False, False, True, False, False, True]
    whole = [crop_step("faces", detect_width=320).boxes(f) for f in moving]
    assert all(len(t) == len(w) == 1 and iou(t[0], w[0]) > 0.6 for t, w in zip(tracked, whole))
    centre = [b[0].x + b[0].w / 2 for b in tracked]
    assert centre[2] - centre[0] >= 6  # followed the face, not kept where it was first found
    assert all(t[0] == w[0] for t, w in zip(tracked[::3], whole[::3]))


def test_tracker_searches_again_after_a_lost_face_and_keeps_boxes_of_steps_without_refind():
    scene = [photo(n) for n in ("lfw0", "coffee", "coffee", "lfw0", "lfw0", "lfw0")]
    step = Counted(crop_step("faces", detect_width=320))
    tracker = BoxTracker(every=3)
    found = [tracker.boxes(step, f) for f in scene]
    # the face is gone in frame 1: frame 2 is searched whole (nothing), the face back in frame 3 waits for frame 5
    assert [[s is f for f in scene].index(True) for s in step.searched] == [0, 2, 5]
    assert [len(b) for b in found] == [1, 0, 0, 0, 0, 1]
    keeps = Counted(crop_step("faces", detect_width=320), refinds=False)
    tracker = BoxTracker(every=3)
    kept = [tracker.boxes(keeps, f) for f in (scene[0], scene[1], scene[2][:100, :100])]
    assert kept[1] == kept[0] and len(keeps.searched) == 1  # a step with no refind: its boxes kept between
    assert all(b.x + b.w <= 100 and b.y + b.h <= 100 for b in kept[2])  # and kept inside a smaller frame


def test_frames_are_classified_on_one_torch_thread(trained, monkeypatch):
    seen = []

    def predict_counting(*a, **k):
        seen.append(torch.get_num_threads())
        return predict(*a, **k)

    monkeypatch.setattr(frames_mod, "predict", predict_counting)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        found = FrameClassifier(trained["loaded"], HaarCrops("faces", 320))(photo("lfw0"))
        assert found and seen == [FRAME_THREADS] == [1] and torch.get_num_threads() == 2  # restored after
    finally:
        torch.set_num_threads(before)


def test_live_whole_searches_find_the_faces_the_video_path_finds():
    live, video = crop_step("faces", detect_width=320, live=True), crop_step("faces", detect_width=320)
    assert live.scale_step > video.scale_step  # coarser sizes: faster
    for name in ("astronaut", "lfw0", "lfw5", "lfw10", "coffee"):
        a, b = live.boxes(photo(name)), video.boxes(photo(name))
        assert len(a) == len(b) and all(iou(x, y) > 0.7 for x, y in zip(a, b)), name


def test_the_app_shows_a_sampled_frame_without_a_face_as_such(trained):
    """Predict tab, a video: frames where the crop step found nothing keep their row (the CSV's timeline) and read
    '(no crop found)' instead of a row of blank cells."""
    from gradio_client import Client, handle_file

    from browser.appserver import served
    from workbench.ui.camera_panel import NOTHING_FOUND

    with served(trained["ws"].store) as url:
        client = Client(url, verbose=False)
        # run, video, crop step, detection width, event class (none), its confidence and frames, every N-th frame
        status, table, *_ = client.predict(RUN, handle_file(str(trained["clip"])), "faces", 320, None, 0.5, 3, 1,
                                           api_name="/predict_video")
    rows = pd.DataFrame(table["data"], columns=table["headers"])
    found = rows[rows["class"] != NOTHING_FOUND]
    assert set(found["class"]) <= {"face", "not face"} and len(found) and (rows["class"] == NOTHING_FOUND).any()
    assert rows.loc[rows["class"] == NOTHING_FOUND, "frame"].isin(range(6, 10)).any()  # the coffee photo's frames

