"""Datasets tab: import from a path or an upload, list sets with their counts, preview thumbnails.

`layout` builds the components, the module's handlers call workbench.data and shape its results for display,
`wire` connects them (each input passed to its handler by name).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from workbench.data.importers.crops import CROP_KINDS
from workbench.data.demo import DEMOS, import_demo
from workbench.data.importers import FORMATS, import_path, import_upload
from workbench.data.overview import COUNT_COLUMNS, counts, keep_or_first, overview, preview
from workbench.data.uploads import upload_paths
from workbench.errors import WorkbenchError
from workbench.store import Store
from workbench.ui import duplicates_panel
from workbench.ui.context import UIContext
from workbench.ui.handlers import bind, gr_progress
from workbench.ui.thumb_grid import grid_value, thumb_grid

PREVIEW = 60  # thumbnails shown per page
NO_CROP = "none"  # the crop choice that imports whole images


@dataclass
class Browser:
    """The list of datasets and the one shown: its counts and a page of thumbnails."""

    table: gr.Dataframe
    dataset: gr.Dropdown
    page: gr.Number
    refresh: gr.Button
    details: gr.Dataframe
    gallery: gr.HTML  # ui.thumb_grid


@dataclass
class ImportForm:
    """Import from a path on this machine, an upload, or a demo set; `status` says what happened."""

    path: gr.Textbox
    fmt: gr.Dropdown
    crop: gr.Dropdown
    crop_size: gr.Number
    name: gr.Textbox
    classes: gr.Textbox
    labels: gr.Textbox
    images: gr.Textbox
    skip_bad: gr.Checkbox
    import_btn: gr.Button
    upload: gr.File
    upload_btn: gr.Button
    demo_name: gr.Dropdown
    demo_btn: gr.Button
    status: gr.Markdown
    datasets: gr.State | None = None  # the page's dataset names, set after an import: every picker follows it


def build(ctx: UIContext) -> None:
    """The Datasets tab inside the app's Blocks: components laid out and wired (ui.files serves the images)."""
    gr.Markdown("### Datasets")
    browser = browser_layout(ctx.store)
    dups = duplicates_panel.layout()
    form = import_layout(ctx.store, ctx.datasets)
    wire(ctx, browser, form)
    duplicates_panel.wire(ctx.store, dups, browser.dataset)
    ctx.follow_datasets(browser.dataset)


# -- layout ----------------------------------------------------------------------------------
# kind, name, images: at 1280 px the table is 300 px wide, and a kind of 24% broke "quality" into "qualit/y"
COUNTS_COLUMN_WIDTHS = ["27%", "45%", "28%"]


def browser_layout(store: Store) -> Browser:
    """The datasets table, the dataset picker with a preview page number, its counts and thumbnails."""
    # widths per column of data.overview's table (dataset, images, labelled, classes, tags): left to the browser,
    # the classes took the row and "images" broke mid-word
    table = gr.Dataframe(interactive=False, wrap=True, elem_id="wb-datasets-table",  # filled on page load
                         column_widths=["12%", "9%", "10%", "42%", "27%"])
    with gr.Row():
        dataset = gr.Dropdown(choices=store.datasets(), label="Dataset", scale=2, elem_id="wb-datasets-dataset")
        page = gr.Number(value=1, label="Preview page", precision=0, minimum=1, scale=1)
        refresh = gr.Button("Refresh", scale=1)
    with gr.Row():
        details = gr.Dataframe(no_counts(), label="Counts per class, tag and quality category", interactive=False,
                               scale=1, wrap=True, column_widths=COUNTS_COLUMN_WIDTHS, elem_id="wb-datasets-counts")
        with gr.Column(scale=3):  # whole thumbnails in as many columns as fit (a 10-column gallery cut its last)
            gallery = thumb_grid(label="Preview", elem_id="wb-datasets-preview", tile=96, height="460px",
                                 empty="Pick a dataset.")
    return Browser(table, dataset, page, refresh, details, gallery)


def no_counts() -> pd.DataFrame:
    """The counts table before a dataset is picked: its headers, no rows (not gradio's "1 2 3")."""
    return pd.DataFrame(columns=list(COUNT_COLUMNS))


def import_layout(store: Store, datasets: gr.State | None = None) -> ImportForm:
    """The import accordion (open while there is no dataset): path and options, upload, demo sets; an import sets
    `datasets` (the page's list, which its dataset pickers follow)."""
    with gr.Accordion("Import", open=not store.datasets()):
        gr.Markdown(formats_markdown(), elem_id="wb-import-formats")
        with gr.Row():
            path = gr.Textbox(label="Path on this machine (folder, .zip, .csv/.xlsx, X.npy; boxes: COCO .json, VOC or YOLO folder)",
                              scale=3)
            fmt = gr.Dropdown(["auto", *FORMATS], value="auto", label="Format", scale=1)
            crop = gr.Dropdown([("whole images", NO_CROP), *((k, k) for k in CROP_KINDS)], value=NO_CROP,
                               label="Crop faces/eyes from photos", scale=1, min_width=170, elem_id="wb-import-crop")
            crop_size = gr.Number(value=24, label="Crop size (px)", precision=0, minimum=8, maximum=1024, scale=1)
            name = gr.Textbox(label="Dataset name (default: from the path)", scale=2)
        with gr.Row():
            classes = gr.Textbox(label="Classes, comma-separated (optional)")
            labels = gr.Textbox(label="numpy: y.npy path (optional)")
            images = gr.Textbox(label="table, COCO: image folder (default: the file's folder)")
            skip_bad = gr.Checkbox(label="Skip unreadable images instead of refusing the import")
        import_btn = gr.Button("Import from path", variant="primary")
        upload = gr.File(label="Or upload a .zip or image files", file_count="multiple")
        upload_btn = gr.Button("Import upload")
        with gr.Row():
            demo_name = gr.Dropdown(choices=[(f"{k}: {d}", k) for k, (d, _) in DEMOS.items()], value="mnist",
                                    label="Demo set (made from data inside installed packages, no download)",
                                    scale=3, elem_id="wb-demo-name")
            demo_btn = gr.Button("Import demo set", scale=1, elem_id="wb-demo-import")
        status = gr.Markdown(elem_id="wb-datasets-status")
    return ImportForm(path, fmt, crop, crop_size, name, classes, labels, images, skip_bad, import_btn, upload,
                      upload_btn, demo_name, demo_btn, status, datasets)


def formats_markdown() -> str:
    """The import formats as a list; their descriptions escaped (a Markdown component took "root/<class>/<image>"
    for HTML tags and swallowed the rest of the line)."""
    return "Formats:\n" + "\n".join(f"- **{k}**: {html.escape(v)}" for k, v in FORMATS.items())


# -- handlers: call the core, shape for display -----------------------------------------------
def show(store: Store, b: Browser, dataset: str | None, page: float | None) -> dict:
    """The counts and one preview page of `dataset` (empty when none is picked)."""
    if not dataset:
        return {b.details: no_counts(), b.gallery: grid_value([], empty="Pick a dataset.")}
    tiles = [(k, path, name) for k, (path, name) in enumerate(preview(store, dataset, page, PREVIEW))]
    return {b.details: counts(store, dataset), b.gallery: grid_value(tiles, empty="No image on this page.")}


def reload(store: Store, b: Browser, dataset: str | None, page: float | None) -> dict:
    """The datasets table and list as they are now, the shown dataset kept while it exists."""
    names = store.datasets()
    shown = keep_or_first(names, dataset)
    return {b.table: overview(store), b.dataset: gr.Dropdown(choices=names, value=shown),
            **show(store, b, shown, page)}


def import_from_path(store: Store, b: Browser, f: ImportForm, path: str, fmt: str, name: str, classes: str,
                     labels: str, images: str, skip_bad: bool, crop: str = NO_CROP, crop_size: float | None = 24,
                     progress: gr.Progress = gr.Progress()) -> dict:
    """Import the file or folder at `path` (`crop`: faces or eyes cut from its photos)."""
    r = _core(import_path, store, path.strip(), fmt=fmt, name=_given(name), labels=_given(labels),
              classes=classes or None, images=_given(images), skip_bad=skip_bad, progress=gr_progress(progress),
              crop=None if crop == NO_CROP else crop, crop_size=int(crop_size or 24))
    return _imported(store, b, f, f"Imported {r}", r.dataset)


