"""Predict tab: new images (uploads, a zip, the webcam) through a trained run -> probabilities, decisions, Grad-CAM.

Thin: handlers call workbench.predict and shape its result for display.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.predict import ImageSource, explain_prediction, predict_paths
from workbench.review.views import RunCache
from workbench.train.runs import list_runs
from workbench.ui.context import UIContext


def _fail(e: Exception):
    raise gr.Error(str(e), duration=None) from None


def _gr_progress(progress):
    return lambda it, total, desc: progress.tqdm(it, total=total, desc=desc)


def build(ctx: UIContext) -> None:
    store = ctx.store
    runs: RunCache = ctx.runs

    gr.Markdown("### Predict new images")
    with gr.Row():
        run = gr.Dropdown(choices=list_runs(), value=None, label="Run", scale=4, allow_custom_value=True,
                          elem_id="wb-predict-run")
        refresh = gr.Button("Refresh runs", scale=1)
    with gr.Row():
        files = gr.File(label="Images or a .zip of images", file_count="multiple", scale=3, elem_id="wb-predict-files")
        camera = gr.Image(label="Or one picture (webcam, paste or upload)", sources=["webcam", "clipboard", "upload"],
                          type="filepath", scale=2, height=240, elem_id="wb-predict-camera")
    predict_btn = gr.Button("Predict", variant="primary", elem_id="wb-predict-go")
    status = gr.Markdown(elem_id="wb-predict-status")
    table = gr.Dataframe(label="Predictions (click a row for its Grad-CAM)", interactive=False,
                         elem_id="wb-predict-table")
    bad = gr.Dataframe(label="Not predicted", interactive=False, visible=False, elem_id="wb-predict-bad")
    with gr.Row():
        row = gr.Number(label="Row", precision=0, minimum=0, scale=1, elem_id="wb-predict-row")
        explain_btn = gr.Button("Explain row", scale=1)
    with gr.Row():
        original = gr.Image(label="Image", type="pil", elem_classes=["pixelated"], height=320)
        cam_image = gr.Image(label="Grad-CAM of the decided class", type="pil", height=320,
                             elem_id="wb-predict-cam")
    cam_caption = gr.Markdown(elem_id="wb-predict-caption")
    shown = gr.State({})  # this session's predictions: run, threshold and where each row's image is

    # -- handlers: call the core, shape for display --------------------------------------------
    def do_predict(r, uploaded, picture, progress=gr.Progress()):
        paths = [*(uploaded or []), *([picture] if picture else [])]
        if not r or not paths:
            _fail(WorkbenchError("Pick a run and add images (files, a .zip, or a webcam picture)."))
        try:
            result = predict_paths(r, paths, store=store, progress=_gr_progress(progress), loaded=runs.get(r))
        except WorkbenchError as e:
            _fail(e)
        names = _short_names(paths)
        frame = result.table.assign(file=result.table["file"].map(names)).round(4)
        frame.insert(0, "row", range(len(frame)))
        rejected = pd.DataFrame({"file": [names(f) for f, _ in result.bad], "reason": [why for _, why in result.bad]})
        text = result.summary() + "".join(f"\n- {n}" for n in result.notes)
        state = {"run": r, "threshold": result.threshold, "sources": [s.key() for s in result.sources]}
        return text, frame, gr.Dataframe(rejected, visible=bool(result.bad)), state, 0

    def explain_row(state, i):
        if not state or i is None or not 0 <= int(i) < len(state.get("sources", [])):
            _fail(WorkbenchError("Predict some images first, then pick a row of the table."))
        name, path, member = state["sources"][int(i)]
        try:
            ex = explain_prediction(runs.get(state["run"]), ImageSource(name, Path(path), member),
                                    threshold=state["threshold"])
        except WorkbenchError as e:
            _fail(e)
        return ex.original, ex.overlay, ex.caption.replace(name, _short_names([path])(name), 1)

    def pick(evt: gr.SelectData):
        return evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index

    refresh.click(lambda: gr.Dropdown(choices=list_runs()), outputs=[run], api_visibility="private")

    def on_load():  # runs finished since the app started; the newest one selected
        names = list_runs()
        return gr.Dropdown(choices=names, value=names[-1] if names else None)

    gr.on(None, on_load, outputs=[run], api_visibility="private")
    cam_outputs = [original, cam_image, cam_caption]
    predict_btn.click(do_predict, inputs=[run, files, camera], outputs=[status, table, bad, shown, row],
                      api_name="predict_images").success(
        explain_row, inputs=[shown, row], outputs=cam_outputs, api_visibility="private")
    table.select(pick, outputs=[row], api_visibility="private").then(
        explain_row, inputs=[shown, row], outputs=cam_outputs, api_visibility="private")
    explain_btn.click(explain_row, inputs=[shown, row], outputs=cam_outputs, api_name="explain_prediction")


def _short_names(paths: list[str]):
    """Uploads live in gradio's temp folders: show 'photo.png' or 'set.zip:a/b.png', not the temp path."""
    prefixes = sorted({str(p): Path(p).name for p in paths}.items(), key=lambda kv: -len(kv[0]))

    def short(name: str) -> str:
        return next((short + name[len(full):] for full, short in prefixes if name.startswith(full)), name)
    return short
