"""Label tab: one image at a time at keyboard speed, a grid for bulk labelling, and a Review view of agreement.

A thin layer over workbench.labeling: `label_layout.layout` builds the components, this module's handler
functions call the core and shape its result (HTML from label_render), and `wire` connects them, the tab's
context bound (workbench.ui.handlers.bind). The session lives in gr.State (one per browser tab); every label and tag is in
the store before the next image is rendered.

Handlers stay in this module under their names: workbench.access lets annotators call the ones it lists here.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Callable, NoReturn

import gradio as gr
from PIL import Image

from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError
from workbench.labeling import (bulk_label, bulk_tag, button_action, disagreements, grid_page, open_image,
                                open_session, pairwise_kappa, settle, step, take_left_out, view, write_download)
from workbench.labeling.session import suggester_status
from workbench.labeling.export import scope_options
from workbench.labeling.grid import VERIFY_ORDER, accept_page, correct, page_items, toggle
from workbench.labeling.keys import class_for_key
from workbench.labeling.names import add_classes, add_tags, remove_tag
from workbench.labeling.next_step import dataset_to_open
from workbench.labeling.session import LabelSession, parse_action
from workbench.labeling.suggest import Suggester, SuggesterPool
from workbench.store import Store
from workbench.ui.context import UIContext
from workbench.ui.handlers import bind
from workbench.ui.label_boxes import CSS as BOX_CSS
from workbench.ui.label_boxes import BoxTab
from workbench.ui.label_boxes import wire as wire_boxes
from workbench.ui.label_layout import GRID, MODES, ONE, LabelUI, layout
from workbench.ui.label_render import CSS as VIEW_CSS
from workbench.ui.label_render import HEAD, class_buttons, gallery_of, render, render_live, tag_buttons
from workbench.ui.thumb_grid import grid_value, picked_id, picked_key

__all__ = ["CSS", "HEAD", "build", "layout", "wire"]

CSS = VIEW_CSS + BOX_CSS


@dataclass
class LabelTab:
    """What the handlers are bound to: the core objects and the components they update."""

    store: Store
    pool: SuggesterPool  # one background suggester per (dataset, annotator); threads, so not in gr.State
    ui: LabelUI


# -- shaping the core's results ----------------------------------------------------------------
def annotator_of(name: str | None, request: gr.Request | None) -> str:
    """With auth on, the login names the annotator (the typed name is ignored); else the typed name."""
    return (getattr(request, "username", None) or name or "").strip()


def session_annotator(s: LabelSession | None, name: str | None, request: gr.Request | None) -> str:
    """Who acts: the session's annotator, else the login or typed name."""
    return s.annotator if s is not None else annotator_of(name, request)


def _error(e: WorkbenchError) -> NoReturn:
    raise gr.Error(str(e), print_exception=False)


def suggester_of(tab: LabelTab, s: LabelSession | None) -> Suggester | None:
    """The session's suggester when it shows suggestions, else None."""
    return tab.pool.get(s.dataset, s.annotator) if s is not None and s.suggest else None


def screen(tab: LabelTab, s: LabelSession) -> str:
    """The viewer's HTML for the session as it stands."""
    return render(view(tab.store, s, suggester_of(tab, s)))


def dataset_parts(tab: LabelTab, ds: str | None) -> dict:
    """The components that follow the dataset's classes and tags: buttons, review filter, grid and settle pickers."""
    ui = tab.ui
    classes = tab.store.classes(ds) if ds else []
    tags = tab.store.tags(ds) if ds else []
    buttons, more = class_buttons(classes)
    return {**dict(zip(ui.one.label_btns, buttons)), ui.one.more_classes: more,
            **dict(zip(ui.one.tag_btns, tag_buttons(tags))),
            ui.c.only: gr.Dropdown(choices=tags + classes), ui.grid.cls: gr.Dropdown(choices=classes),
            ui.grid.tag: gr.Dropdown(choices=tags), ui.admin.old_tag: gr.Dropdown(choices=tags),
            ui.review.verdict: gr.Dropdown(choices=classes)}


