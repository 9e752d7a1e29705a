"""Video files through a crop step and a run: every N-th frame, one row per crop (time, box, class, confidence),
events by a rule; files that cannot be read are refused with the reason (missing, empty, an image, not a video,
cut off, no frames, a codec OpenCV cannot decode)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from workbench.tables import write_csv
from workbench.data.importers.common import Progress, no_progress
from workbench.errors import WorkbenchError
from workbench.predict.crop_steps import DETECT_WIDTH
from workbench.predict.events import EventLog, EventRule, EventWatcher, events_folder
from workbench.predict.frames import (CROP_COLUMNS, FrameClassifier, annotate, counts, detection_columns,
                                      detection_rows, frame_classifier)
from workbench.run import Run
from workbench.train.runs import LoadedRun, load_run

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".y4m", ".ogv")


class BadVideo(WorkbenchError):
    """A file that cannot be read as a video; the message names the file and the reason."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says: frames (0 when unknown), frames per second, size, codec."""

    path: Path
    frames: int
    fps: float
    width: int
    height: int
    codec: str

    def describe(self) -> str:
        n = f"{self.frames} frames" if self.frames else "frame count unknown"
        return f"{self.path.name}: {self.width}×{self.height}, {n} at {self.fps:.3g} frames/s, codec {self.codec}"


def is_video(path: str | Path) -> bool:
    """Whether `path` is named like a video file (its suffix)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def open_video(path: str | Path) -> tuple[cv2.VideoCapture, VideoInfo]:
    """An opened capture and its info; BadVideo saying why when the file cannot be decoded."""
    p = Path(path)
    image = _image_format(p) if p.is_file() else None
    if image:  # FFmpeg would read a lone image as a one-frame video
        raise BadVideo(f"{p}: a {image} image, not a video (predict images with `workbench predict RUN IMAGE...`)")
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG) if p.is_file() else None
    if cap is None or not cap.isOpened():
        raise BadVideo(f"{p}: {why_unreadable(p)}")
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1").strip("\x00 ") or "unknown"
    count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    info = VideoInfo(p, int(count) if 0 < count < 2 ** 40 else 0, float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
                     int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), fourcc)
    return cap, info


def why_unreadable(p: Path) -> str:
    """Why OpenCV could not open `p`, from what the file is (its first bytes)."""
    if not p.exists():
        return "no such file"
    if not p.is_file():
        return "not a file (a folder?)"
    size = p.stat().st_size
    if size == 0:
        return "empty file (0 bytes)"
    kind = _container(_head(p))
    if kind is None:
        return "not a video file (no known video container at its start)"
    if kind == "an MP4/MOV":
        boxes, cut = _mp4_boxes(p)
        if "moov" not in boxes or cut:  # the index is written last: a recording or download cut off
            return "an MP4/MOV file without its index (moov box): cut off while recording or downloading"
        if boxes.get("mdat", 0) <= 16:
            return "an MP4/MOV file holding no frames"
    if kind == "an AVI":
        return f"an AVI file whose video codec {_avi_codec(p)!r} OpenCV cannot decode"
    return f"{kind} file OpenCV cannot decode (an unsupported codec, or the file is damaged)"


def _mp4_boxes(p: Path) -> tuple[dict[str, int], bool]:
    """The top-level boxes of an MP4/MOV file (type -> size), read from their headers, and whether the last one
    runs past the end of the file."""
    boxes, size = {}, p.stat().st_size
    with open(p, "rb") as f:
        at = 0
        while at + 8 <= size:
            f.seek(at)
            head = f.read(16)
            n, kind = int.from_bytes(head[:4], "big"), head[4:8].decode("latin-1")
            if n == 1 and len(head) == 16:
                n = int.from_bytes(head[8:16], "big")
            elif n == 0:  # the box runs to the end of the file
                n = size - at
            if n < 8:
                return boxes, True
            boxes[kind] = n
            at += n
    return boxes, at > size


def _image_format(p: Path) -> str | None:
    """The image format PIL recognises `p` as (its header only), or None."""
    try:
        with Image.open(p) as im:
            return im.format
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _head(p: Path, n: int = 64) -> bytes:
    with open(p, "rb") as f:
        return f.read(n)


def _container(head: bytes) -> str | None:
    """'an MP4/MOV', 'an AVI', ... for a file starting with `head`, or None when no video container starts so."""
    if head[4:8] == b"ftyp":
        return "an MP4/MOV"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "an AVI"
    starts = {b"\x1aE\xdf\xa3": "a Matroska/WebM", b"OggS": "an Ogg", b"YUV4MPEG2": "a Y4M", b"FLV": "an FLV",
              b"\x00\x00\x01\xba": "an MPEG", b"\x00\x00\x01\xb3": "an MPEG", b"\x30\x26\xb2\x75": "an ASF/WMV"}
    return next((kind for start, kind in starts.items() if head.startswith(start)), None)


def _avi_codec(p: Path) -> str:
    """The fourcc of an AVI's video stream header ('strh', its size, 'vids', the fourcc), or '?'."""
    data = _head(p, 1 << 16)
    at = data.find(b"strh")
    while at >= 0 and data[at + 8:at + 12] != b"vids":
        at = data.find(b"strh", at + 4)
    return data[at + 12:at + 16].decode("latin-1") if at >= 0 else "?"


