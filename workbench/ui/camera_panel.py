"""Predict tab, "Camera and video": a live webcam stream and video files through a crop step and the chosen run,
with an event rule and the latest events.

`layout` builds the components, the handlers call workbench.predict.live / .video and shape the results, `wire`
connects them. The stream keeps up by dropping frames, never by queueing them: gradio's webcam sends its next
picture only once the answer to the previous one came back, and the server keeps one pending picture per stream.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.predict.sources import short_names
from workbench.run import detection_runs
from workbench.ui.handlers import bind, fail, gr_progress
from workbench.ui.thumb_grid import grid_value, thumb_grid
from workbench.review.run_cache import RunCache
from workbench.workspace import Workspace

# torch and OpenCV: imported on the first frame or video, not when the app starts
live = lazy_import("workbench.predict.live")
video = lazy_import("workbench.predict.video")
events = lazy_import("workbench.predict.events")

NO_EVENTS = "(no events)"
CROPS = ["faces", "eyes", "none"]  # workbench.predict.crop_steps.CROP_STEPS, faces first; then run:NAME detectors
STREAM_EVERY_S = 0.1  # the webcam offers a picture every 0.1 s (10 frames/s), when the previous one is answered
STREAM_LIMIT_S = 600  # a stream ends after 10 minutes of handling (press record again): one user cannot hold the queue
SHOWN_ROWS = 500  # rows of a video's table shown in the page; the CSV holds them all
NOTHING_FOUND = "(no crop found)"  # the class shown for a sampled frame where the crop step found nothing
EVENTS_SHOWN = 8
EVENT_COLUMNS = ["event", "time_s", "class", "confidence", "x", "y", "w", "h", "snapshot"]


@dataclass
class CameraPanel:
    """Crop step and event rule, the live camera and its annotated frames, a video file and its table, events."""

    crop: gr.Dropdown
    detect_width: gr.Number
    detect_every: gr.Number
    event_class: gr.Dropdown
    min_confidence: gr.Slider
    frames: gr.Number
    camera: gr.Image
    shown: gr.Image
    live_status: gr.Markdown
    video: gr.File
    every: gr.Number
    video_btn: gr.Button
    video_status: gr.Markdown
    video_table: gr.Dataframe
    video_csv: gr.File
    events_table: gr.Dataframe
    snapshots: gr.HTML  # a thumb_grid of the latest events' snapshots
    stream: gr.State  # this session's LiveStream: frames, rate, event watcher and log (no model)


def layout() -> CameraPanel:
    """The settings row, camera beside its classified frames, the video row, the latest events."""
    gr.Markdown("Each frame goes through the crop step (faces or eyes found by OpenCV's Haar cascades, the boxes of "
                "a detection run trained here, `run:NAME`, or the whole frame) and the run; boxes, classes and "
                "confidences are drawn. An **event** is logged, with a snapshot, when a crop is decided the event "
                "class at the confidence below for that many frames in a row (in `checkpoints/<run>/events/`).")
    with gr.Row():
        crop = gr.Dropdown(CROPS, value="faces", label="Crop step", scale=1, elem_id="wb-live-crop")
        detect_width = gr.Number(320, precision=0, minimum=64, maximum=4096, scale=1, elem_id="wb-live-width",
                                 label="Find faces at width (px)", info="smaller is faster; misses small faces")
        detect_every = gr.Number(3, precision=0, minimum=1, maximum=100, scale=1, elem_id="wb-live-every",
                                 label="Search whole frame every N", info="camera; faces followed between")
        event_class = gr.Dropdown([NO_EVENTS], value=NO_EVENTS, label="Event: class", scale=1,
                                  elem_id="wb-live-event-class")
        min_confidence = gr.Slider(0.0, 1.0, value=0.8, step=0.01, label="Event: confidence at least", scale=1,
                                   elem_id="wb-live-confidence")
        frames = gr.Number(3, precision=0, minimum=1, label="Event: frames in a row", scale=1,
                           elem_id="wb-live-frames")
    with gr.Row():
        camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Camera (press record)",
                          height=360, elem_id="wb-live-camera")
        shown = gr.Image(label="Classified", type="numpy", format="jpeg", height=360, interactive=False,
                         elem_id="wb-live-frame")
    live_status = gr.Markdown("Pick a run, then press the camera's record button.", elem_id="wb-live-status")
    with gr.Row():
        video_file = gr.File(label="Or a video file (.mp4, .avi, .mov, .mkv, .webm, ...)", scale=3,
                             elem_id="wb-video-file")
        every = gr.Number(5, precision=0, minimum=1, label="Every N-th frame", scale=1, elem_id="wb-video-every")
        video_btn = gr.Button("Predict video", variant="primary", scale=1, elem_id="wb-video-go")
    video_status = gr.Markdown(elem_id="wb-video-status")
    video_table = gr.Dataframe(label="Per sampled frame and crop", interactive=False, max_height=300,
                               headers=["time_s", "frame", "crop", "x", "y", "w", "h", "class", "confidence"],
                               elem_id="wb-video-table")
    video_csv = gr.File(label="The whole table (CSV)", interactive=False, visible=False, elem_id="wb-video-csv")
    gr.Markdown("#### Latest events")
    events_table = gr.Dataframe(headers=EVENT_COLUMNS, interactive=False, elem_id="wb-events-table")
    snapshots = thumb_grid(elem_id="wb-events-snapshots", label="Snapshots, newest first", tile=200,
                           height="480px", empty="No events yet.")
    return CameraPanel(crop, detect_width, detect_every, event_class, min_confidence, frames, camera, shown,
                       live_status, video_file, every, video_btn, video_status, video_table, video_csv, events_table,
                       snapshots, gr.State(None))


# -- handlers: call the core, shape for display -----------------------------------------------
def live_frame(ws: Workspace, runs: RunCache, p: CameraPanel, frame: np.ndarray | None, run: str | None, crop: str,
               detect_width: float | None, event_class: str | None, min_confidence: float, frames: float | None,
               stream: Any, detect_every: float | None = None) -> dict:
    """One camera frame: classified and drawn, the running count and rate; a new event listed. A bad setting is
    shown in the status and the frame passed through, so the stream goes on once it is fixed."""
    if frame is None:
        return {}
    try:
        settings = live.LiveSettings(run or "", crop, int(detect_width or 320),
                                     _rule(event_class, min_confidence, frames), int(detect_every or live.DETECT_EVERY))
        if not run:
            raise WorkbenchError("Pick a run to classify the camera's frames.")
        loaded = runs.get(ws.run(run))
        if stream is None or stream.settings != settings:
            stream = live.LiveStream.start(settings, loaded)
        handled = stream.step(stream.classifier(loaded), frame)
    except WorkbenchError as e:
        return {p.shown: frame, p.live_status: f"**Not classified:** {e}", p.stream: None}
    out = {p.shown: handled.image, p.live_status: handled.status + "".join(f"\n- {n}" for n in stream.notes),
           p.stream: stream}
    if handled.event is not None:
        out.update(_events_view(p, stream.log))
    return out


def predict_video_file(ws: Workspace, runs: RunCache, p: CameraPanel, run: str | None, video_file: str | None, crop: str,
                       detect_width: float | None, event_class: str | None, min_confidence: float,
                       frames: float | None, every: float | None, progress: gr.Progress = gr.Progress()) -> dict:
    """The uploaded video, every N-th frame: its table (first rows shown, all in the CSV), its events."""
    if not run or not video_file:
        fail(WorkbenchError("Pick a run and add a video file."))
    try:
        picked = ws.run(run)
        result = video.predict_videos(picked, [video_file], every=int(every or 1), crop=crop,
                                      detect_width=int(detect_width or 320),
                                      rule=_rule(event_class, min_confidence, frames), loaded=runs.get(picked),
                                      progress=gr_progress(progress))
    except WorkbenchError as e:
        fail(WorkbenchError(str(e).replace(video_file, Path(video_file).name)))  # the upload's name, not its temp path
    done = result.results[0]
    csv = result.save_csv(Path(tempfile.mkdtemp(prefix="workbench-video-")) / f"{Path(video_file).stem}-frames.csv",
                          rename=short_names([video_file]))
    text = result.summary() + "".join(f"\n- {n}" for n in result.notes)
    if done.events is not None and done.events.rows:
        text += f"\n- events logged in `{done.events.folder}`"
    shown = done.table.head(SHOWN_ROWS).round(4)
    # a sampled frame with no crop keeps its row (the timeline has no gaps); say so instead of blank cells
    shown["class"] = shown["class"].astype(object).where(shown["class"].notna(), NOTHING_FOUND)
    return {p.video_status: text, p.video_table: shown, p.video_csv: gr.File(str(csv), visible=True), **_events_view(p, done.events)}


def crop_choices(ws: Workspace) -> gr.Dropdown:
    """The crop steps: faces, eyes, the whole frame, then each detection run as run:NAME."""
    return gr.Dropdown(choices=[*CROPS, *(f"run:{name}" for name in detection_runs(ws))])


def event_classes(ws: Workspace, run: str | None, current: str | None) -> gr.Dropdown:
    """The event class choices of the picked run (its classes), keeping the current one if the run has it."""
    try:
        classes = ws.run(run).classes if run else []
    except WorkbenchError:  # a name typed into the picker that is no run: no classes to offer
        classes = []
    return gr.Dropdown(choices=[NO_EVENTS, *classes], value=current if current in classes else NO_EVENTS)


def _rule(event_class: str | None, min_confidence: float, frames: float | None):
    if not event_class or event_class == NO_EVENTS:
        return None
    return events.EventRule(event_class, float(min_confidence), int(frames or 1))


def _events_view(p: CameraPanel, log: Any) -> dict:
    """The latest events, newest first, and their snapshots (copies in a temporary folder: the log stays in
    checkpoints/, which is never served)."""
    if log is None or not log.rows:
        return {p.events_table: pd.DataFrame(columns=EVENT_COLUMNS), p.snapshots: grid_value([], empty="No events.")}
    copies = Path(tempfile.mkdtemp(prefix="workbench-events-"))
    tiles = []
    for f, r in zip(log.snapshot_paths(EVENTS_SHOWN), reversed(log.rows[-EVENTS_SHOWN:])):
        tiles.append((r["event"], shutil.copy(f, copies / f.name),
                      f"event {r['event']}: {r['class']} {r['confidence']:.2f} at {r['time_s']:.1f} s"))
    return {p.events_table: log.latest(10)[EVENT_COLUMNS], p.snapshots: grid_value(tiles)}


# -- events ----------------------------------------------------------------------------------
def wire(ws: Workspace, runs: RunCache, run: gr.Dropdown, p: CameraPanel) -> None:
    """Connect the panel's events; `run` is the Predict tab's run picker."""
    rule = {"crop": p.crop, "detect_width": p.detect_width, "event_class": p.event_class,
            "min_confidence": p.min_confidence, "frames": p.frames}
    p.crop.focus(bind(crop_choices, ws), outputs=[p.crop], show_progress="hidden", api_visibility="private")
    run.change(bind(event_classes, ws), inputs_kwargs={"run": run, "current": p.event_class}, outputs=[p.event_class],
               api_visibility="private")
    p.camera.stream(bind(live_frame, ws, runs, p),
                    inputs_kwargs={"frame": p.camera, "run": run, **rule, "stream": p.stream,
                                   "detect_every": p.detect_every},
                    outputs=[p.shown, p.live_status, p.stream, p.events_table, p.snapshots],
                    stream_every=STREAM_EVERY_S, time_limit=STREAM_LIMIT_S, concurrency_limit=2,
                    show_progress="hidden", api_name="live_frame")
    p.video_btn.click(bind(predict_video_file, ws, runs, p),
                      inputs_kwargs={"run": run, "video_file": p.video, **rule, "every": p.every},
                      outputs=[p.video_status, p.video_table, p.video_csv, p.events_table, p.snapshots],
                      api_name="predict_video")