def _step(tab: LabelTab, s: LabelSession | None, action: str, target: str | int | None = None) -> dict:
    """One action on the session, then its screen."""
    if s is None:
        return {tab.ui.c.sess: None, tab.ui.one.viewer: render(None, "Press Start first.")}
    tab.pool.activity.touch()  # background work (embedding, retrains) yields while annotators press keys
    return {tab.ui.c.sess: s, tab.ui.one.viewer: render(step(tab.store, s, action, target, suggester_of(tab, s)))}


# -- handlers: session ---------------------------------------------------------------------------
def on_load(tab: LabelTab, saved: str | None, typed: str | None, ds: str | None,
            request: gr.Request) -> tuple[gr.Dropdown, gr.Textbox]:
    """Page load: preselect the dataset the annotator last worked on (else one with images left to label);
    restore the annotator name."""
    user = getattr(request, "username", None)
    pick = gr.Dropdown(choices=tab.store.datasets(), value=ds or dataset_to_open(tab.store, user or saved))
    if user:
        return pick, gr.Textbox(value=user, interactive=False)
    # never overwrite a name typed while the page was loading
    return pick, gr.Textbox(value=saved) if saved and not typed else gr.Textbox()


def on_dataset(tab: LabelTab, ds: str | None, s: LabelSession | None) -> dict:
    """Another dataset picked: the old session ends, so keys never label one set with another's classes."""
    out = dataset_parts(tab, ds)
    if s is not None and s.dataset == ds:
        return {tab.ui.c.sess: s, **out}
    return {tab.ui.c.sess: None, tab.ui.one.viewer: render(None, f"Press Start to label {ds}." if ds else ""), **out}


def on_start(tab: LabelTab, ds: str | None, name: str | None, order_: str, only_: str | None, seed_: float | None,
             suggest_: bool = True, request: gr.Request = None) -> dict:
    """Start: a session on the first image of the chosen order (with suggestions unless turned off)."""
    who = annotator_of(name, request)
    sugg = tab.pool.get(ds, who) if suggest_ and ds and who else None
    try:
        s = open_session(tab.store, ds, who, order_, only_, seed_ or 0, suggester=sugg)
    except WorkbenchError as e:
        _error(e)
    s.suggest = sugg is not None
    ui = tab.ui
    return {ui.c.sess: s, ui.one.viewer: screen(tab, s), **dataset_parts(tab, ds), ui.c.saved_name: s.annotator}


def on_live(tab: LabelTab, s: LabelSession | None, shown: str | None = None):
    """The suggester's state line (embedding, labels still needed, last refresh); unchanged: nothing is sent.
    Only this line is redrawn on the timer: a suggestion never appears under a key already on its way."""
    line = render_live(suggester_status(s, suggester_of(tab, s)))
    return gr.skip() if line == (shown or "") else line


def on_action(tab: LabelTab, s: LabelSession | None, evt: gr.EventData) -> dict:
    """A one-image button (or its key): its id names the action and the class or tag index."""
    return _step(tab, s, *button_action(getattr(evt.target, "elem_id", "") or ""))


def act(tab: LabelTab, s: LabelSession | None, name: str) -> dict:
    """An action by name from an API client: "1", "label:<class>", "tag:<tag>", "accept", "skip", ..."""
    return _step(tab, s, *parse_action(name or ""))


def on_more_class(tab: LabelTab, s: LabelSession | None, cls: str | None) -> dict:
    """A class past the tenth (no key) picked from the dropdown."""
    if not cls:
        return {tab.ui.one.more_classes: gr.skip()}
    return {**_step(tab, s, "label", cls), tab.ui.one.more_classes: gr.Dropdown(value=None)}


def on_goto(tab: LabelTab, target: dict | None, s: LabelSession | None, ds: str | None, name: str | None,
            request: gr.Request) -> dict:
    """An image sent from another view (Review, Evaluate) to fix its label: shown now."""
    if not target:
        return {tab.ui.one.viewer: gr.skip()}
    try:
        s = open_image(tab.store, s, target["dataset"], int(target["image_id"]), annotator_of(name, request))
    except WorkbenchError as e:
        _error(e)
    ui = tab.ui
    return {ui.c.sess: s, ui.one.viewer: screen(tab, s), ui.c.dataset: gr.Dropdown(value=s.dataset),
            **dataset_parts(tab, s.dataset)}


