"""`workbench predict RUN PATH... --out predictions.csv`: class probabilities and decisions for new images, or for
the crops of a video's frames (`workbench predict RUN video.mp4 --every 5 --crop faces --event no_mask`); a detection
run writes one row per box found (and the images with their boxes drawn, --draw)."""

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
photo_crops = lazy_import("workbench.predict.photo_crops")
events = lazy_import("workbench.predict.events")
detection = lazy_import("workbench.detect.predict")
detectors = lazy_import("workbench.detect.model")

CROP_CHOICES = ("none", "faces", "eyes")  # workbench.predict.crop_steps.CROP_STEPS, named here for --help


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench predict`."""
    p = sub.add_parser("predict", help="predict new images (files, folders, zips) or videos with a trained run",
                       description="Class probabilities and the decision for each image: binary runs decide at the "
                                   "run's threshold (chosen on its validation split, at the EER unless set with "
                                   "`workbench evaluate RUN --threshold`), others by the most probable class. "
                                   "Images that cannot be read are listed with their reason; the rest are predicted. "
                                   "With --crop faces|eyes, one row per face (or eye) found in each image. "
                                   "Video files (.mp4, .avi, .mov, .mkv, .webm, ...): every N-th frame, one row per "
                                   "crop (--crop faces|eyes, or the whole frame), and events by a rule (--event).")
    p.add_argument("run", help="run name (a folder under checkpoints/), or last for the newest run")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="image files, folders (searched recursively) or .zip files; or video files")
    p.add_argument("--out", default="predictions.csv",
                   help="CSV to write: file, decision, confidence, p_<class>..., error; with --crop file, crop, x, "
                        "y, w, h, class, confidence, p_<class>..., error; for videos video, time_s, frame, then as "
                        "with --crop (default: predictions.csv)")
    p.add_argument("--threshold", type=_probability, metavar="P",
                   help="binary runs: decide the second class when its probability >= P, instead of the run's threshold")
    p.add_argument("--batch-size", type=int, help="images per batch (default: 64; a detection run: 8)")
    p.add_argument("--min-score", type=_probability, metavar="S",
                   help="detection runs (and --crop run:NAME): keep boxes scored at least S (default: the score "
                        "chosen on val when the run was evaluated, else 0.3); a detection run's CSV has one row per "
                        "box: file, box, label, score, x, y, w, h")
    p.add_argument("--draw", metavar="DIR", help="detection runs: also write each image with its boxes drawn into DIR")
    c = p.add_argument_group("crops (images and videos)")
    c.add_argument("--crop", default="none", metavar="|".join([*CROP_CHOICES, "run:NAME"]),
                   help="classify the faces or eyes OpenCV's Haar cascades find in each image or frame (as "
                        "`workbench import --crop`), the boxes detection run NAME finds (run:NAME, at the score its "
                        "evaluation chose), or the whole image (default: none)")
    c.add_argument("--detect-width", type=int, default=640, metavar="PX",
                   help="images and frames wider than PX are shrunk before faces are searched: faster, misses faces "
                        "smaller than about 24 px at that width (default 640)")
    v = p.add_argument_group("videos")
    v.add_argument("--every", type=int, default=1, metavar="N", help="classify every N-th frame (default 1: all)")
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
    if args.batch_size is not None and args.batch_size < 1:
        raise WorkbenchError(f"--batch-size must be at least 1, got {args.batch_size}.")
    kinds = {video.is_video(p) for p in args.paths}
    if kinds == {True, False}:
        raise WorkbenchError("Give images or videos, not both, in one command (videos get one row per frame and crop).")
    run = args.workspace.run(args.run)
    if run.is_detector:
        return detect_images(args, run, videos=kinds == {True})
    crop_detector = args.crop.startswith("run:")  # --min-score is then the floor of the detector's boxes
    for flag, given in (("--min-score", None if crop_detector else args.min_score), ("--draw", args.draw)):
        if given is not None:
            raise WorkbenchError(f"{flag} is for detection runs; {run.name!r} is a classifier.")
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
    """Images, folders and zips: one row per image, or with --crop one per crop found."""
    video_only = [f"--{o.replace('_', '-')}" for o in ("every", "event", "events")
                  if getattr(args, o) not in (None, 1, "none")]
    if video_only:
        raise WorkbenchError(f"{', '.join(video_only)} {'is' if len(video_only) == 1 else 'are'} for video files "
                             f"({', '.join(video.VIDEO_SUFFIXES)}).")
    if args.crop != "none":
        return photo_crops.predict_photo_crops(run, args.paths, crop=args.crop, detect_width=args.detect_width,
                                               threshold=args.threshold, min_score=args.min_score,
                                               progress=_progress("image"))
    return prediction.predict_paths(run, args.paths, threshold=args.threshold, batch_size=args.batch_size or 64,
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
                                  threshold=args.threshold, min_score=args.min_score, progress=_progress("frame"))
    for r in result.results:
        if r.events is not None and r.events.rows:
            print(f"{r.info.path.name}: events logged in {r.events.folder}")
    return result


def detect_images(args: argparse.Namespace, run: Run, videos: bool) -> int:
    """A detection run: one CSV row per box, the images drawn into --draw, unreadable files on stderr."""
    if videos:
        raise WorkbenchError(f"{run.name!r} is a detector: give it images (video frames go through classifiers).")
    if args.threshold is not None:
        raise WorkbenchError(f"--threshold is for binary classifiers; {run.name!r} is a detector (use --min-score).")
    if args.crop != "none":
        raise WorkbenchError(f"--crop {args.crop} feeds crops to a classifier; {run.name!r} is a detector: it finds "
                             "its own boxes in the whole image.")
    min_score = args.min_score if args.min_score is not None else detection.run_min_score(run)
    result = detection.detect_paths(detectors.load_detector(run.folder), args.paths, min_score=min_score,
                                    batch_size=args.batch_size or 8, progress=_progress("batch"))
    out = result.save_csv(args.out)
    for name, reason in result.bad:
        print(f"could not read {name}: {reason}", file=sys.stderr)
    print(result.summary())
    print(f"Wrote {out}")
    if args.draw:
        print(f"Drew {len(detection.save_drawn(result, args.draw))} images with their boxes into {args.draw}")
    return 0
