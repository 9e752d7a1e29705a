"""`workbench predict RUN PATH... --out predictions.csv`: class probabilities and decisions for new images, or for
the crops of a video's frames (`workbench predict RUN video.mp4 --every 5 --crop faces --event no_mask`)."""

from __future__ import annotations

import argparse
import sys
from typing import Iterable

from tqdm import tqdm

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.run import Run

# torch and OpenCV: imported when a prediction runs, not when the CLI starts
prediction = lazy_import("workbench.predict.predict")
video = lazy_import("workbench.predict.video")
events = lazy_import("workbench.predict.events")

CROP_CHOICES = ("none", "faces", "eyes")  # workbench.predict.crop_steps.CROP_STEPS, named here for --help


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench predict`."""
    p = sub.add_parser("predict", help="predict new images (files, folders, zips) or videos with a trained run",
                       description="Class probabilities and the decision for each image: binary runs decide at the "
                                   "run's threshold (chosen on its validation split, at the EER unless set with "
                                   "`workbench evaluate RUN --threshold`), others by the most probable class. "
                                   "Images that cannot be read are listed with their reason; the rest are predicted. "
                                   "Video files (.mp4, .avi, .mov, .mkv, .webm, ...): every N-th frame, one row per "
                                   "crop (--crop faces|eyes, or the whole frame), and events by a rule (--event).")
    p.add_argument("run", help="run name (a folder under checkpoints/), or last for the newest run")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="image files, folders (searched recursively) or .zip files; or video files")
    p.add_argument("--out", default="predictions.csv",
                   help="CSV to write: file, decision, confidence, p_<class>..., error; for videos video, time_s, "
                        "frame, crop, x, y, w, h, class, confidence, p_<class>..., error (default: predictions.csv)")
    p.add_argument("--threshold", type=_probability, metavar="P",
                   help="binary runs: decide the second class when its probability >= P, instead of the run's threshold")
    p.add_argument("--batch-size", type=int, default=64)
    v = p.add_argument_group("videos")
    v.add_argument("--every", type=int, default=1, metavar="N", help="classify every N-th frame (default 1: all)")
    v.add_argument("--crop", choices=CROP_CHOICES, default="none",
                   help="classify the faces or eyes OpenCV's Haar cascades find in each frame (as `workbench import "
                        "--crop`), or the whole frame (default: none)")
    v.add_argument("--detect-width", type=int, default=640, metavar="PX",
                   help="frames wider than PX are shrunk before faces are searched: faster, misses faces smaller than "
                        "about 24 px at that width (default 640)")
    v.add_argument("--event", metavar="CLASS",
                   help="log an event when a crop is decided CLASS at --min-confidence for --frames sampled frames in "
                        "a row: a row in events.csv and a snapshot PNG")
    v.add_argument("--min-confidence", type=_probability, default=0.8, metavar="P", help="event rule (default 0.8)")
    v.add_argument("--frames", type=int, default=3, metavar="K", help="event rule: frames in a row (default 3)")
    v.add_argument("--events", metavar="DIR",
                   help="folder for events.csv and snapshots/ (default checkpoints/<run>/events/<video>-<time>/)")
    p.set_defaults(func=run)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability between 0 and 1")
    return value


def run(args: argparse.Namespace) -> int:
    """Predict args.paths with the run (images, or videos frame by frame), write the CSV, list unreadable files on
    stderr."""
    if args.batch_size < 1:
        raise WorkbenchError(f"--batch-size must be at least 1, got {args.batch_size}.")
    kinds = {video.is_video(p) for p in args.paths}
    if kinds == {True, False}:
        raise WorkbenchError("Give images or videos, not both, in one command (videos get one row per frame and crop).")
    run = args.workspace.run(args.run)
    result = predict_videos(args, run) if kinds == {True} else predict_images(args, run)
    out = result.save_csv(args.out)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for name, reason in result.bad:
        print(f"could not read {name}: {reason}", file=sys.stderr)
    print(result.summary())
    print(f"Wrote {out}")
    return 0


def _progress(unit: str):
    def progress(it: Iterable, total: int | None, desc: str) -> Iterable:
        return tqdm(it, total=total, desc=desc, unit=unit, file=sys.stderr)
    return progress


def predict_images(args: argparse.Namespace, run: Run):
    """Images, folders and zips: one row per image."""
    video_only = [f"--{o.replace('_', '-')}" for o in ("every", "crop", "event", "events")
                  if getattr(args, o) not in (None, 1, "none")]
    if video_only:
        raise WorkbenchError(f"{', '.join(video_only)} {'is' if len(video_only) == 1 else 'are'} for video files "
                             f"({', '.join(video.VIDEO_SUFFIXES)}).")
    return prediction.predict_paths(run, args.paths, threshold=args.threshold, batch_size=args.batch_size,
                                    progress=_progress("batch"))


def predict_videos(args: argparse.Namespace, run: Run):
    """Videos: every N-th frame, one row per crop; events by the rule, each with a snapshot."""
    if args.every < 1:
        raise WorkbenchError(f"--every must be at least 1, got {args.every}.")
    if args.frames < 1:
        raise WorkbenchError(f"--frames must be at least 1, got {args.frames}.")
    rule = events.EventRule(args.event, args.min_confidence, args.frames) if args.event else None
    result = video.predict_videos(run, args.paths, every=args.every, crop=args.crop,
                                  detect_width=args.detect_width, rule=rule, events_dir=args.events,
                                  threshold=args.threshold, progress=_progress("frame"))
    for r in result.results:
        if r.events is not None and r.events.rows:
            print(f"{r.info.path.name}: events logged in {r.events.folder}")
    return result