def on_mode(tab: LabelTab, m: str) -> dict:
    """Show the panel of the chosen view."""
    return {panel: gr.Column(visible=m == mode) for panel, mode in zip(tab.ui.panels, MODES)}


def show_one_image(tab: LabelTab) -> dict:
    """Switch to the one-image view (an image was opened, or left out of a verify page)."""
    return {tab.ui.c.mode: gr.Radio(value=ONE), **on_mode(tab, ONE)}


# -- handlers: grid ------------------------------------------------------------------------------
def grid_page_of(tab: LabelTab, s: LabelSession | None, ds: str | None, name: str | None, order_: str,
                 only_: str | None, seed_: float | None, page_: float | None, size_: float | None,
                 request: gr.Request | None) -> dict:
    """A page of the grid in the chosen order (a verify page in the "confident" order), nothing selected; a
    WorkbenchError says why there is none."""
    if not ds:
        raise WorkbenchError("Pick a dataset first.")
    who = session_annotator(s, name, request)
    snap = tab.pool.get(ds, who).latest() if order_ == VERIFY_ORDER and who else None
    g = grid_page(tab.store, ds, who, int(page_ or 1) - 1, int(size_ or 100), order_, only_, int(seed_ or 0), snap)
    tiles, summary = gallery_of(g.items), g.summary(tab.store, ds, who, order_, only_)
    grid = tab.ui.grid
    return {grid.thumbs: grid_value(tiles, selectable=True, empty=summary), grid.picked: [], grid.info: summary,
            grid.ids: g.image_ids, grid.page: g.page + 1, grid.pics: tiles, grid.verify: g.verify, grid.fixed: {},
            grid.accept: gr.Button(visible=g.verify is not None)}


def on_show(tab: LabelTab, s: LabelSession | None, ds: str | None, name: str | None, order_: str,
            only_: str | None, seed_: float | None, page_: float | None, size_: float | None,
            request: gr.Request) -> dict:
    """Show a page of the grid in the chosen order (a verify page in the "confident" order); why there is none in
    its place, and as a warning (an error marked the page number, the line above and the grid "Error", as broken)."""
    try:
        return grid_page_of(tab, s, ds, name, order_, only_, seed_, page_, size_, request)
    except WorkbenchError as e:
        gr.Warning(str(e))
        return no_grid_page(tab, str(e))


def show_grid_if_open(tab: LabelTab, m: str, s: LabelSession | None, ds: str | None, name: str | None,
                      order_: str, only_: str | None, seed_: float | None, page_: float | None,
                      size_: float | None, request: gr.Request) -> dict:
    """The grid switched to (or its dataset or order changed while it is open): its page at once, never an
    empty gallery; why there is none, in its place."""
    if m != GRID:
        return {c: gr.skip() for c in grid_outputs(tab.ui)}
    try:
        return grid_page_of(tab, s, ds, name, order_, only_, seed_, page_, size_, request)
    except WorkbenchError as e:
        return no_grid_page(tab, str(e))


def no_grid_page(tab: LabelTab, why: str) -> dict:
    """No page on the grid: `why` in its place and on the line above it, nothing selected."""
    grid = tab.ui.grid
    return {grid.thumbs: grid_value([], empty=why), grid.picked: [], grid.info: why, grid.ids: [], grid.pics: [],
            grid.verify: None, grid.fixed: {}, grid.accept: gr.Button(visible=False), grid.page: gr.skip()}


def grid_outputs(ui: LabelUI) -> list:
    """What showing a grid page updates."""
    g = ui.grid
    return [g.thumbs, g.picked, g.info, g.ids, g.page, g.pics, g.verify, g.fixed, g.accept]


def on_redraw(tab: LabelTab, s: LabelSession | None, ds: str, name: str | None, ids: list[int],
              chosen: list[int] | None, request: gr.Request) -> dict:
    """The same page again with the new labels, selection kept (so a tag can follow a class)."""
    tiles = gallery_of(page_items(tab.store, ds, session_annotator(s, name, request), ids))
    grid = tab.ui.grid
    return {grid.thumbs: grid_value(tiles, chosen or [], selectable=True), grid.pics: tiles}


