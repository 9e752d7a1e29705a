"""Events: a rule such as "class no_mask with confidence >= 0.8 for 3 frames in a row", watched frame by frame;
each event is logged with its time to events.csv and its frame (boxes drawn) to a snapshot PNG."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from PIL import Image

from workbench.atomic import write_bytes
from workbench.tables import write_csv
from workbench.errors import WorkbenchError
from workbench.predict.frames import Detection

EVENTS_CSV = "events.csv"
SNAPSHOTS = "snapshots"
EVENT_COLUMNS = ["event", "time_s", "frame", "class", "confidence", "x", "y", "w", "h", "snapshot", "recorded_at"]


@dataclass(frozen=True)
class EventRule:
    """An event is `frames` frames in a row, each with a crop decided `label` at confidence >= `min_confidence`."""

    label: str
    min_confidence: float = 0.8
    frames: int = 3

    def check(self, classes: Sequence[str]) -> "EventRule":
        """The rule itself, or a WorkbenchError when it names no class of the run or its numbers are out of range."""
        if self.label not in classes:
            raise WorkbenchError(f"The event rule names class {self.label!r}; the run's classes are "
                                 f"{', '.join(map(repr, classes))}.")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise WorkbenchError(f"The event rule's confidence must be between 0 and 1, got {self.min_confidence}.")
        if int(self.frames) != self.frames or self.frames < 1:
            raise WorkbenchError(f"The event rule's frames in a row must be a whole number >= 1, got {self.frames}.")
        return self

    def match(self, detections: Sequence[Detection]) -> Detection | None:
        """The most confident crop of the frame that meets the rule, or None."""
        hits = [d for d in detections if d.label == self.label and d.confidence >= self.min_confidence]
        return max(hits, key=lambda d: d.confidence, default=None)

    def describe(self) -> str:
        return (f"class {self.label!r} with confidence >= {self.min_confidence:.2f} for {self.frames} "
                f"frame{'' if self.frames == 1 else 's'} in a row")


@dataclass
class EventWatcher:
    """Counts frames in a row that meet `rule`; fires when the count reaches rule.frames, and again only after
    a frame that does not meet it (one lasting sighting is one event)."""

    rule: EventRule
    streak: int = 0

    def update(self, detections: Sequence[Detection]) -> Detection | None:
        """Feed one frame's detections; the crop that makes the event when this frame completes one, else None."""
        hit = self.rule.match(detections)
        self.streak = self.streak + 1 if hit is not None else 0
        return hit if self.streak == self.rule.frames else None


@dataclass
class EventLog:
    """events.csv and snapshots/ in `folder`, written as each event happens (a crash keeps the ones before)."""

    folder: Path
    rule: EventRule
    rows: list[dict] = field(default_factory=list)

    def record(self, hit: Detection, snapshot: np.ndarray, time_s: float, frame: int) -> dict:
        """Log one event: its snapshot PNG (the annotated frame) and its row, returned."""
        n = len(self.rows) + 1
        name = f"{SNAPSHOTS}/event-{n:04d}-t{time_s:09.2f}s.png"
        buf = io.BytesIO()
        # zlib's fastest level: a 640x480 snapshot in a third of the default's time (the stream waits), 10% bigger
        Image.fromarray(snapshot).save(buf, "PNG", compress_level=1)
        write_bytes(self.folder / name, buf.getvalue())
        row = {"event": n, "time_s": round(time_s, 3), "frame": frame, "class": hit.label,
               "confidence": round(hit.confidence, 4), **vars(hit.box), "snapshot": name,
               "recorded_at": datetime.now().isoformat(timespec="seconds")}
        self.rows.append(row)
        write_csv(self.folder / EVENTS_CSV, self.table())
        return row

    def table(self) -> pd.DataFrame:
        """Every event so far, oldest first."""
        return pd.DataFrame(self.rows, columns=EVENT_COLUMNS)

    def latest(self, n: int = 10) -> pd.DataFrame:
        """The `n` newest events, newest first."""
        return self.table().iloc[::-1].head(n).reset_index(drop=True)

    def snapshot_paths(self, n: int = 8) -> list[Path]:
        """The snapshots of the `n` newest events, newest first."""
        return [self.folder / r["snapshot"] for r in reversed(self.rows[-n:])]


def events_folder(run_folder: Path, source: str, when: datetime | None = None) -> Path:
    """checkpoints/<run>/events/<source>-<YYYYmmdd-HHMMSS>/ (not yet used): where a video's or a camera session's events go."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in source).strip("._") or "events"
    base = run_folder / "events" / f"{safe}-{(when or datetime.now()):%Y%m%d-%H%M%S}"
    folder, n = base, 1
    while folder.exists():  # two videos started within one second keep their own logs
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder
