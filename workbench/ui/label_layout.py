"""The Label tab's components: built by `layout` inside the current Blocks, held in dataclasses by section, so
handlers name what they update ({ui.one.viewer: html}) instead of matching positions in long lists."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from workbench.labeling import ORDERS
from workbench.labeling.agreement import KAPPA_COLUMNS
from workbench.labeling.export import FORMATS, SCOPES
from workbench.labeling.keys import MAX_CLASS_KEYS
from workbench.labeling.suggest import SUGGESTION_FLOOR
from workbench.store import Store
from workbench.ui import label_boxes
from workbench.ui.label_boxes import BoxesUI
from workbench.ui.label_render import MAX_TAG_BUTTONS, render
from workbench.ui.thumb_grid import thumb_grid

LIVE_EVERY_S = 2.0  # how often the suggester's state line is read again
MODES = ("One image", "Grid", "Review", "Boxes")
ONE, GRID = MODES[0], MODES[1]


@dataclass
class Controls:
    """The session row (dataset, annotator, order, ...) and the view switch; the per-tab state."""

    sess: gr.State
    saved_name: gr.BrowserState
    dataset: gr.Dropdown
    annotator: gr.Textbox
    order: gr.Dropdown
    only: gr.Dropdown
    seed: gr.Number
    suggest_on: gr.Checkbox
    start: gr.Button
    mode: gr.Radio


@dataclass
class Single:
    """One image at a time: the viewer, a button per class (id wb-label-<class index>) and per tag, the moves."""

    panel: gr.Column
    viewer: gr.HTML
    live: gr.HTML      # the suggester's state, refreshed by `timer` (it changes while nobody presses a key)
    timer: gr.Timer
    label_btns: list[gr.Button]
    more_classes: gr.Dropdown
    prev_btn: gr.Button
    skip_btn: gr.Button
    undo_btn: gr.Button
    accept_btn: gr.Button
    tag_btns: list[gr.Button]
    action: gr.Textbox  # API clients send actions by name (see labeling.session.parse_action)


@dataclass
class Grid:
    """A page of thumbnails: select many, assign one class or tag; a verify page accepted with Enter."""

    panel: gr.Column
    page: gr.Number
    size: gr.Number
    show: gr.Button
    info: gr.Markdown
    thumbs: gr.HTML    # the page's thumbnails (ui.thumb_grid): a click picks one, the selected ones are framed
    all_btn: gr.Button
    none_btn: gr.Button
    cls: gr.Dropdown
    assign: gr.Button
    tag: gr.Dropdown
    tag_on: gr.Button
    tag_off: gr.Button
    accept: gr.Button
    ids: gr.State      # image ids of the page on screen
    picked: gr.State   # the selected image ids (held by the server; clicks and keys toggle them)
    verify: gr.State   # a verify page on screen: (class, [confidence per image])
    pics: gr.State     # (image id, path, caption) of the page on screen
    fixed: gr.State    # a verify page's corrections: {image id: class typed with its key under the cursor}


@dataclass
class Review:
    """Agreement between annotators and the disputed images."""

    panel: gr.Column
    refresh: gr.Button
    with_suggested: gr.Checkbox
    kappa: gr.Dataframe
    disputed: gr.Dataframe
    dispute: gr.Dropdown
    verdict: gr.Dropdown
    settle_btn: gr.Button
    open_btn: gr.Button
    preview: gr.Image  # the picked disputed image: seen before it is settled


@dataclass
class Admin:
    """Classes, tags and export."""

    new_classes: gr.Textbox
    add_classes: gr.Button
    new_tag: gr.Textbox
    add_tag: gr.Button
    old_tag: gr.Dropdown
    del_tag: gr.Button
    fmt: gr.Radio
    scope: gr.Radio
    export_btn: gr.Button
    export_file: gr.File


@dataclass
class LabelUI:
    """Every component of the tab, by section."""

    c: Controls
    one: Single
    grid: Grid
    review: Review
    admin: Admin
    boxes: BoxesUI

    @property
    def parts(self) -> list:
        """The components that follow the dataset's classes and tags (see dataset_parts)."""
        return [*self.one.label_btns, self.one.more_classes, *self.one.tag_btns, self.c.only, self.grid.cls,
                self.grid.tag, self.admin.old_tag, self.review.verdict]

    @property
    def panels(self) -> list:
        return [self.one.panel, self.grid.panel, self.review.panel, self.boxes.panel]