def on_pick(tab: LabelTab, ds: str | None, ids: list[int], chosen: list[int] | None, pics: list,
            fixed: dict | None, verify_: tuple | None, evt: gr.EventData) -> tuple[list[int], dict, dict]:
    """A thumbnail clicked or picked by Space: in or out of the selection (its correction dropped). A class key
    on a verify page's thumbnail corrects it to that class (its own suggested class: uncorrected)."""
    image_id, key, fixed = picked_id(evt), picked_key(evt), dict(fixed or {})
    if key is not None:
        cls = class_for_key(key, tab.store.classes(ds)) if ds and verify_ else None
        if cls is None:   # no verify page, or a key with no class: nothing changes
            return chosen or [], gr.skip(), fixed
        fixed = correct(fixed, image_id, cls, verify_[0], ids or [])
        chosen = [i for i in chosen or [] if i != image_id]
    else:
        fixed.pop(image_id, None)
        chosen = toggle(chosen, image_id, ids or [])
    return chosen, grid_value(_corrected(pics or [], fixed), [*chosen, *fixed], selectable=True, corrected=fixed), fixed


def _corrected(pics: list, fixed: dict) -> list:
    """The page's tiles, each corrected one's caption saying its new class."""
    return [(i, path, f"{caption}\n→ {fixed[i]} (typed)" if i in fixed else caption) for i, path, caption in pics]


def select_all(ids: list[int], pics: list) -> tuple[list[int], dict]:
    """Every image of the page selected."""
    return list(ids or []), grid_value(pics or [], ids or [], selectable=True)


def select_none(ids: list[int], pics: list) -> tuple[list[int], dict]:
    """The selection cleared."""
    return [], grid_value(pics or [], [], selectable=True)


def bulk(kind: str) -> Callable:
    """The grid's bulk edit of the selection: "label" it as a class, "tag" or "untag" it."""
    def run(tab: LabelTab, s: LabelSession | None, ds: str, name: str | None, chosen: list[int] | None,
            cls: str | None, tag: str | None, request: gr.Request) -> None:
        who = session_annotator(s, name, request)
        try:
            if kind == "label":
                n = bulk_label(tab.store, ds, chosen or [], cls, who)
                gr.Info(f"{n} label(s) recorded as {cls!r}.")
            else:
                bulk_tag(tab.store, ds, chosen or [], tag, who, on=kind == "tag")
                gr.Info(f"Tag {tag!r} {'on' if kind == 'tag' else 'off'} for {len(chosen)} image(s).")
        except WorkbenchError as e:
            _error(e)
    return run


def on_accept_page(tab: LabelTab, s: LabelSession | None, ds: str, name: str | None, ids: list[int],
                   chosen: list[int] | None, verify_: tuple | None, fixed: dict | None,
                   request: gr.Request) -> dict:
    """Enter on a verify page: label all but the selected images as suggested and the corrected ones as typed
    (one transaction); the selected ones are left out and shown next in One image mode, the runner-up suggested."""
    if not verify_:
        _error(WorkbenchError("This page is not a verify page: pick the 'confident' order and Show page."))
    who = session_annotator(s, name, request)
    tab.pool.activity.touch()
    cls, confs = verify_
    try:
        fixed = {int(i): c for i, c in (fixed or {}).items()}
        chosen = [int(i) for i in chosen or [] if int(i) not in fixed]
        n = accept_page(tab.store, ds, who, cls, list(zip(ids, confs)), chosen, fixed)
    except WorkbenchError as e:
        _error(e)
    suggester = tab.pool.get(ds, who)
    suggester.poke(n)
    if not chosen:
        gr.Info(f"{n - len(fixed)} image(s) labelled {cls!r}" + (f", {len(fixed)} corrected." if fixed else "."))
        return {tab.ui.c.sess: s}
    s = take_left_out(tab.store, s, ds, who, [int(i) for i in chosen], cls, suggester)
    return {tab.ui.c.sess: s, tab.ui.one.viewer: screen(tab, s), **show_one_image(tab)}


