"""Boxes out as COCO JSON: the boxed images (an image with no boxes means "no objects"), the box classes as
categories (ids from 1, in index order) and one annotation per current box, bbox [x, y, width, height] in pixels.

Each annotation also carries `attributes` {how, annotator} and, for accepted or imported suggestions, `score`.
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.atomic import atomic_path
from workbench.errors import WorkbenchError
from workbench.store import Store


def coco_document(store: Store, dataset: str, annotator: str | None = None) -> dict:
    """The dataset's current boxes as a COCO dict (one annotator's when given, else per image whose Store.boxes
    picks)."""
    images = store.boxed_images(dataset, annotator)
    if images.empty:
        raise WorkbenchError(f"Dataset {dataset!r} has no boxes to export"
                             f"{f' by {annotator}' if annotator else ''}; draw or import some first.")
    names = store.images(dataset).set_index("image_id")["name"]
    category = {c: k for k, c in enumerate(store.box_classes(dataset), 1)}
    boxes = store.boxes(dataset, annotator)
    out_images = [{"id": int(r.image_id), "file_name": names[r.image_id], "width": int(r.width),
                   "height": int(r.height)} for r in images.itertuples()]
    annotations = []
    for k, b in enumerate(boxes.itertuples(), 1):
        ann = {"id": k, "image_id": int(b.image_id), "category_id": category[b.label],
               "bbox": [float(b.x), float(b.y), float(b.w), float(b.h)], "area": float(b.w * b.h), "iscrowd": 0,
               "attributes": {"how": b.how, "annotator": b.annotator}}
        if b.confidence == b.confidence:  # not NaN
            ann["score"] = float(b.confidence)
        annotations.append(ann)
    return {"info": {"description": f"Workbench dataset {dataset}"}, "images": out_images,
            "annotations": annotations,
            "categories": [{"id": k, "name": c, "supercategory": ""} for c, k in category.items()]}


def write_coco(store: Store, dataset: str, out: str | Path, annotator: str | None = None) -> Path:
    """Write the dataset's boxes as a COCO JSON file (atomically)."""
    out = Path(out)
    doc = coco_document(store, dataset, annotator)
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return out