def layout(store: Store, floor: float = SUGGESTION_FLOOR) -> LabelUI:
    """Build the tab's components inside the current Blocks (`floor`: the suggestions' confidence floor, stated)."""
    c, one, grid, review = _controls(store, floor), _single(), _grid(), _review()
    return LabelUI(c=c, one=one, grid=grid, review=review, boxes=label_boxes.layout(), admin=_admin())


def _controls(store: Store, floor: float) -> Controls:
    sess = gr.State(None)
    # the typed annotator name outlives a refresh or a server restart (browser localStorage); it is just a
    # name, not a credential, so a fixed key and secret are fine (with --auth the login names the annotator)
    saved_name = gr.BrowserState("", storage_key="workbench-annotator", secret="workbench-annotator-name")
    with gr.Row():
        dataset = gr.Dropdown(choices=store.datasets(), value=None, label="Dataset", scale=2, elem_id="wb-dataset")
        annotator = gr.Textbox(label="Annotator", placeholder="your name", scale=2, elem_id="wb-annotator")
        order = gr.Dropdown(choices=[(d, k) for k, d in ORDERS.items()], value="unlabeled", label="Order", scale=4)
        only = gr.Dropdown(choices=[], value=None, label="Only this tag / class (review orders)", scale=2,
                           allow_custom_value=True)
        seed = gr.Number(value=0, precision=0, label="Seed (random order)", scale=1, minimum=0)
        suggest_on = gr.Checkbox(value=True, label="Suggest labels", info=f"none under {floor:.0%} sure", scale=1,
                                 elem_id="wb-suggest-on")
        start = gr.Button("Start", variant="primary", scale=1, elem_id="wb-start")
    mode = gr.Radio(list(MODES), value=ONE, show_label=False, elem_id="wb-mode")
    return Controls(sess, saved_name, dataset, annotator, order, only, seed, suggest_on, start, mode)


def _single() -> Single:
    with gr.Column(elem_id="wb-label-panel") as panel:
        viewer = gr.HTML(render(None), elem_id="wb-label-view")
        live, timer = gr.HTML("", elem_id="wb-suggest-live-box", padding=False), gr.Timer(LIVE_EVERY_S)
        with gr.Row():
            label_btns = [gr.Button(visible=False, variant="primary", elem_id=f"wb-label-{i}", min_width=80)
                          for i in range(MAX_CLASS_KEYS)]
            more_classes = gr.Dropdown(choices=[], value=None, visible=False, label="More classes (no key)",
                                       elem_id="wb-more-classes", min_width=160)
        with gr.Row():
            prev_btn = gr.Button("← previous", elem_id="wb-prev")
            skip_btn = gr.Button("skip (s / →)", elem_id="wb-skip")
            undo_btn = gr.Button("undo (Backspace / u)", elem_id="wb-undo")
            accept_btn = gr.Button("accept suggestion (Enter)", elem_id="wb-accept")
        with gr.Row():
            tag_btns = [gr.Button(visible=False, size="sm", elem_id=f"wb-tag-{i}", min_width=60)
                        for i in range(MAX_TAG_BUTTONS)]
        action = gr.Textbox(visible=False)
    return Single(panel, viewer, live, timer, label_btns, more_classes, prev_btn, skip_btn, undo_btn, accept_btn, tag_btns,
                  action)