# -- handlers: review and admin ------------------------------------------------------------------
def on_refresh(tab: LabelTab, ds: str | None, suggested: bool = True) -> dict:
    """Kappa per pair of annotators and the images they disagree on."""
    if not ds:
        _error(WorkbenchError("Pick a dataset first."))
    d = disagreements(tab.store, ds, suggested=bool(suggested))
    review = tab.ui.review
    return {review.kappa: pairwise_kappa(tab.store, ds, suggested=bool(suggested)).round({"kappa": 3}),
            review.disputed: d.drop(columns=["path"]),
            review.dispute: gr.Dropdown(choices=[(n, int(i)) for n, i in zip(d["name"], d["image_id"])], value=None)}


def on_settle(tab: LabelTab, ds: str | None, image_id: int | None, cls: str | None, suggested: bool) -> dict:
    """A reviewer's verdict on a disputed image."""
    if image_id is None or not cls:
        _error(WorkbenchError("Pick a disputed image and the class to settle it as."))
    settle(tab.store, int(image_id), cls)
    return on_refresh(tab, ds, suggested)


REVIEW_PREVIEW_PX = 240  # the longer side of the Review view's disputed image


def show_disputed(tab: LabelTab, ds: str | None, image_id: int | None) -> Image.Image | None:
    """The picked disputed image, shown beside the verdict (the reviewer settled it unseen, or opened it in the
    labeller and came back)."""
    if not ds or image_id is None:
        return None
    row = tab.store.image(int(image_id))
    if row["dataset"] != ds:
        _error(WorkbenchError(f"Image {image_id} is not in dataset {ds!r}."))
    image = load_image(row["path"])
    scale = REVIEW_PREVIEW_PX / max(image.size)  # a 25 px crop showed at 25 px: enlarged with its pixels kept sharp
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.NEAREST if scale > 1 else Image.LANCZOS)


def open_in_labeller(ds: str | None, image_id: int | None) -> dict | None:
    """The disputed image, for the one-image view (through the app's goto state)."""
    return {"dataset": ds, "image_id": int(image_id)} if image_id is not None else None


def on_add_classes(tab: LabelTab, ds: str | None, text: str | None, s: LabelSession | None) -> dict:
    """Classes typed by the user added; the screen counts them at once."""
    try:
        classes = add_classes(tab.store, ds, text)
    except WorkbenchError as e:
        _error(e)
    here = s is not None and s.dataset == ds
    if here:
        s.message = f"Classes now: {', '.join(classes)}."
    ui = tab.ui
    return {ui.admin.new_classes: "", ui.c.sess: s, ui.one.viewer: screen(tab, s) if here else gr.skip(),
            **dataset_parts(tab, ds)}


def on_add_tags(tab: LabelTab, ds: str | None, text: str | None) -> dict:
    """Tags typed by the user added."""
    try:
        add_tags(tab.store, ds, text)
    except WorkbenchError as e:
        _error(e)
    return {tab.ui.admin.new_tag: "", **dataset_parts(tab, ds)}


def on_remove_tag(tab: LabelTab, ds: str | None, tag: str | None) -> dict:
    """A tag and its assignments removed."""
    try:
        remove_tag(tab.store, ds, tag)
    except WorkbenchError as e:
        _error(e)
    return dataset_parts(tab, ds)


def on_export(tab: LabelTab, ds: str | None, fmt_: str, scope_: str, s: LabelSession | None, name: str | None,
              request: gr.Request) -> str:
    """The labels as a file to download (CSV, Excel, or an ImageFolder zip)."""
    if not ds:
        _error(WorkbenchError("Pick a dataset first."))
    try:
        return str(write_download(tab.store, ds, tempfile.mkdtemp(prefix="workbench-export-"), fmt_,
                                  **scope_options(scope_, session_annotator(s, name, request))))
    except WorkbenchError as e:
        _error(e)


