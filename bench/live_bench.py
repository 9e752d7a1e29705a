"""Frames per second of the live camera path on a 640×480 stream with face crops, against the bare classifier on
the same crops, measured back to back in one run.

The stream is made from real photos (tests/clips.py: skimage's astronaut, LFW faces scaled up, its coffee photo
without a face). A short feature-extraction run is trained on the faces demo set at --input-size (the goal is for
24–64 px classifiers) in a temporary Workbench home. The live path is what the Predict tab does per frame
(workbench.predict.live.LiveStream.step): find faces with the Haar cascade on the frame shrunk to --detect-width,
classify every crop in one batch, draw boxes and text, watch the event rule. The baseline classifies the very same
crops (cut out beforehand) with the same model, one batch per frame. Goal: >= 10 frames/s on 2 CPU cores.

    python bench/live_bench.py [--frames 60] [--input-size 64] [--detect-width 320 640] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' clips made from real photos
from clips import frames as clip_frames  # noqa: E402

SCRIPT = [("astronaut", 1), ("lfw0", 1), ("lfw5", 1), ("coffee", 1), ("lfw10", 1), ("astronaut", 1)]


def train_run(home: Path, input_size: int):
    """A feature-extraction run on the faces demo set, loaded."""
    from workbench.data.demo import ensure_faces, faces_truth
    from workbench.train.config import RunConfig
    from workbench.train.loop import train
    from workbench.train.runs import load_run
    from workbench.workspace import Workspace

    ws = Workspace.open(home)
    ensure_faces(ws.store)
    ws.store.add_labels("faces", list(faces_truth(ws.store).items()), "truth")
    done = train(ws, RunConfig(dataset="faces", method="feature_extract", input_size=input_size, epochs=2,
                               batch_size=32, name="live-bench"), plots=False)
    assert done.status == "completed", done.message
    return load_run(ws.run("live-bench"))


def live_fps(loaded, frames, detect_width: int) -> tuple[float, list[list[Image.Image]]]:
    """Frames per second of LiveStream.step over `frames`, and (cut out beforehand, untimed) the crops its crop
    step finds in each frame: what the baseline classifies."""
    from workbench.predict.events import EventRule
    from workbench.predict.live import LiveSettings, LiveStream

    stream = LiveStream.start(LiveSettings("live-bench", "faces", detect_width, EventRule("face", 0.8, 3)), loaded)
    classify = stream.classifier(loaded)
    crops = [[Image.fromarray(f[b.y:b.y + b.h, b.x:b.x + b.w]) for b in classify.crop.boxes(f)] for f in frames]
    stream.step(classify, frames[0])  # warm-up: first-call allocations
    start = time.perf_counter()
    for f in frames:
        stream.step(classify, f)
    return len(frames) / (time.perf_counter() - start), crops


def bare_fps(loaded, crops) -> float:
    """Frames per second of the classifier alone on each frame's crops (one batch per frame; none: no call)."""
    from workbench.train.predict import predict

    predict(loaded, crops[0] or [Image.new("L", (64, 64))])
    start = time.perf_counter()
    for cs in crops:
        if cs:
            predict(loaded, cs, batch_size=len(cs))
    return len(crops) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--input-size", type=int, default=64)
    ap.add_argument("--detect-width", type=int, nargs="+", default=[320, 640])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import cv2

    cv2.setNumThreads(args.threads)
    frames = (clip_frames(SCRIPT) * (args.frames // len(SCRIPT) + 1))[:args.frames]
    with tempfile.TemporaryDirectory() as home:
        loaded = train_run(Path(home), args.input_size)
        print(f"{args.frames} frames of 640×480, classifier {loaded.config.backbone} at {args.input_size} px, "
              f"{args.threads} threads, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for width in args.detect_width:
            live, crops = live_fps(loaded, frames, width)
            bare = bare_fps(loaded, crops)
            n = sum(map(len, crops))
            verdict = "meets" if live >= 10 else "misses"
            print(f"detect width {width:4d}: live path {live:6.1f} frames/s, bare classifier on the same {n} crops "
                  f"{bare:6.1f} frames/s; live / bare = {live / bare:.2f} ({verdict} the 10 frames/s goal)")


if __name__ == "__main__":
    main()