def _grid() -> Grid:
    with gr.Column(visible=False, elem_id="wb-grid") as panel:
        with gr.Row():
            page = gr.Number(value=1, precision=0, minimum=1, label="Page", scale=1)
            size = gr.Number(value=100, precision=0, minimum=1, maximum=1000, label="Per page", scale=1)
            show = gr.Button("Show page", scale=1, elem_id="wb-grid-show")
            info = gr.Markdown(elem_id="wb-grid-info")
        # the actions above the thumbnails: in reach whatever the page size
        with gr.Row():
            all_btn = gr.Button("Select all", size="sm", elem_id="wb-grid-all")
            none_btn = gr.Button("Select none", size="sm", elem_id="wb-grid-none")
            cls = gr.Dropdown(choices=[], label="Class", scale=2, elem_id="wb-grid-class")
            assign = gr.Button("Label selected", variant="primary", scale=1, elem_id="wb-grid-assign")
            tag = gr.Dropdown(choices=[], label="Tag", scale=2)
            tag_on = gr.Button("Tag selected", scale=1)
            tag_off = gr.Button("Untag selected", scale=1)
        with gr.Row():
            accept = gr.Button("Accept page as suggested (Enter): selected images are left out, corrected ones typed",
                               variant="primary", visible=False, elem_id="wb-grid-accept")
        gr.Markdown("Click a thumbnail to select it (framed in orange), click it again to deselect; or move the blue "
                    "cursor with the **arrow keys** and press **Space**. On a verify page a **class key** corrects "
                    "the thumbnail under the cursor (framed in green) and **Enter** accepts the page.",
                    elem_classes=["wb-hint"])
        thumbs = thumb_grid(elem_id="wb-grid-thumbs", empty="Pick a dataset: its first page shows here.", keys=True)
    return Grid(panel, page, size, show, info, thumbs, all_btn, none_btn, cls, assign, tag, tag_on, tag_off, accept,
                ids=gr.State([]), picked=gr.State([]), verify=gr.State(None), pics=gr.State([]), fixed=gr.State({}))


def _review() -> Review:
    with gr.Column(visible=False, elem_id="wb-review") as panel:
        with gr.Row():
            refresh = gr.Button("Refresh agreement", elem_id="wb-review-refresh")
            with_suggested = gr.Checkbox(value=True, label="Count accepted suggestions and pages",
                                         elem_id="wb-review-suggested")
        # the real headers before the first Refresh (not Gradio's "1 2 3")
        kappa = gr.Dataframe(label="Cohen's kappa per pair of annotators (images both labelled)",
                             headers=list(KAPPA_COLUMNS), interactive=False, wrap=True,
                             column_widths=["14%", "14%", "9%", "9%", "9%", "45%"], elem_id="wb-review-kappa")
        disputed = gr.Dataframe(label="Images where annotators disagree", headers=["image_id", "name", "settled"],
                                interactive=False, wrap=True, elem_id="wb-review-disputed")
        with gr.Row():
            dispute = gr.Dropdown(choices=[], label="Disputed image", scale=3, elem_id="wb-review-image")
            verdict = gr.Dropdown(choices=[], label="Settle as", scale=2)
            settle_btn = gr.Button("Settle", variant="primary", scale=1)
            open_btn = gr.Button("Open in labeller", scale=1, elem_id="wb-review-open")
        preview = gr.Image(label="Disputed image", type="pil", height=240, interactive=False, show_label=True,
                           elem_classes=["pixelated"], elem_id="wb-review-preview")
    return Review(panel, refresh, with_suggested, kappa, disputed, dispute, verdict, settle_btn, open_btn, preview)


def _admin() -> Admin:
    with gr.Accordion("Classes, tags and export", open=False):
        with gr.Row():
            new_classes = gr.Textbox(label="Add classes (comma separated, e.g. open, closed)", scale=3,
                                     elem_id="wb-new-classes")
            add = gr.Button("Add classes", scale=1, elem_id="wb-add-classes")
            new_tag = gr.Textbox(label="Add tags (comma separated)", scale=3)
            add_tag = gr.Button("Add tags", scale=1)
            old_tag = gr.Dropdown(choices=[], label="Remove tag", scale=2)
            del_tag = gr.Button("Remove tag", scale=1)
        with gr.Row():
            fmt = gr.Radio(list(FORMATS), value=FORMATS[0], label="Export format")
            scope = gr.Radio(list(SCOPES), value=SCOPES[0], label="Labels")
            export_btn = gr.Button("Export")
            export_file = gr.File(label="Download", interactive=False)
    return Admin(new_classes, add, new_tag, add_tag, old_tag, del_tag, fmt, scope, export_btn, export_file)