# -- wiring --------------------------------------------------------------------------------------
def build(ctx: UIContext) -> None:
    """The Label tab inside the current Blocks: its layout, then its events; its dataset picker lists every set."""
    tab = LabelTab(ctx.store, ctx.suggesters, layout(ctx.store, ctx.suggesters.floor))
    wire(tab, ctx.goto)
    c = tab.ui.c
    wire_boxes(BoxTab(ctx.ws, tab.ui.boxes), c.dataset, c.annotator, c.suggest_on)
    ctx.follow_datasets(c.dataset)


def wire(tab: LabelTab, goto: gr.State | None = None) -> None:
    """Connect every event of the tab; `goto` is the app's "open this image" state, shared with other tabs."""
    _wire_session(tab)
    _wire_single(tab)
    _wire_grid(tab)
    _wire_review(tab, goto)
    _wire_admin(tab)
    if goto is not None:
        _wire_goto(tab, goto)


def _wire_session(tab: LabelTab) -> None:
    ui, c = tab.ui, tab.ui.c
    gr.on(None, bind(on_load, tab), inputs_kwargs={"saved": c.saved_name, "typed": c.annotator, "ds": c.dataset},
          outputs=[c.dataset, c.annotator], api_visibility="private")
    c.dataset.change(bind(on_dataset, tab), inputs_kwargs={"ds": c.dataset, "s": c.sess},
                     outputs=[c.sess, ui.one.viewer, *ui.parts], api_visibility="private")
    c.start.click(bind(on_start, tab),
                  inputs_kwargs={"ds": c.dataset, "name": c.annotator, "order_": c.order, "only_": c.only,
                                 "seed_": c.seed, "suggest_": c.suggest_on},
                  outputs=[c.sess, ui.one.viewer, *ui.parts, c.saved_name], api_name="label_start"
                  ).then(bind(on_live, tab), inputs=[c.sess, ui.one.live], outputs=[ui.one.live],
                         show_progress="hidden", api_visibility="private")
    c.mode.change(bind(on_mode, tab), inputs=[c.mode], outputs=ui.panels, api_visibility="private")


def _wire_single(tab: LabelTab) -> None:
    c, one = tab.ui.c, tab.ui.one
    buttons = [*one.label_btns, one.prev_btn, one.skip_btn, one.undo_btn, one.accept_btn, *one.tag_btns]
    gr.on([b.click for b in buttons], bind(on_action, tab), inputs=[c.sess], outputs=[c.sess, one.viewer],
          trigger_mode="once", show_progress="hidden", api_visibility="private")
    one.action.submit(bind(act, tab), inputs=[c.sess, one.action], outputs=[c.sess, one.viewer],
                      api_name="label_action", show_progress="hidden")
    one.timer.tick(bind(on_live, tab), inputs=[c.sess, one.live], outputs=[one.live], show_progress="hidden",
                   api_visibility="private")
    one.more_classes.input(bind(on_more_class, tab), inputs=[c.sess, one.more_classes],
                           outputs=[c.sess, one.viewer, one.more_classes], show_progress="hidden",
                           api_visibility="private")


