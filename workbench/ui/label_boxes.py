"""The Label tab's Boxes mode: draw, move, resize, re-class and delete boxes on one image at a time, with suggested
boxes to accept. Layout plus named handlers over workbench.labeling.boxes; the drawing surface is box_canvas.

Every operation the canvas sends is one call of `on_box_event`, one store transaction, before the screen is redrawn.
Handlers stay in this module under their names: workbench.access lets annotators call the ones it lists here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

import gradio as gr

from workbench.errors import WorkbenchError
from workbench.labeling.box_suggest import MIN_SCORE, BoxSuggester, operating_score, pick_suggester
from workbench.labeling.boxes import BoxSession, apply, open_boxes, screen
from workbench.workspace import Workspace
from workbench.ui import box_canvas
from workbench.ui.box_canvas import CSS, ELEM_ID, PANEL_ID
from workbench.ui.handlers import bind
from workbench.ui.label_render import image_src

__all__ = ["CSS", "BoxesUI", "BoxTab", "layout", "wire"]

START_MESSAGE = "Pick a dataset, type your name and press 'Open boxes'."


@dataclass
class BoxesUI:
    """The Boxes panel: open a session, the canvas, and the box classes (admin)."""

    panel: gr.Column
    start: gr.Button
    min_score: gr.Slider
    canvas: gr.HTML
    sess: gr.State
    new_classes: gr.Textbox
    add_classes: gr.Button


@dataclass
class BoxTab:
    """What the handlers are bound to: the workspace (store and runs), and the suggesters made so far by name."""

    ws: Workspace
    ui: BoxesUI
    suggesters: dict[str, BoxSuggester] = field(default_factory=dict)

    @property
    def store(self):
        return self.ws.store

    def pick(self, dataset: str, min_score: float = MIN_SCORE) -> BoxSuggester | None:
        """What suggests boxes for `dataset` now (its newest detector, else Haar cascades), kept by name."""
        try:
            found = pick_suggester(self.ws, dataset, min_score)
        except WorkbenchError as e:
            _error(e)
        if found is None:
            return None
        return self.suggesters.setdefault(found.name, found)

    def of(self, s: BoxSession) -> BoxSuggester | None:
        """The suggester of a session (the one picked when it was opened)."""
        return self.suggesters.get(s.suggester) if s.suggester else None


def layout() -> BoxesUI:
    """Build the Boxes panel (hidden until the Boxes mode is picked) inside the current Blocks."""
    with gr.Column(visible=False, elem_id=PANEL_ID) as panel:
        with gr.Row():
            start = gr.Button("Open boxes", variant="primary", scale=1, elem_id="wb-boxes-start")
            min_score = gr.Slider(0.01, 0.99, value=MIN_SCORE, step=0.01, scale=1, elem_id="wb-boxes-min-score",
                                  label="Suggest a detector's boxes scored at least", info=f"default {MIN_SCORE:g}")
            gr.Markdown("Drag to draw a box; **1**..**9**, **0** pick the class (and give it to the selected box); "
                        "arrows nudge (Shift: 10 px); **Del** deletes; **Enter** accepts the dashed suggestions; "
                        "**c** copies the previous image's boxes; **z** undoes; **n** done → next; **s** skips.")
        canvas = gr.HTML(box_canvas.empty(START_MESSAGE), html_template=box_canvas.TEMPLATE,
                         js_on_load=box_canvas.JS, elem_id=ELEM_ID, apply_default_css=False)
        with gr.Accordion("Box classes", open=False):
            with gr.Row():
                new_classes = gr.Textbox(label="Add box classes (comma separated, e.g. face, eye)", scale=3,
                                         elem_id="wb-new-box-classes")
                add_classes = gr.Button("Add box classes", scale=1, elem_id="wb-add-box-classes")
    return BoxesUI(panel, start, min_score, canvas, gr.State(None), new_classes, add_classes)


def _error(e: WorkbenchError) -> NoReturn:
    raise gr.Error(str(e), print_exception=False)


def _value(tab: BoxTab, s: BoxSession, new_image: bool, selected: int | None = None) -> str:
    sugg = tab.of(s)
    shown = screen(tab.store, s, sugg.suggest if sugg else None)
    src = None
    if new_image and shown.get("image_id") is not None:
        try:
            src = image_src(shown["path"])[0]
        except (OSError, ValueError, WorkbenchError) as e:
            shown["message"] = f"Cannot show {shown['name']}: {e}"
    return box_canvas.payload(shown, src, selected, s.seq)


def on_boxes_start(tab: BoxTab, ds: str | None, name: str | None, suggest_: bool = True,
                   min_score: float | None = MIN_SCORE, request: gr.Request = None) -> dict:
    """Open boxes: the first image this annotator has not boxed, with suggested boxes unless turned off (a
    detector's at or above `min_score`)."""
    who = (getattr(request, "username", None) or name or "").strip()
    if not ds:
        _error(WorkbenchError("Pick a dataset first."))
    try:
        s = open_boxes(tab.store, ds, who)
    except WorkbenchError as e:
        _error(e)
    sugg = tab.pick(ds, float(MIN_SCORE if min_score is None else min_score)) if suggest_ else None
    s.suggester = sugg.name if sugg else ""
    return {tab.ui.sess: s, tab.ui.canvas: _value(tab, s, new_image=True)}


def on_boxes_dataset(tab: BoxTab, ds: str | None) -> dict:
    """The score slider set to the floor the set's newest detector chose on its val split (the info says which)."""
    if not ds:
        return {tab.ui.min_score: gr.Slider()}
    score, why = operating_score(tab.ws, ds)
    return {tab.ui.min_score: gr.Slider(value=score, info=why)}


def on_box_event(tab: BoxTab, s: BoxSession | None, evt: gr.EventData) -> dict:
    """One operation from the canvas (draw, move, class, delete, copy, undo, accept, done, next, prev)."""
    if s is None:
        return {tab.ui.sess: None, tab.ui.canvas: box_canvas.empty("Press 'Open boxes' first.")}
    op = dict(getattr(evt, "_data", None) or {})
    before = s.image_id
    sugg = tab.of(s)
    undo_depth = len(s.undo)
    apply(tab.store, s, op, sugg.suggest if sugg else None)
    drawn = op.get("op") == "add" and len(s.undo) > undo_depth
    selected = s.undo[-1][1][0][0] if drawn else None
    return {tab.ui.sess: s, tab.ui.canvas: _value(tab, s, s.image_id != before, selected)}


def on_add_box_classes(tab: BoxTab, ds: str | None, text: str | None, s: BoxSession | None) -> dict:
    """Box classes typed by an admin added (the set becomes a detection set, or both)."""
    names = [t.strip() for t in (text or "").split(",") if t.strip()]
    if not ds or not names:
        _error(WorkbenchError("Pick a dataset and type box class names, e.g. face, eye."))
    try:
        tab.store.add_box_classes(ds, names)
    except WorkbenchError as e:
        _error(e)
    out = {tab.ui.new_classes: ""}
    if s is not None and s.dataset == ds:
        out[tab.ui.canvas] = _value(tab, s, new_image=True)
    return out


def wire(tab: BoxTab, dataset: gr.Dropdown, annotator: gr.Textbox, suggest_on: gr.Checkbox) -> None:
    """Connect the Boxes panel's events; the dataset, annotator and suggestion switch are the tab's."""
    ui = tab.ui
    dataset.change(bind(on_boxes_dataset, tab), inputs_kwargs={"ds": dataset}, outputs=[ui.min_score],
                   show_progress="hidden", api_visibility="private")
    ui.start.click(bind(on_boxes_start, tab), inputs_kwargs={"ds": dataset, "name": annotator, "suggest_": suggest_on,
                                                             "min_score": ui.min_score},
                   outputs=[ui.sess, ui.canvas], api_name="boxes_start")
    # "multiple": every nudge and every box is its own call, none dropped while the previous one runs
    ui.canvas.select(bind(on_box_event, tab), inputs=[ui.sess], outputs=[ui.sess, ui.canvas], trigger_mode="multiple",
                     show_progress="hidden", api_name="boxes_event")
    ui.add_classes.click(bind(on_add_box_classes, tab), inputs_kwargs={"ds": dataset, "text": ui.new_classes,
                                                                       "s": ui.sess},
                         outputs=[ui.new_classes, ui.canvas], api_name="boxes_add_classes")
