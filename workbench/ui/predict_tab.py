"""Predict tab: new images (uploads, a zip, a webcam picture) through a trained run -> probabilities, decisions,
Grad-CAM; and, in its "Camera and video" section (ui/camera_panel.py), a live camera and video files.

`layout` builds the components, the module's handlers call workbench.predict and shape its results for display,
`wire` connects them (each input passed to its handler by name).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from workbench.data.uploads import upload_paths
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.predict.explainable import Explainable
from workbench.predict.sources import short_names
from workbench.review.run_cache import RunCache
from workbench.run import list_runs
from workbench.workspace import Workspace
from workbench.ui import camera_panel
from workbench.ui.context import UIContext
from workbench.ui.handlers import bind, fail, gr_progress

TABLE_LABEL = "Predictions (click a row for its Grad-CAM)"
EXPLAIN_LABEL = "Explain row"

# predicting and Grad-CAM need torch: imported when first used, not to serve the first page
prediction = lazy_import("workbench.predict.predict")
explaining = lazy_import("workbench.predict.explain")
detection = lazy_import("workbench.detect.predict")


@dataclass
class PredictView:
    """The run, the images to predict, the predictions table and the Grad-CAM of a picked row."""

    run: gr.Dropdown
    refresh: gr.Button
    files: gr.File
    camera: gr.Image
    predict_btn: gr.Button
    status: gr.Markdown
    table: gr.Dataframe
    bad: gr.Dataframe
    row: gr.Number
    explain_btn: gr.Button
    original: gr.Image
    cam_image: gr.Image
    cam_caption: gr.Markdown
    shown: gr.State  # this session's Explainable: run, threshold and where each row's image is


def build(ctx: UIContext) -> None:
    """The Predict tab inside the app's Blocks: components laid out and wired."""
    gr.Markdown("### Predict new images, a camera or a video")
    with gr.Row():
        run = gr.Dropdown(choices=list_runs(ctx.ws), value=None, label="Run", scale=4, allow_custom_value=True,
                          elem_id="wb-predict-run")
        refresh = gr.Button("Refresh runs", scale=1)
    with gr.Tabs():
        with gr.Tab("Images", id="predict-images"):
            view = layout(run, refresh)
        with gr.Tab("Camera and video", id="predict-camera", elem_id="wb-predict-camera-tab"):
            panel = camera_panel.layout()
    wire(ctx, view)
    camera_panel.wire(ctx.ws, ctx.runs, run, panel)
    ctx.follow_runs(run)  # runs trained since the page loaded are offered when the list opens


def layout(run: gr.Dropdown, refresh: gr.Button) -> PredictView:
    """Under the run picker (`run`, `refresh`): uploads and webcam picture, the predictions and rejected tables, the
    Grad-CAM of a row."""
    with gr.Row():
        files = gr.File(label="Images or a .zip of images", file_count="multiple", scale=3, elem_id="wb-predict-files")
        camera = gr.Image(label="Or one picture (webcam, paste or upload)", sources=["webcam", "clipboard", "upload"],
                          type="filepath", scale=2, height=240, elem_id="wb-predict-camera")
    predict_btn = gr.Button("Predict", variant="primary", elem_id="wb-predict-go")
    status = gr.Markdown(elem_id="wb-predict-status")
    table = gr.Dataframe(label=TABLE_LABEL, headers=["row", "file", "decision"],
                         interactive=False,
                         elem_id="wb-predict-table")
    bad = gr.Dataframe(label="Not predicted", interactive=False, visible=False, elem_id="wb-predict-bad")
    with gr.Row():
        row = gr.Number(label="Row", precision=0, minimum=0, scale=1, elem_id="wb-predict-row")
        explain_btn = gr.Button(EXPLAIN_LABEL, scale=1, elem_id="wb-predict-explain")
    with gr.Row():
        original = gr.Image(label="Image", type="pil", elem_classes=["pixelated"], height=320)
        cam_image = gr.Image(label="Grad-CAM of the decided class", type="pil", height=320,
                             elem_id="wb-predict-cam")
    cam_caption = gr.Markdown(elem_id="wb-predict-caption")
    return PredictView(run, refresh, files, camera, predict_btn, status, table, bad, row, explain_btn, original,
                       cam_image, cam_caption, gr.State(Explainable.nothing()))


# -- handlers: call the core, shape for display -----------------------------------------------
def kind_labels(ws: Workspace, v: PredictView, run: str | None) -> dict:
    """The table's label, the row button and the Grad-CAM panel for the picked run's kind: a detector's rows are
    boxes, its row shows the image with its boxes, and it has no Grad-CAM."""
    try:
        detector = bool(run) and ws.run(run).is_detector
    except WorkbenchError:  # a run gone since the list was drawn: predicting says so
        detector = False
    if detector:
        return {v.table: gr.Dataframe(label="Boxes found, one row per box (click a row to see its image's boxes)"),
                v.explain_btn: gr.Button("Show row"), v.cam_image: gr.Image(visible=False)}
    return {v.table: gr.Dataframe(label=TABLE_LABEL), v.explain_btn: gr.Button(EXPLAIN_LABEL),
            v.cam_image: gr.Image(visible=True)}


