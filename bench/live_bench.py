"""Frames per second of the live camera path on a 640×480 stream with face crops, against the bare classifier on
the same crops, measured back to back in one run.

The stream is made from real photos (tests/clips.py: skimage's astronaut, LFW faces scaled up, its coffee photo
without a face), each shown for 10 frames while sliding 4 px a frame (a camera turning slowly). A short
feature-extraction run is trained on the faces demo set at --input-size (the goal is for 24–64 px classifiers) in a
temporary Workbench home. The live path is what the Predict tab does per frame (workbench.predict.live.LiveStream
.step): find faces with the Haar cascade (sizes 20% apart) on the frame shrunk to --detect-width every
--detect-every frames (in between, each face is looked for again near where it was), classify every crop in one
batch, draw boxes and text, watch the event rule; --detect-every 1 searches every frame whole. The baseline
classifies the crops a whole search finds in each frame (cut out beforehand) with the same model and thread
count, one batch per frame. Each is measured --rounds times, interleaved, and the medians compared (a loaded
machine's speed drifts). A last line times the model alone on one crop with 1 torch thread against --threads: why
frames use one.
Goal: >= 10 frames/s on 2 CPU cores.

    python bench/live_bench.py [--frames 60] [--input-size 64] [--detect-width 320 640] [--detect-every 3 1]
                               [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' clips made from real photos
from clips import panning  # noqa: E402

SCRIPT = [("astronaut", 10), ("lfw0", 10), ("lfw5", 10), ("coffee", 10), ("lfw10", 10), ("astronaut", 10)]
PAN_PX = 4


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


def live_fps(loaded, frames, detect_width: int, detect_every: int) -> tuple[float, int]:
    """Frames per second of LiveStream.step over `frames`, and how many crops it classified."""
    from workbench.predict.events import EventRule
    from workbench.predict.live import LiveSettings, LiveStream

    settings = LiveSettings("live-bench", "faces", detect_width, EventRule("face", 0.8, 3), detect_every)
    warm = LiveStream.start(settings, loaded)
    warm.step(warm.classifier(loaded), frames[0])  # warm-up: first-call allocations
    stream = LiveStream.start(settings, loaded)
    classify = stream.classifier(loaded)
    start = time.perf_counter()
    n = sum(len(stream.step(classify, f).detections) for f in frames)
    return len(frames) / (time.perf_counter() - start), n


def whole_search_crops(loaded, frames, detect_width: int) -> list[list[Image.Image]]:
    """The crops a whole-frame search finds in each frame (untimed): what the baseline classifies."""
    from workbench.predict.crop_steps import crop_step

    step = crop_step("faces", detect_width=detect_width, live=True)
    return [[Image.fromarray(f[b.y:b.y + b.h, b.x:b.x + b.w]) for b in step.boxes(f)] for f in frames]


def bare_fps(loaded, crops) -> float:
    """Frames per second of the classifier alone on each frame's crops (one batch per frame; none: no call), with
    the torch threads the live path uses."""
    from workbench.predict.frames import FRAME_THREADS, torch_threads
    from workbench.train.predict import predict

    with torch_threads(FRAME_THREADS):
        predict(loaded, crops[0] or [Image.new("L", (64, 64))])
        start = time.perf_counter()
        for cs in crops:
            if cs:
                predict(loaded, cs, batch_size=len(cs))
        return len(crops) / (time.perf_counter() - start)


def model_ms(loaded, threads: int, calls: int = 10) -> float:
    """Milliseconds per call of the model alone on one crop with `threads` torch threads."""
    from workbench.predict.frames import torch_threads
    from workbench.train.predict import predict

    one = [Image.new("RGB", (64, 64), (128, 100, 90))]
    with torch_threads(threads):
        predict(loaded, one)
        start = time.perf_counter()
        for _ in range(calls):
            predict(loaded, one)
        return (time.perf_counter() - start) / calls * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--input-size", type=int, default=64)
    ap.add_argument("--detect-width", type=int, nargs="+", default=[320, 640])
    ap.add_argument("--detect-every", type=int, nargs="+", default=[3, 1])
    ap.add_argument("--threads", type=int, default=2, help="OpenCV's threads, and torch's in the last line")
    ap.add_argument("--rounds", type=int, default=3, help="each measured this many times, interleaved; medians")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import cv2

    cv2.setNumThreads(args.threads)
    frames = (panning(SCRIPT, PAN_PX) * (args.frames // sum(n for _, n in SCRIPT) + 1))[:args.frames]
    with tempfile.TemporaryDirectory() as home:
        loaded = train_run(Path(home), args.input_size)
        print(f"{args.frames} frames of 640×480, classifier {loaded.config.backbone} at {args.input_size} px, "
              f"{args.threads} threads, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for width in args.detect_width:
            crops = whole_search_crops(loaded, frames, width)
            bare, live, found = [], {e: [] for e in args.detect_every}, {}
            for _ in range(args.rounds):  # interleaved, so a change in the machine's load hits every one alike
                bare.append(bare_fps(loaded, crops))
                for every in args.detect_every:
                    fps, found[every] = live_fps(loaded, frames, width, every)
                    live[every].append(fps)
            base = statistics.median(bare)
            print(f"detect width {width:4d}: bare classifier on the {sum(map(len, crops))} crops of whole searches "
                  f"{base:6.1f} frames/s (median of {args.rounds})")
            for every, runs in live.items():
                fps = statistics.median(runs)
                verdict = "meets" if fps >= 10 else "misses"
                print(f"  whole search every {every} frame{'s' * (every > 1)}: live path {fps:6.1f} frames/s "
                      f"({found[every]} crops; rounds {', '.join(f'{r:.1f}' for r in runs)}); live / bare = "
                      f"{fps / base:.2f} ({verdict} the 10 frames/s goal)")
        one, many = model_ms(loaded, 1), model_ms(loaded, args.threads)
        print(f"model alone on one crop: {one:.1f} ms with 1 torch thread, {many:.1f} ms with {args.threads} "
              f"({many / one:.1f}x); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
