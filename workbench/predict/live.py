"""A live camera stream, one frame at a time: classify, draw, count, watch for events, measure the rate achieved.

A camera sends frames faster than a CPU may classify them; the stream keeps no queue of its own: each call
handles the newest frame it is given, and a frame that arrives while one is being handled is the caller's to drop
(gradio's streaming input sends the next picture only when the previous answer came back).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.errors import WorkbenchError
from workbench.predict.crop_steps import DETECT_EVERY, BoxTracker, crop_step
from workbench.predict.events import EventLog, EventRule, EventWatcher, events_folder
from workbench.predict.frames import Detection, FrameClassifier, annotate, counts
from workbench.predict.predict import decision_threshold
from workbench.train.runs import LoadedRun

WINDOW_S = 3.0  # frames per second is measured over the last few seconds, so it follows changes quickly


@dataclass(frozen=True)
class LiveSettings:
    """What a stream runs: the run, the crop step (the width faces are searched at, how often whole frames are
    searched), the event rule."""

    run: str
    crop: str
    detect_width: int
    rule: EventRule | None = None
    detect_every: int = DETECT_EVERY
    min_score: float | None = None  # a detection run's boxes scored at least this (None: the run's own floor)


@dataclass
class LiveFrame:
    """One handled frame: the picture drawn over, its detections, the event it completed (a log row) if any."""

    image: np.ndarray
    detections: list[Detection]
    event: dict | None
    status: str


@dataclass
class LiveStream:
    """One camera session's running state: frames handled, their arrival times and handling times, its event
    watcher and log. Small and copyable (the model is passed in with each frame), so a browser session keeps it."""

    settings: LiveSettings
    started: float
    watcher: EventWatcher | None = None
    log: EventLog | None = None
    frames: int = 0
    arrivals: list[float] = field(default_factory=list)  # monotonic seconds, within the last WINDOW_S
    busy_s: float = 0.0  # handling time of the last frame

    threshold: float | None = None  # binary runs decide at the run's threshold, chosen once when the stream starts
    notes: list[str] = field(default_factory=list)
    tracker: BoxTracker = field(default_factory=BoxTracker)  # boxes between whole-frame searches

    @classmethod
    def start(cls, settings: LiveSettings, loaded: LoadedRun, now: float | None = None) -> "LiveStream":
        """A new stream of `settings` with the run `loaded`: the crop step and rule checked, the decision threshold
        chosen; its events (if it has a rule) go to checkpoints/<run>/events/camera-<time>/."""
        # a bad setting is refused before any frame
        crop_step(settings.crop, detect_width=settings.detect_width, ws=loaded.run.ws, min_score=settings.min_score)
        if not 1 <= settings.detect_every <= 100:
            raise WorkbenchError(f"Search whole frames every 1 to 100 frames, got {settings.detect_every}.")
        rule = settings.rule.check(loaded.classes) if settings.rule else None
        threshold, _, notes = decision_threshold(loaded.run, loaded)
        log = EventLog(events_folder(loaded.run_dir, "camera"), rule) if rule else None
        return cls(settings, time.monotonic() if now is None else now, EventWatcher(rule) if rule else None, log,
                   threshold=threshold, notes=notes, tracker=BoxTracker(settings.detect_every))

    def classifier(self, loaded: LoadedRun) -> FrameClassifier:
        """The stream's crop step and threshold over the run's model (cheap: made for each frame, the model not kept
        here, so the stream stays copyable)."""
        step = crop_step(self.settings.crop, detect_width=self.settings.detect_width, live=True,
                         ws=loaded.run.ws, min_score=self.settings.min_score)
        return FrameClassifier(loaded, step, self.threshold)

    def step(self, classify: FrameClassifier, frame: np.ndarray, now: float | None = None) -> LiveFrame:
        """Handle the newest frame: classify its crops, draw them with the count and rate, log an event."""
        began = time.perf_counter()
        now = time.monotonic() if now is None else now
        self.frames += 1
        self.arrivals = [t for t in self.arrivals if now - t <= WINDOW_S] + [now]
        found = classify(frame, self.tracker.boxes(classify.crop, frame))
        hit = self.watcher.update(found) if self.watcher else None
        rate = self.fps()
        lines = [counts(found, classify.classes) + (f" | {rate:.1f} frames/s" if rate else "")]
        image = annotate(frame, found, lines)
        event = self.log.record(hit, image, now - self.started, self.frames) if hit is not None else None
        self.busy_s = time.perf_counter() - began
        return LiveFrame(image, found, event, self.status(found, classify.classes))

    def fps(self) -> float | None:
        """Frames handled per second over the last few seconds (None until two frames came)."""
        if len(self.arrivals) < 2 or self.arrivals[-1] <= self.arrivals[0]:
            return None
        return (len(self.arrivals) - 1) / (self.arrivals[-1] - self.arrivals[0])

    def status(self, found: list[Detection], classes: list[str]) -> str:
        """One line: frame number, what this frame holds, the rate achieved, the handling time, events so far."""
        rate = self.fps()
        parts = [f"frame {self.frames}", counts(found, classes),
                 f"{rate:.1f} frames/s" if rate else "frames/s: measuring",
                 f"{self.busy_s * 1000:.0f} ms a frame"]
        if self.log is not None:
            n = len(self.log.rows)
            parts.append(f"{n} event{'' if n == 1 else 's'} ({self.settings.rule.describe()})")
        return " · ".join(parts)