class FrameSampler:
    """(index, time in seconds, RGB frame) of every `every`-th frame of an opened capture, from the start; skipped
    frames are grabbed, not decoded. Stops at the end of the stream or at the first frame that cannot be read;
    `read` counts the frames read so far."""

    def __init__(self, cap: cv2.VideoCapture, every: int = 1):
        self.cap, self.every, self.read = cap, every, 0

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        while self.cap.grab():
            index, self.read = self.read, self.read + 1
            if index % self.every:
                continue
            ok, bgr = self.cap.retrieve()
            if not ok:
                return
            yield index, self.cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass
class VideoResult:
    """One row per sampled frame and crop (`table`; a frame where nothing was found has one row without a box),
    what was read, the events logged and notes for the user (e.g. a file cut off)."""

    info: VideoInfo
    table: pd.DataFrame
    every: int
    sampled: int
    read: int  # frames read (sampled or skipped)
    events: EventLog | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        found = self.table["class"].notna().sum()
        s = (f"{self.info.path.name}: {self.sampled} frames sampled (every {self.every} of {self.read} read), "
             f"{found} crops classified: {_class_counts(self.table)}")
        if self.events is not None:
            s += f"; {len(self.events.rows)} event{'' if len(self.events.rows) == 1 else 's'} ({self.events.rule.describe()})"
        return s


def _class_counts(table: pd.DataFrame) -> str:
    n = table["class"].value_counts()
    return ", ".join(f"{c} × {k}" for c, k in n.items()) or "none"


def predict_video(classify: FrameClassifier, path: str | Path, *, every: int = 1, watcher: EventWatcher | None = None,
                  log: EventLog | None = None, progress: Progress = no_progress) -> VideoResult:
    """Classify the crops of every `every`-th frame of the video at `path`; with `watcher` and `log`, log its
    events. BadVideo when the file cannot be read or holds no frame."""
    if int(every) != every or every < 1:
        raise WorkbenchError(f"Sample every N-th frame: N must be a whole number >= 1, got {every}.")
    cap, info = open_video(path)
    frames = FrameSampler(cap, int(every))
    rows: list[dict] = []
    sampled = 0
    total = math.ceil(info.frames / every) if info.frames else None
    try:
        for index, t, frame in progress(frames, total, f"Predicting {info.path.name}"):
            sampled += 1
            found = classify(frame)
            rows += detection_rows(found, classify.classes, time_s=t, frame=index)
            hit = watcher.update(found) if watcher else None
            if hit is not None and log is not None:
                log.record(hit, annotate(frame, found, [f"t={t:.2f}s {counts(found, classify.classes)}"]), t, index)
    finally:
        cap.release()
    if not sampled:
        raise BadVideo(f"{info.path}: {'holds no frames' if not info.frames else 'no frame could be decoded'} "
                       f"({info.describe()})")
    columns = ["time_s", "frame", *detection_columns(classify.classes)]
    table = pd.DataFrame(rows, columns=columns).astype({c: "Int64" for c in CROP_COLUMNS})
    table["time_s"] = table["time_s"].round(3)
    result = VideoResult(info, table, int(every), sampled, frames.read, log)
    if info.frames and frames.read < info.frames - 1:  # one frame of slack: some containers round their count
        result.notes.append(f"{info.path.name} looks cut off: its header declares {info.frames} frames but only "
                            f"{frames.read} could be read; those were predicted")
    return result