def _wire_grid(tab: LabelTab) -> None:
    ui, c, grid = tab.ui, tab.ui.c, tab.ui.grid
    show_inputs = {"s": c.sess, "ds": c.dataset, "name": c.annotator, "order_": c.order, "only_": c.only,
                   "seed_": c.seed, "page_": grid.page, "size_": grid.size}
    show_outputs = grid_outputs(ui)
    grid.show.click(bind(on_show, tab), inputs_kwargs=show_inputs, outputs=show_outputs, api_visibility="private")
    # switched to, or its dataset or order changed: the grid shows its page without a press of "Show page"
    for changed in (c.mode.change, c.dataset.change, c.order.change):
        changed(bind(show_grid_if_open, tab), inputs_kwargs={"m": c.mode, **show_inputs}, outputs=show_outputs,
                show_progress="hidden", api_visibility="private")
    # "multiple": quick clicks on several thumbnails all count, each applied to the selection the one before left
    grid.thumbs.pick(bind(on_pick, tab), inputs_kwargs={"ds": c.dataset, "ids": grid.ids, "chosen": grid.picked,
                                                         "pics": grid.pics, "fixed": grid.fixed,
                                                         "verify_": grid.verify},
                     outputs=[grid.picked, grid.thumbs, grid.fixed],
                     trigger_mode="multiple", show_progress="hidden", api_visibility="private")
    for button, fn in ((grid.all_btn, select_all), (grid.none_btn, select_none)):
        button.click(fn, inputs=[grid.ids, grid.pics], outputs=[grid.picked, grid.thumbs], api_visibility="private")
    redraw_inputs = {"s": c.sess, "ds": c.dataset, "name": c.annotator, "ids": grid.ids, "chosen": grid.picked}
    for button, kind in ((grid.assign, "label"), (grid.tag_on, "tag"), (grid.tag_off, "untag")):
        button.click(bind(bulk(kind), tab),
                     inputs_kwargs={"s": c.sess, "ds": c.dataset, "name": c.annotator, "chosen": grid.picked,
                                    "cls": grid.cls, "tag": grid.tag}, api_visibility="private").success(
            bind(on_redraw, tab), inputs_kwargs=redraw_inputs, outputs=[grid.thumbs, grid.pics],
            api_visibility="private")
    grid.accept.click(bind(on_accept_page, tab),
                      inputs_kwargs={"s": c.sess, "ds": c.dataset, "name": c.annotator, "ids": grid.ids,
                                     "chosen": grid.picked, "verify_": grid.verify, "fixed": grid.fixed},
                      outputs=[c.sess, ui.one.viewer, c.mode, *ui.panels], api_name="label_accept_page").success(
        bind(on_show, tab), inputs_kwargs=show_inputs, outputs=show_outputs, api_visibility="private")


def _wire_review(tab: LabelTab, goto: gr.State | None) -> None:
    c, review = tab.ui.c, tab.ui.review
    outputs = [review.kappa, review.disputed, review.dispute]
    review.refresh.click(bind(on_refresh, tab), inputs_kwargs={"ds": c.dataset, "suggested": review.with_suggested},
                         outputs=outputs, api_name="label_review")
    review.settle_btn.click(bind(on_settle, tab),
                            inputs_kwargs={"ds": c.dataset, "image_id": review.dispute, "cls": review.verdict,
                                           "suggested": review.with_suggested},
                            outputs=outputs, api_visibility="private")
    review.dispute.change(bind(show_disputed, tab), inputs_kwargs={"ds": c.dataset, "image_id": review.dispute},
                          outputs=[review.preview], api_visibility="private")
    if goto is not None:
        review.open_btn.click(open_in_labeller, inputs=[c.dataset, review.dispute], outputs=[goto],
                              api_visibility="private")


def _wire_admin(tab: LabelTab) -> None:
    ui, c, admin = tab.ui, tab.ui.c, tab.ui.admin
    admin.add_classes.click(bind(on_add_classes, tab),
                            inputs_kwargs={"ds": c.dataset, "text": admin.new_classes, "s": c.sess},
                            outputs=[admin.new_classes, c.sess, ui.one.viewer, *ui.parts], api_name="label_add_classes")
    admin.add_tag.click(bind(on_add_tags, tab), inputs_kwargs={"ds": c.dataset, "text": admin.new_tag},
                        outputs=[admin.new_tag, *ui.parts], api_visibility="private")
    admin.del_tag.click(bind(on_remove_tag, tab), inputs_kwargs={"ds": c.dataset, "tag": admin.old_tag},
                        outputs=ui.parts, api_visibility="private")
    admin.export_btn.click(bind(on_export, tab),
                           inputs_kwargs={"ds": c.dataset, "fmt_": admin.fmt, "scope_": admin.scope, "s": c.sess,
                                          "name": c.annotator},
                           outputs=[admin.export_file], api_name="label_export")


def _wire_goto(tab: LabelTab, goto: gr.State) -> None:
    ui, c = tab.ui, tab.ui.c
    goto.change(bind(on_goto, tab), inputs_kwargs={"target": goto, "s": c.sess, "ds": c.dataset, "name": c.annotator},
                outputs=[c.sess, ui.one.viewer, c.dataset, *ui.parts], api_visibility="private").then(
        bind(show_one_image, tab), outputs=[c.mode, *ui.panels], api_visibility="private")
