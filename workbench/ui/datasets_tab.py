"""Datasets tab: import from a path or an upload, list sets with their counts, preview thumbnails."""

from __future__ import annotations

import gradio as gr

from workbench.data.crops import CROP_KINDS
from workbench.data.demo import DEMOS, ensure_demo
from workbench.data.importers import FORMATS, import_files, import_path, import_zip
from workbench.data.overview import counts, overview
from workbench.errors import WorkbenchError
from workbench.ui.context import UIContext
from workbench.ui.files import serve_dataset_files

PREVIEW = 60  # thumbnails shown per page


def _gr_progress(progress):
    return lambda it, total, desc: progress.tqdm(it, total=total, desc=desc)


def build(ctx: UIContext) -> None:
    store = ctx.store
    serve_dataset_files(store)

    gr.Markdown("### Datasets")
    table = gr.Dataframe(interactive=False, wrap=True, elem_id="wb-datasets-table")  # filled on page load
    with gr.Row():
        dataset = gr.Dropdown(choices=store.datasets(), label="Dataset", scale=2)
        page = gr.Number(value=1, label="Preview page", precision=0, minimum=1, scale=1)
        refresh = gr.Button("Refresh", scale=1)
    with gr.Row():
        details = gr.Dataframe(label="Counts per class, tag and quality category", interactive=False, scale=1)
        gallery = gr.Gallery(label="Preview", columns=10, height=420, object_fit="contain",
                             elem_classes=["pixelated"], scale=3, allow_preview=True,
                             elem_id="wb-datasets-preview")

    with gr.Accordion("Import", open=not store.datasets()):
        gr.Markdown("Formats: " + "; ".join(f"**{k}**: {v}" for k, v in FORMATS.items()))
        with gr.Row():
            path = gr.Textbox(label="Path on this machine (folder, .zip, .csv/.xlsx, X.npy)", scale=3)
            fmt = gr.Dropdown(["auto", *FORMATS], value="auto", label="Format", scale=1)
            crop = gr.Dropdown([("no: whole images", "none"), *((k, k) for k in CROP_KINDS)], value="none",
                               label="Crop faces/eyes from photos", scale=1, elem_id="wb-import-crop")
            crop_size = gr.Number(value=24, label="Crop size (px)", precision=0, minimum=8, maximum=1024, scale=1)
            name = gr.Textbox(label="Dataset name (default: from the path)", scale=2)
        with gr.Row():
            classes = gr.Textbox(label="Classes, comma-separated (optional)")
            labels = gr.Textbox(label="numpy: y.npy path (optional)")
            images = gr.Textbox(label="table: image folder (default: the table's folder)")
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

    def show(ds, pg):
        if not ds:
            return None, []
        imgs = store.images(ds)
        start = (max(int(pg or 1), 1) - 1) * PREVIEW
        part = imgs.iloc[start:start + PREVIEW]
        return counts(store, ds), [(p, n) for p, n in zip(part["path"], part["name"])]

    def after_import(result_text, ds):
        serve_dataset_files(store)
        return (result_text, overview(store), gr.Dropdown(choices=store.datasets(), value=ds), *show(ds, 1))

    def do_import(p, f, n, c, lab, img, skip, crop_kind="none", size=24, progress=gr.Progress()):
        try:
            r = import_path(store, p.strip(), fmt=f, name=n.strip() or None, labels=lab.strip() or None,
                            classes=c or None, images=img.strip() or None, skip_bad=skip,
                            progress=_gr_progress(progress), crop=None if crop_kind == "none" else crop_kind,
                            crop_size=int(size or 24))
        except WorkbenchError as e:
            raise gr.Error(str(e), duration=None) from None
        return after_import(f"Imported {r}", r.dataset)

    def do_upload(files, n, c, skip, progress=gr.Progress()):
        if not files:
            raise gr.Error("Choose a .zip or image files to upload first.")
        files = [getattr(f, "name", f) for f in files]
        cls = [x.strip() for x in (c or "").split(",") if x.strip()]
        try:
            if len(files) == 1 and files[0].lower().endswith(".zip"):
                r = import_zip(store, files[0], n.strip() or None, cls, skip, _gr_progress(progress))
            else:
                r = import_files(store, files, n.strip() or "upload", cls, skip, _gr_progress(progress))
        except WorkbenchError as e:
            raise gr.Error(str(e), duration=None) from None
        return after_import(f"Imported {r}", r.dataset)

    def do_demo(n, progress=gr.Progress()):
        try:
            had = n in store.datasets()
            ds = ensure_demo(store, n, _gr_progress(progress))
        except WorkbenchError as e:
            raise gr.Error(str(e), duration=None) from None
        done = "was already imported" if had else "imported"
        return after_import(f"Demo set **{ds}** {done}: {store.count_images(ds)} images.", ds)

    outputs = [status, table, dataset, details, gallery]
    demo_btn.click(do_demo, [demo_name], outputs, api_name="import_demo")
    import_btn.click(do_import, [path, fmt, name, classes, labels, images, skip_bad, crop, crop_size], outputs,
                     api_name="import_path")
    upload_btn.click(do_upload, [upload, name, classes, skip_bad], outputs, api_name="import_upload")
    dataset.change(show, [dataset, page], [details, gallery])
    page.submit(show, [dataset, page], [details, gallery])
    def reload(ds, pg):
        names = store.datasets()
        ds = ds if ds in names else (names[0] if names else None)
        return overview(store), gr.Dropdown(choices=names, value=ds), *show(ds, pg)

    refresh.click(reload, [dataset, page], [table, dataset, details, gallery])
    ctx.demo.load(reload, [dataset, page], [table, dataset, details, gallery])