def import_uploaded(store: Store, b: Browser, f: ImportForm, files: list | None, name: str, classes: str,
                    skip_bad: bool, progress: gr.Progress = gr.Progress()) -> dict:
    """Import uploaded files: one .zip, or images (workbench.data.importers.import_upload decides)."""
    r = _core(import_upload, store, upload_paths(files), _given(name), classes, skip_bad, gr_progress(progress))
    return _imported(store, b, f, f"Imported {r}", r.dataset)


def import_demo_set(store: Store, b: Browser, f: ImportForm, name: str, progress: gr.Progress = gr.Progress()) -> dict:
    """Import a bundled demo set unless it is there already."""
    done = _core(import_demo, store, name, gr_progress(progress))
    how = "was already imported" if done.existed else "imported"
    return _imported(store, b, f, f"Demo set **{done.dataset}** {how}: {done.images} images.", done.dataset)


def _imported(store: Store, b: Browser, f: ImportForm, message: str, dataset: str) -> dict:
    listed = {f.datasets: store.datasets()} if f.datasets is not None else {}  # the other tabs' pickers follow
    return {f.status: message, **reload(store, b, dataset, 1), **listed}


def _core(fn, *args: Any, **kwargs: Any) -> Any:
    """fn's result; a WorkbenchError becomes an error message that stays until closed."""
    try:
        return fn(*args, **kwargs)
    except WorkbenchError as e:
        raise gr.Error(str(e), duration=None) from None


def _given(text: str | None) -> str | None:
    """A text field's value, None when left blank (the core's default applies)."""
    return (text or "").strip() or None



# -- events ----------------------------------------------------------------------------------
def wire(ctx: UIContext, b: Browser, f: ImportForm) -> None:
    """Connect the tab's events to its handlers, the store and components bound."""
    store = ctx.store
    # API outputs, in this order (the page's datasets state, which the other tabs' pickers follow, is no API output)
    after_import = [f.status, b.table, b.dataset, b.details, b.gallery]
    after_import += [f.datasets] if f.datasets is not None else []
    f.demo_btn.click(bind(import_demo_set, store, b, f), inputs_kwargs={"name": f.demo_name},
                     outputs=after_import, api_name="import_demo")
    # inputs by name, in the order API callers pass them positionally
    f.import_btn.click(bind(import_from_path, store, b, f), inputs_kwargs={
        "path": f.path, "fmt": f.fmt, "name": f.name, "classes": f.classes, "labels": f.labels, "images": f.images,
        "skip_bad": f.skip_bad, "crop": f.crop, "crop_size": f.crop_size}, outputs=after_import,
        api_name="import_path")
    f.upload_btn.click(bind(import_uploaded, store, b, f), inputs_kwargs={
        "files": f.upload, "name": f.name, "classes": f.classes, "skip_bad": f.skip_bad}, outputs=after_import,
        api_name="import_upload")
    shown = {"dataset": b.dataset, "page": b.page}
    b.dataset.change(bind(show, store, b), inputs_kwargs=shown, outputs=[b.details, b.gallery])
    b.page.submit(bind(show, store, b), inputs_kwargs=shown, outputs=[b.details, b.gallery])
    listing = [b.table, b.dataset, b.details, b.gallery]
    b.refresh.click(bind(reload, store, b), inputs_kwargs=shown, outputs=listing)
    ctx.demo.load(bind(reload, store, b), inputs_kwargs=shown, outputs=listing)
    if ctx.tab is not None:  # opened again: labels and tags given in the other tabs since are counted
        ctx.tab.select(bind(reload, store, b), inputs_kwargs=shown, outputs=listing, show_progress="hidden",
                       api_visibility="private")