@dataclass
class VideoPredictions:
    """The videos predicted with one run and settings, and those that could not be read (`bad`: path, reason)."""

    run: str
    classes: list[str]
    results: list[VideoResult]
    bad: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def frame(self, rename: Callable[[str], str] = str) -> pd.DataFrame:
        """What the CSV holds: `video` (as `rename` names it) then each result's rows, then one row per unreadable
        video with `error`."""
        parts = [r.table.assign(video=rename(str(r.info.path))) for r in self.results]
        parts.append(pd.DataFrame({"video": [rename(v) for v, _ in self.bad], "error": [why for _, why in self.bad]}))
        columns = ["video", *self.results[0].table.columns, "error"] if self.results else ["video", "error"]
        return pd.concat([p for p in parts if len(p)], ignore_index=True).reindex(columns=columns)

    def save_csv(self, path: str | Path, rename: Callable[[str], str] = str) -> Path:
        """Write `frame(rename)` to `path` (folders made as needed)."""
        return write_csv(path, self.frame(rename))

    def summary(self) -> str:
        """One line per video, and one per video that could not be read."""
        return "\n".join([r.summary() for r in self.results] + [f"could not read {v}: {why}" for v, why in self.bad])


def predict_videos(run: Run, paths: Sequence[str | Path], *, every: int = 1, crop: str = "none",
                   detect_width: int = DETECT_WIDTH, rule: EventRule | None = None,
                   events_dir: str | Path | None = None, threshold: float | None = None,
                   min_score: float | None = None, progress: Progress = no_progress,
                   loaded: LoadedRun | None = None) -> VideoPredictions:
    """Predict each video of `paths` with `run` (`loaded`: it, loaded already; see predict_video); with `rule`, each video's events go to `events_dir`
    (a sub-folder per video when there are several), by default checkpoints/<run>/events/<video>-<time>/.
    Unreadable videos are listed with their reason; a WorkbenchError when none could be read."""
    loaded = loaded or load_run(run)
    if rule is not None:
        rule.check(loaded.classes)
    classify, notes = frame_classifier(loaded, crop, detect_width=detect_width, threshold=threshold,
                                       min_score=min_score)
    done = VideoPredictions(run.name, list(loaded.classes), [], notes=notes)
    for path in paths:
        log = None
        if rule is not None:
            folder = events_folder(run.folder, Path(path).stem) if events_dir is None else \
                Path(events_dir) / (Path(path).stem if len(paths) > 1 else "")
            log = EventLog(folder, rule)
        try:
            done.results.append(predict_video(classify, path, every=every, watcher=EventWatcher(rule) if rule else None,
                                              log=log, progress=progress))
        except BadVideo as e:
            done.bad.append((str(path), str(e).removeprefix(f"{Path(path)}: ")))
    done.notes += [n for r in done.results for n in r.notes]
    if not done.results:
        raise BadVideo("No video could be predicted:\n  " + "\n  ".join(f"{v}: {why}" for v, why in done.bad)
                       if done.bad else "No videos given.")
    return done
