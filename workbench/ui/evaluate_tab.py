"""Evaluate tab: test metrics, confusion matrix, ROC, Grad-CAM, error galleries, run comparison, label errors.

Thin: every handler calls workbench.evaluate / workbench.review / workbench.explain and shapes the result.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
import pandas as pd

from workbench import paths
from workbench.errors import WorkbenchError
from workbench.evaluate import evaluate_run, load_evaluation, roc_figure
from workbench.evaluate.plots import confusion_table
from workbench.explain import LABELS as CAM_LABELS
from workbench.review import GROUPINGS
from workbench.review.views import RunCache, cam_view, cell_category, compare_view, error_view, metrics_table
from workbench.train.runs import list_runs, load_config
from workbench.ui.context import UIContext
from workbench.ui.files import serve_dataset_files
from workbench.ui.operating_point import build_operating_point

PAGE_SIZE = 48
CAM_CHOICES = [(label, key) for key, label in CAM_LABELS.items()]
ALL = ("all errors", "")
PREDICTED = ("predicted class", "")


def _fail(e: Exception):
    raise gr.Error(str(e), duration=None) from None


def build(ctx: UIContext) -> None:
    store = ctx.store
    runs: RunCache = ctx.services.setdefault("run_cache", RunCache())
    serve_dataset_files(store)
    gr.set_static_paths([paths.plots_dir()])  # cached CAM thumbnails: written once, never rewritten

    gr.Markdown("### Evaluate and review failures")
    with gr.Row():
        # custom values: runs finished after the page loaded; the core names unknown ones
        run = gr.Dropdown(choices=list_runs(), value=None, label="Run", scale=4, elem_id="wb-eval-run",
                          allow_custom_value=True)
        refresh = gr.Button("Refresh runs", scale=1)
        evaluate_btn = gr.Button("Evaluate best checkpoint on test split", variant="primary", scale=2,
                                 elem_id="wb-eval-evaluate")
    status = gr.Markdown()
    with gr.Row():
        metrics = gr.Dataframe(label="Test metrics", interactive=False, scale=1, elem_id="wb-eval-metrics")
        roc = gr.Plot(label="ROC curve", scale=2, elem_id="wb-eval-roc")
    # a row of its own: a 10-class matrix beside the metrics and the ROC showed only its first three columns
    confusion = gr.Dataframe(label="Confusion matrix: click a cell to see its errors", interactive=False,
                             elem_id="wb-eval-confusion")
    build_operating_point(store, run, metrics)  # threshold chosen on validation, metrics at it vs argmax

    with gr.Accordion("Error gallery", open=True):
        with gr.Row():
            grouping = gr.Radio([(v, k) for k, v in GROUPINGS.items()], value="tag", label="Group errors by", scale=3)
            category = gr.Dropdown(choices=[ALL], value="", label="Category", scale=2, allow_custom_value=True)
            with_cam = gr.Checkbox(label="Grad-CAM thumbnails", value=False, scale=1)
            gallery_method = gr.Dropdown(CAM_CHOICES, value="gradcam", label="CAM method", scale=1)
        with gr.Row():
            prev_btn = gr.Button("◀ Previous", scale=1)
            page = gr.Number(value=1, precision=0, minimum=1, label="Page", scale=1)
            next_btn = gr.Button("Next ▶", scale=1)
            page_label = gr.Markdown()
        gallery = gr.Gallery(label="Misclassified images (most confident first): click one to explain it", columns=8,
                             height=460, object_fit="contain", elem_classes=["pixelated"], allow_preview=False,
                             elem_id="wb-eval-gallery")
        table = gr.Dataframe(label="Error rate per category (vs_rest: how many times the rest's rate)",
                             interactive=False, elem_id="wb-eval-category-table")
        page_ids = gr.State([])

    with gr.Accordion("Explain one image (Grad-CAM)", open=True):
        with gr.Row():
            image_id = gr.Number(label="Image id", precision=0, scale=1, elem_id="wb-eval-image-id")
            cam_class = gr.Dropdown(choices=[PREDICTED], value="", label="Class to explain", scale=1,
                                    allow_custom_value=True)
            cam_method = gr.Dropdown(CAM_CHOICES, value="gradcam", label="Method", scale=1)
            cam_layer = gr.Textbox(label="Target layer (empty: automatic)", placeholder="e.g. layer3 or conv_head",
                                   scale=1)
            explain_btn = gr.Button("Explain", variant="primary", scale=1)
        with gr.Row():
            original = gr.Image(label="Image", type="pil", elem_classes=["pixelated"], height=320)
            cam_image = gr.Image(label="CAM overlay", type="pil", height=320)
        cam_caption = gr.Markdown()
        open_label_btn = gr.Button("Open this image in the Label tab")

    with gr.Accordion("Compare with another run (same test images)", open=False):
        with gr.Row():
            run_b = gr.Dropdown(choices=list_runs(), label="Run B", scale=3, allow_custom_value=True)
            compare_grouping = gr.Radio([(v, k) for k, v in GROUPINGS.items() if k != "confusion"], value="tag",
                                        label="Per category of", scale=2)
            compare_btn = gr.Button("Compare", scale=1)
        compare_table = gr.Dataframe(label="Outcomes per category", interactive=False)
        outcome = gr.Radio(["only A wrong", "only B wrong", "both wrong"], value="only A wrong", label="Show")
        compare_gallery = gr.Gallery(columns=10, height=300, object_fit="contain", elem_classes=["pixelated"],
                                     allow_preview=False)

    with gr.Accordion("Suspected label errors", open=False):
        gr.Markdown("Out-of-fold predictions of a quick head on the run's embeddings, ranked with cleanlab: "
                    "images whose given label the model contradicts most confidently come first.")
        find_btn = gr.Button("Find suspected label errors")
        suspects = gr.Dataframe(interactive=False, label="Suspects (click a row, then open it in the Label tab)",
                                elem_id="wb-eval-suspects")
        with gr.Row():
            suspect_id = gr.Number(label="Image id", precision=0)
            open_suspect_btn = gr.Button("Open in Label tab", variant="primary", elem_id="wb-eval-open-label")

    # -- handlers: call the core, shape for display --------------------------------------------
    def show_run(r):
        if not r:
            return "Pick a run.", None, None, None, gr.Dropdown(choices=[PREDICTED], value="")
        try:
            ev = load_evaluation(r)
            classes = runs.get(r).classes
        except WorkbenchError as e:
            _fail(e)
        if ev is None:
            return ("Not evaluated yet: press **Evaluate**.", None, None, None,
                    gr.Dropdown(choices=[PREDICTED, *classes], value=""))
        return (*_panels(ev), gr.Dropdown(choices=[PREDICTED, *classes], value=""))

    def do_evaluate(r, progress=gr.Progress()):
        if not r:
            _fail(WorkbenchError("Pick a run first."))
        progress(0.1, desc="predicting the test split")
        try:
            ev = evaluate_run(r, store)
        except WorkbenchError as e:
            _fail(e)
        return _panels(ev)

    def show_errors(r, g, cat, pg, cam, method, progress=gr.Progress()):
        if not r or load_evaluation(r) is None:  # evaluating is a button press, not a side effect of browsing
            return [], "", None, gr.Dropdown(choices=[ALL], value=""), [], 1
        try:
            view = error_view(store, r, g, cat or None, int(pg or 1) - 1, PAGE_SIZE, cam_method=method if cam else None,
                              runs=runs)
        except WorkbenchError as e:
            _fail(e)
        return (view.page.items, _gallery_label(view), view.table.round(3),
                gr.Dropdown(choices=[ALL, *view.categories], value=cat if cat in view.categories else ""),
                view.page.image_ids,
                view.page.page + 1)

    def explain(r, i, cls, method, layer):
        if not r or i is None:
            _fail(WorkbenchError("Pick a run and an image (click a gallery thumbnail or type its id)."))
        try:
            v = cam_view(runs.get(r), store, int(i), cls or None, method, (layer or "").strip() or None)
        except WorkbenchError as e:
            _fail(e)
        return v.original, v.overlay, v.caption

    def pick(ids, evt: gr.SelectData):
        return ids[evt.index] if ids and evt.index is not None and evt.index < len(ids) else None

    def pick_cell(r, evt: gr.SelectData):
        """A confusion-matrix cell clicked: show the errors of that (true, predicted) pair."""
        ev = load_evaluation(r) if r else None
        row, col = evt.index if isinstance(evt.index, (list, tuple)) else (None, None)
        if ev is None or row is None or not 1 <= col <= len(ev.classes) or row >= len(ev.classes):
            return gr.skip(), gr.skip()
        cell = cell_category(ev.classes, row, col - 1)
        return "confusion", gr.Dropdown(choices=[ALL, cell], value=cell)

    def do_compare(a, b, g, which):
        if not a or not b:
            _fail(WorkbenchError("Pick run A above and run B here."))
        try:
            v = compare_view(store, a, b, g, which)
        except WorkbenchError as e:
            _fail(e)
        return v.table, [(p, f"#{i}") for p, i in zip(v.shown.path, v.shown.image_id)]

    def find_suspects(r, progress=gr.Progress()):
        if not r:
            _fail(WorkbenchError("Pick a run first."))
        from workbench.review.label_issues import suspected_label_errors

        progress(0.1, desc="embedding the labelled images")
        try:
            sus = suspected_label_errors(runs.get(r), store)
        except WorkbenchError as e:
            _fail(e)
        return sus.drop(columns="path").round(3) if len(sus) else pd.DataFrame({"result": ["No suspects found."]})

    def pick_suspect(df, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        try:
            return int(df.iloc[row]["image_id"])
        except (KeyError, IndexError, ValueError, TypeError):
            return None

    def open_in_label(r, i):
        if not r or i is None:
            _fail(WorkbenchError("Pick a run and an image first."))
        return {"dataset": load_config(r).dataset, "image_id": int(i)}, gr.Tabs(selected="label")

    run_lists = [run, run_b]
    refresh.click(lambda: [gr.Dropdown(choices=list_runs())] * 2, outputs=run_lists, api_visibility="private")

    def on_load():  # runs finished since the app started; the newest one selected
        names = list_runs()
        return gr.Dropdown(choices=names, value=names[-1] if names else None), gr.Dropdown(choices=names)

    gr.on(None, on_load, outputs=run_lists, api_visibility="private")
    gallery_inputs = [run, grouping, category, page, with_cam, gallery_method]
    gallery_outputs = [gallery, page_label, table, category, page_ids, page]
    run.change(show_run, inputs=[run], outputs=[status, metrics, confusion, roc, cam_class],
               api_visibility="private").then(
        lambda: 1, outputs=[page], api_visibility="private").then(
        show_errors, inputs=gallery_inputs, outputs=gallery_outputs, api_visibility="private")
    evaluate_btn.click(do_evaluate, inputs=[run], outputs=[status, metrics, confusion, roc],
                       api_name="evaluate_run").then(
        show_errors, inputs=gallery_inputs, outputs=gallery_outputs, api_visibility="private")
    # .input (the user's own change), not .change: a cell click sets grouping and category together, and a
    # grouping .change could run with the old category and reset the cell's (seen in Chromium)
    for trigger in (grouping.input, category.input, with_cam.change, gallery_method.change):
        trigger(lambda *a: show_errors(*a[:3], 1, *a[4:]), inputs=gallery_inputs, outputs=gallery_outputs,
                api_visibility="private", trigger_mode="always_last")
    page.submit(show_errors, inputs=gallery_inputs, outputs=gallery_outputs, api_name="error_gallery")
    prev_btn.click(lambda *a: show_errors(a[0], a[1], a[2], max(1, int(a[3] or 1) - 1), *a[4:]),
                   inputs=gallery_inputs, outputs=gallery_outputs, api_visibility="private")
    next_btn.click(lambda *a: show_errors(a[0], a[1], a[2], int(a[3] or 1) + 1, *a[4:]),
                   inputs=gallery_inputs, outputs=gallery_outputs, api_visibility="private")
    confusion.select(pick_cell, inputs=[run], outputs=[grouping, category], api_visibility="private").then(
        lambda *a: show_errors(*a[:3], 1, *a[4:]), inputs=gallery_inputs, outputs=gallery_outputs,
        api_visibility="private")
    gallery.select(pick, inputs=[page_ids], outputs=[image_id], api_visibility="private").then(
        explain, inputs=[run, image_id, cam_class, cam_method, cam_layer], outputs=[original, cam_image, cam_caption],
        api_visibility="private")
    explain_btn.click(explain, inputs=[run, image_id, cam_class, cam_method, cam_layer],
                      outputs=[original, cam_image, cam_caption], api_name="explain_image")
    compare_btn.click(do_compare, inputs=[run, run_b, compare_grouping, outcome],
                      outputs=[compare_table, compare_gallery], api_name="compare_runs")
    outcome.change(do_compare, inputs=[run, run_b, compare_grouping, outcome],
                   outputs=[compare_table, compare_gallery], api_visibility="private")
    find_btn.click(find_suspects, inputs=[run], outputs=[suspects], api_name="suspected_label_errors")
    suspects.select(pick_suspect, inputs=[suspects], outputs=[suspect_id], api_visibility="private")
    if ctx.goto is not None and ctx.tabs is not None:
        open_suspect_btn.click(open_in_label, inputs=[run, suspect_id], outputs=[ctx.goto, ctx.tabs],
                               api_visibility="private")
        open_label_btn.click(open_in_label, inputs=[run, image_id], outputs=[ctx.goto, ctx.tabs],
                             api_visibility="private")


def _panels(ev) -> tuple:
    """Status line, metrics table, confusion matrix and ROC of one evaluation."""
    return (_status(ev), metrics_table(ev.metrics), confusion_table(np.array(ev.confusion), ev.classes),
            roc_figure(ev.roc) if ev.roc else None)


def _gallery_label(view) -> str:
    """Page line, and under it which CAM layer the thumbnails use or why they have no overlay."""
    return view.page.label() + (f"  \n{view.cam_note}" if view.cam_note else "")


def _status(ev) -> str:
    notes = "".join(f"\n- {n}" for n in ev.notes)
    return f"**{ev.run}** · {ev.checkpoint} checkpoint · {ev.n} {ev.split} images{notes}"