def predict_images(ws: Workspace, runs: RunCache, v: PredictView, run: str | None, files: list | None,
                   picture: str | None, progress: gr.Progress = gr.Progress()) -> dict:
    """Predict the uploaded files (images, zips) and the webcam picture with `run`; row 0 is picked."""
    paths = upload_paths(files, picture)
    if not run or not paths:
        fail(WorkbenchError("Pick a run and add images (files, a .zip, or a webcam picture)."))
    if ws.run(run).is_detector:
        return detect_images(ws, runs, v, run, paths, progress)
    try:
        picked = ws.run(run)
        result = prediction.predict_paths(picked, paths, progress=gr_progress(progress), loaded=runs.get(picked))
    except WorkbenchError as e:
        fail(e)
    table, rejected = result.display(short_names(paths))
    text = result.summary() + "".join(f"\n- {n}" for n in result.notes)
    return {v.status: text, v.table: table, v.bad: gr.Dataframe(rejected, visible=bool(result.bad)),
            v.shown: Explainable.of(result), v.row: 0}


def detect_images(ws: Workspace, runs: RunCache, v: PredictView, run: str, paths: list[str],
                  progress: gr.Progress) -> dict:
    """A detection run: one table row per box (at the run's operating score); row 0's image is drawn."""
    try:
        picked = ws.run(run)
        min_score = detection.run_min_score(picked)
        result = detection.detect_paths(runs.get(picked), paths, min_score=min_score, progress=gr_progress(progress))
    except WorkbenchError as e:
        fail(e)
    table, rejected = result.display(short_names(paths))
    shown = Explainable(run, min_score, tuple(s.key() for s in result.row_sources()))
    return {v.status: result.summary(), v.table: table, v.bad: gr.Dataframe(rejected, visible=bool(result.bad)),
            v.shown: shown, v.row: 0}


def explain_row(ws: Workspace, runs: RunCache, v: PredictView, shown: Explainable, row: float | None) -> dict:
    """The image of a predictions row, its Grad-CAM and a caption naming the decision (a detection run: the image
    with its boxes drawn)."""
    try:
        source = shown.source(row)
        picked = ws.run(shown.run)
        if picked.is_detector:
            image, caption = detection.drawn(runs.get(picked), source, shown.threshold)
            caption = caption.replace(source.name, short_names([source.path])(source.name), 1)
            return {v.original: image, v.cam_image: None, v.cam_caption: caption}  # boxes drawn; no Grad-CAM
        ex = explaining.explain_prediction(runs.get(picked), source, threshold=shown.threshold)
    except WorkbenchError as e:
        fail(e)
    caption = ex.caption.replace(source.name, short_names([source.path])(source.name), 1)
    return {v.original: ex.original, v.cam_image: ex.overlay, v.cam_caption: caption}


def picked_row(evt: gr.SelectData) -> int:
    """The row of a clicked table cell."""
    return evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index


def refresh_runs(ws: Workspace) -> gr.Dropdown:
    """The runs as they are now (a finished training adds one)."""
    return gr.Dropdown(choices=list_runs(ws))


def on_load(ws: Workspace) -> gr.Dropdown:
    """Runs finished since the app started; the newest one selected."""
    names = list_runs(ws)
    return gr.Dropdown(choices=names, value=names[-1] if names else None)



# -- events ----------------------------------------------------------------------------------
def wire(ctx: UIContext, v: PredictView) -> None:
    """Connect the tab's events to its handlers, the store, loaded runs and components bound."""
    v.refresh.click(bind(refresh_runs, ctx.ws), outputs=[v.run], api_visibility="private")
    v.run.change(bind(kind_labels, ctx.ws, v), inputs_kwargs={"run": v.run},
                 outputs=[v.table, v.explain_btn, v.cam_image], api_visibility="private")
    gr.on(None, bind(on_load, ctx.ws), outputs=[v.run], api_visibility="private")
    explain = bind(explain_row, ctx.ws, ctx.runs, v)
    row_input = {"shown": v.shown, "row": v.row}
    cam_outputs = [v.original, v.cam_image, v.cam_caption]
    v.predict_btn.click(bind(predict_images, ctx.ws, ctx.runs, v),
                        inputs_kwargs={"run": v.run, "files": v.files, "picture": v.camera},
                        outputs=[v.status, v.table, v.bad, v.shown, v.row], api_name="predict_images").success(
        explain, inputs_kwargs=row_input, outputs=cam_outputs, api_visibility="private")
    v.table.select(picked_row, outputs=[v.row], api_visibility="private").then(
        explain, inputs_kwargs=row_input, outputs=cam_outputs, api_visibility="private")
    v.explain_btn.click(explain, inputs_kwargs=row_input, outputs=cam_outputs, api_name="explain_prediction")
