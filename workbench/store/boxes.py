"""Box labels in the store: each box a stable id and an append-only history per annotator.

A box is drawn (or accepted, imported, copied) once; a move, resize or class change appends a version; a delete
appends a tombstone; undo appends the version it goes back to. Every write is one transaction. Coordinates are
the top-left corner (x, y) and size (w, h) in the image's own pixels.

Several annotators may box one image. `Store.boxes` shows, per image, the boxes of the annotator who changed that
image's boxes last (box_images.updated_at; ties to the annotator name sorting last), so a reviewer's correction
replaces the first annotator's boxes rather than adding to them. Give `annotator=` to read one annotator's boxes.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Mapping

import pandas as pd
from sqlalchemy import Boolean, Connection, Float, Integer, Text, bindparam, func, literal, select, update
from sqlalchemy.orm import aliased

from workbench.errors import WorkbenchError
from workbench.store import checks
from workbench.store.schema import BOX_SOURCES, TASKS, box_classes, box_images, box_versions, boxes, datasets, images

BOX_COLUMNS = ["image_id", "path", "width", "height", "box_id", "label", "x", "y", "w", "h", "annotator", "how",
               "confidence"]
EDGE_TOLERANCE = 1e-3  # pixels: a box this far past an edge (float rounding in other tools' files) is clipped, not refused

_BOX, _ANNOTATOR, _IMAGE = bindparam("box_id", type_=Integer), bindparam("annotator", type_=Text), bindparam("image_id")
_NOW = bindparam("now", type_=Float)
_V = aliased(box_versions, name="v")
_NEWEST = select(func.max(box_versions.c.id)).where(box_versions.c.box_id == boxes.c.id).scalar_subquery()
# one image's current boxes for one annotator: what the Boxes mode shows after every change
_BOXES_OF = (select(boxes.c.id.label("box_id"), box_classes.c.name.label("label"), _V.c.x, _V.c.y, _V.c.w, _V.c.h,
                    boxes.c.source.label("how"), boxes.c.confidence, _V.c.id.label("version"))
             .join_from(boxes, _V, _V.c.id == _NEWEST).join(box_classes, box_classes.c.id == _V.c.class_id)
             .where(boxes.c.image_id == _IMAGE, boxes.c.annotator == _ANNOTATOR, _V.c.deleted.is_(False))
             .order_by(boxes.c.id))
_IMAGE_OF_BOX = (select(images.c.id, images.c.dataset_id, images.c.width, images.c.height, boxes.c.annotator)
                 .join_from(boxes, images, images.c.id == boxes.c.image_id).where(boxes.c.id == _BOX))
_VERSION_COLUMNS = ["box_id", "class_id", "x", "y", "w", "h", "deleted", "created_at"]


def _copy_of(version_id: Any, *, deleted: Any = None, class_id: Any = None, xywh: Any = None) -> Any:
    """INSERT of a new version copying the version `version_id` of the annotator's box, with changes; returns its id."""
    v = _V.c
    geometry = [func.coalesce(bindparam(k, type_=Float), getattr(v, k)) for k in "xywh"] if xywh else [v.x, v.y, v.w, v.h]
    picked = (select(v.box_id, func.coalesce(bindparam("class_id", type_=Integer), v.class_id) if class_id else v.class_id,
                     *geometry, deleted if deleted is not None else v.deleted, _NOW)
              .join_from(_V, boxes, boxes.c.id == v.box_id)
              .where(v.id == version_id, v.box_id == _BOX, boxes.c.annotator == _ANNOTATOR))
    return picked


def box_problem(x: float, y: float, w: float, h: float, width: int, height: int) -> str | None:
    """Why a box (top-left x, y and size w, h) cannot be stored on a width×height image, or None when it can."""
    vals = (x, y, w, h)
    if any(v is None or pd.isna(v) for v in vals):
        return "a coordinate is missing"
    if w <= 0 or h <= 0:
        return f"non-positive size {w:g}×{h:g}"
    t = EDGE_TOLERANCE
    if x < -t or y < -t or x + w > width + t or y + h > height + t:
        return f"box ({x:g}, {y:g}, {w:g}×{h:g}) lies outside the {width}×{height} image"
    return None


def _clip(x: float, y: float, w: float, h: float, width: int, height: int) -> tuple[float, float, float, float]:
    """A box within EDGE_TOLERANCE of the image, clipped into it."""
    x0, y0 = max(0.0, float(x)), max(0.0, float(y))
    x1, y1 = min(float(width), float(x) + float(w)), min(float(height), float(y) + float(h))
    return x0, y0, x1 - x0, y1 - y0


def _annotator(name: str | None) -> str:
    return checks.annotator(name, "drawing boxes")


def _check_how(how: str) -> None:
    checks.one_of(how, BOX_SOURCES, "box provenance")


def _problems_message(problems: list[str], what: str) -> str:
    shown = problems[:20]
    more = f"; and {len(problems) - 20} more" if len(problems) > 20 else ""
    return f"{len(problems)} bad {what}, nothing recorded: " + "; ".join(shown) + more


class BoxLabels:
    """The Store's box methods (mixed into Store: they use its connections and its dataset look-ups)."""

    # -- the set's task and box classes -----------------------------------------------------------
    def task(self, dataset: str) -> str:
        """What the set is labelled for: "classification", "detection" or "both"."""
        return self._rows(select(datasets.c.task).where(datasets.c.id == self.dataset_id(dataset)))[0][0]

    def set_task(self, dataset: str, task: str) -> None:
        """Record what the set is labelled for (one of TASKS)."""
        checks.one_of(task, TASKS, "task")
        ds = self.dataset_id(dataset)
        with self.transaction() as db:
            db.execute(update(datasets).where(datasets.c.id == ds).values(task=task))

    def box_classes(self, dataset: str) -> list[str]:
        """Box class names in index order (the index a detector predicts); separate from the image classes."""
        return self._names(box_classes, dataset)

    def add_box_classes(self, dataset: str, names: Iterable[str]) -> list[str]:
        """Append box classes (existing indices stay); a classification set becomes "both" (or "detection" when it
        has no image classes). Returns all box class names."""
        names = [str(n).strip() for n in names if str(n).strip()]
        ds = self.dataset_id(dataset)
        with self.transaction() as db:
            self._add_named(db, box_classes, ds, names)
            if names:
                db.execute(update(datasets).where(datasets.c.id == ds, datasets.c.task == "classification")
                           .values(task="both" if self.classes(dataset) else "detection"))
        return self.box_classes(dataset)

    # -- writes: one transaction each -------------------------------------------------------------
    def add_box(self, image_id: int, label: str, x: float, y: float, w: float, h: float, annotator: str,
                how: str = "drawn", confidence: float | None = None) -> int:
        """Record one new box (x, y top-left; w, h size; image pixels) in its own transaction; returns its box id."""
        ids = self.add_boxes(self._dataset_of_image(image_id), [{"image_id": image_id, "label": label, "x": x, "y": y,
                                                                "w": w, "h": h, "confidence": confidence}],
                             annotator, how=how)
        return ids[0]

    def add_boxes(self, dataset: str, rows: Iterable[Mapping] | pd.DataFrame, annotator: str, how: str = "accepted",
                  confidence: float | None = None, *, empty_images: Iterable[int] = (),
                  replace: bool = False) -> list[int]:
        """Many new boxes in one transaction, all or nothing; returns their box ids in row order.

        rows have image_id, label, x, y, w, h and optionally confidence (else `confidence`). Every bad row (unknown
        image or class, non-positive size, outside the image) is named in one WorkbenchError and nothing is written.
        `empty_images` are recorded as boxed with no boxes; `replace` first deletes (tombstones) the annotator's
        current boxes on every image touched, as a re-import does.
        """
        annotator, rows = _annotator(annotator), _records(rows)
        _check_how(how)
        ds = self.dataset_id(dataset)
        sizes = {int(i): (int(w), int(h)) for i, w, h in
                 self._rows(select(images.c.id, images.c.width, images.c.height).where(images.c.dataset_id == ds))}
        class_ids = {n: i for i, n in self._rows(select(box_classes.c.id, box_classes.c.name)
                                                 .where(box_classes.c.dataset_id == ds))}
        now, new, versions, problems = time.time(), [], [], []
        for n, r in enumerate(rows):
            problem = _row_problem(r, sizes, class_ids, dataset)
            if problem:
                problems.append(f"row {n + 1}: {problem}")
                continue
            image_id = int(r["image_id"])
            conf = r.get("confidence", confidence)
            new.append({"image_id": image_id, "annotator": annotator, "source": how, "created_at": now,
                        "confidence": None if conf is None or pd.isna(conf) else float(conf)})
            xywh = _clip(r["x"], r["y"], r["w"], r["h"], *sizes[image_id])
            versions.append({"class_id": class_ids[str(r["label"])], **dict(zip("xywh", xywh)), "deleted": False,
                             "created_at": now})
        empty = [int(i) for i in empty_images]
        problems += [f"image id {i}: not in dataset {dataset!r}" for i in empty if i not in sizes]
        if problems:
            raise WorkbenchError(_problems_message(problems, "boxes"))
        touched = sorted({b["image_id"] for b in new} | set(empty))
        with self.transaction() as db:
            if replace:
                self._tombstone_all(db, touched, annotator, now)
            ids = [r[0] for r in db.execute(boxes.insert().returning(boxes.c.id, sort_by_parameter_order=True),
                                            new)] if new else []
            if ids:
                db.execute(box_versions.insert(), [{**v, "box_id": i} for v, i in zip(versions, ids)])
            self._touch(db, touched, annotator, now)
        return ids

    def update_box(self, box_id: int, annotator: str, *, label: str | None = None,
                   xywh: tuple[float, float, float, float] | None = None) -> int:
        """Move/resize (xywh) and/or re-class (label) one of the annotator's boxes: appends a version; returns its id."""
        annotator = _annotator(annotator)
        image = self._box_image(box_id, annotator)
        params = {"box_id": int(box_id), "annotator": annotator, "now": time.time(), "class_id": None}
        if label is not None:
            found = self._rows(select(box_classes.c.id).where(box_classes.c.dataset_id == image.dataset_id,
                                                              box_classes.c.name == label))
            if not found:
                raise WorkbenchError(f"Unknown box class {label!r} (classes: "
                                     f"{', '.join(self._box_class_names(image.dataset_id))}).")
            params["class_id"] = found[0][0]
        if xywh is not None:
            problem = box_problem(*xywh, image.width, image.height)
            if problem:
                raise WorkbenchError(f"Box {box_id}: {problem}.")
            params.update(zip("xywh", _clip(*xywh, image.width, image.height)))
        stmt = _copy_of(_NEWEST_OF_BOX, class_id=label is not None, xywh=xywh is not None)
        return self._append_version(stmt.where(_V.c.deleted.is_(False)), params, image.id, "is deleted")

    def delete_box(self, box_id: int, annotator: str) -> int:
        """Delete one of the annotator's boxes: appends a tombstone (the history keeps it); returns its version id."""
        annotator = _annotator(annotator)
        image = self._box_image(box_id, annotator)
        stmt = _copy_of(_NEWEST_OF_BOX, deleted=literal(True, Boolean)).where(_V.c.deleted.is_(False))
        return self._append_version(stmt, {"box_id": int(box_id), "annotator": annotator, "now": time.time()},
                                    image.id, "is deleted already")

    def delete_boxes(self, box_ids: Iterable[int], annotator: str) -> int:
        """Delete several of the annotator's boxes in one transaction (undo of an accept or copy); returns how many
        were current."""
        annotator, ids = _annotator(annotator), [int(i) for i in box_ids]
        if not ids:
            return 0
        now = time.time()
        picked = _tombstones(boxes.c.id.in_(ids), boxes.c.annotator == annotator, now=now)
        touched = select(boxes.c.image_id).where(boxes.c.id.in_(ids), boxes.c.annotator == annotator).distinct()
        with self.transaction() as db:
            n = db.execute(box_versions.insert().from_select(_VERSION_COLUMNS, picked)).rowcount
            self._touch(db, [r[0] for r in db.execute(touched)], annotator, now)
        return n

    def restore_box(self, box_id: int, version_id: int, annotator: str) -> int:
        """Make an earlier version of a box current again (undo), by appending a copy of it; returns the new id."""
        annotator = _annotator(annotator)
        image = self._box_image(box_id, annotator)
        stmt = _copy_of(bindparam("version", type_=Integer))
        return self._append_version(stmt, {"box_id": int(box_id), "annotator": annotator, "now": time.time(),
                                           "version": int(version_id)}, image.id, f"has no version {version_id}")

    def confirm_boxes(self, image_id: int, annotator: str) -> None:
        """Record that the annotator has boxed this image as it is now (with no boxes: "no objects here")."""
        annotator = _annotator(annotator)
        self._dataset_of_image(image_id)
        with self.transaction() as db:
            self._touch(db, [int(image_id)], annotator, time.time())

    # -- reads ----------------------------------------------------------------------------------
    def boxes_of(self, image_id: int, annotator: str) -> list[dict]:
        """One annotator's current boxes on one image, oldest first: box_id, label, x, y, w, h, how, confidence,
        version (the current version's id, for undo)."""
        return [dict(r._mapping) for r in self._rows(_BOXES_OF, {"image_id": int(image_id), "annotator": annotator})]

    def boxes(self, dataset: str, annotator: str | None = None) -> pd.DataFrame:
        """One row per current (not deleted) box, in image order: BOX_COLUMNS (x, y top-left, image pixels).

        Per image, the boxes of the annotator who changed that image's boxes last (see the module docstring), or
        of `annotator` when given.
        """
        ds = self.dataset_id(dataset)
        newest = (select(func.max(box_versions.c.id).label("id"))
                  .join_from(box_versions, boxes, boxes.c.id == box_versions.c.box_id)
                  .join(images, images.c.id == boxes.c.image_id).where(images.c.dataset_id == ds)
                  .group_by(box_versions.c.box_id).subquery("newest"))
        stmt = (select(boxes.c.image_id, boxes.c.id.label("box_id"), box_classes.c.name.label("label"), _V.c.x,
                       _V.c.y, _V.c.w, _V.c.h, boxes.c.annotator, boxes.c.source.label("how"), boxes.c.confidence)
                .select_from(newest).join(_V, _V.c.id == newest.c.id).join(boxes, boxes.c.id == _V.c.box_id)
                .join(box_classes, box_classes.c.id == _V.c.class_id).where(_V.c.deleted.is_(False)))
        cur = self._frame(stmt)
        owners = self.boxed_images(dataset, annotator)
        cur = owners[["image_id", "annotator", "path", "width", "height", "position"]].merge(
            cur, on=["image_id", "annotator"])
        cur = cur.sort_values(["position", "image_id", "box_id"]).reset_index(drop=True)
        out = cur.reindex(columns=BOX_COLUMNS)
        return out.astype({"x": float, "y": float, "w": float, "h": float, "confidence": float})

    def boxed_images(self, dataset: str, annotator: str | None = None) -> pd.DataFrame:
        """The images whose boxes have been labelled (with or without boxes), in image order: image_id, path, width,
        height, position, annotator (whose boxes count, see `boxes`), updated_at, n_boxes."""
        ds = self.dataset_id(dataset)
        stmt = (select(box_images.c.image_id, box_images.c.annotator, box_images.c.updated_at)
                .join_from(box_images, images, images.c.id == box_images.c.image_id).where(images.c.dataset_id == ds))
        if annotator is not None:
            stmt = stmt.where(box_images.c.annotator == annotator)
        marks = self._frame(stmt)
        imgs = self.images(dataset)[["image_id", "path", "width", "height", "position"]]
        if marks.empty:
            return imgs.iloc[:0].assign(annotator=pd.Series(dtype=object), updated_at=pd.Series(dtype=float),
                                        n_boxes=pd.Series(dtype=int))
        owner = marks.sort_values(["image_id", "updated_at", "annotator"]).groupby("image_id").tail(1)
        out = imgs.merge(owner, on="image_id")
        counts = self._box_counts(ds)
        out = out.merge(counts, on=["image_id", "annotator"], how="left").fillna({"n_boxes": 0})
        return out.astype({"n_boxes": int}).sort_values(["position", "image_id"]).reset_index(drop=True)

    def boxed_count(self, dataset: str, annotator: str) -> int:
        """How many of the dataset's images the annotator has boxed (one query: it runs after every change)."""
        stmt = (select(func.count()).select_from(box_images).join(images, images.c.id == box_images.c.image_id)
                .where(images.c.dataset_id == self.dataset_id(dataset), box_images.c.annotator == annotator))
        return int(self._rows(stmt)[0][0])

    def box_history(self, box_id: int) -> pd.DataFrame:
        """Every version of a box, oldest first: version, label, x, y, w, h, deleted, created_at."""
        stmt = (select(box_versions.c.id.label("version"), box_classes.c.name.label("label"), box_versions.c.x,
                       box_versions.c.y, box_versions.c.w, box_versions.c.h, box_versions.c.deleted,
                       box_versions.c.created_at)
                .join_from(box_versions, box_classes, box_classes.c.id == box_versions.c.class_id)
                .where(box_versions.c.box_id == int(box_id)).order_by(box_versions.c.id))
        return self._frame(stmt)

    # -- helpers ------------------------------------------------------------------------------
    def _box_counts(self, ds: int) -> pd.DataFrame:
        newest = (select(func.max(box_versions.c.id).label("id"))
                  .join_from(box_versions, boxes, boxes.c.id == box_versions.c.box_id)
                  .join(images, images.c.id == boxes.c.image_id).where(images.c.dataset_id == ds)
                  .group_by(box_versions.c.box_id).subquery("newest"))
        stmt = (select(boxes.c.image_id, boxes.c.annotator, func.count().label("n_boxes")).select_from(newest)
                .join(_V, _V.c.id == newest.c.id).join(boxes, boxes.c.id == _V.c.box_id)
                .where(_V.c.deleted.is_(False)).group_by(boxes.c.image_id, boxes.c.annotator))
        df = self._frame(stmt)
        return df if not df.empty else pd.DataFrame(columns=["image_id", "annotator", "n_boxes"])

    def _dataset_of_image(self, image_id: int) -> str:
        return self.image(int(image_id))["dataset"]

    def _box_class_names(self, ds: int) -> list[str]:
        return [r[0] for r in self._rows(select(box_classes.c.name).where(box_classes.c.dataset_id == ds)
                                         .order_by(box_classes.c.position))]

    def _box_image(self, box_id: int, annotator: str) -> Any:
        rows = self._rows(_IMAGE_OF_BOX, {"box_id": int(box_id)})
        if not rows:
            raise WorkbenchError(f"No box with id {box_id}.")
        if rows[0].annotator != annotator:
            raise WorkbenchError(f"Box {box_id} is {rows[0].annotator}'s: only they change it.")
        return rows[0]

    def _append_version(self, picked: Any, params: dict, image_id: int, refusal: str) -> int:
        stmt = box_versions.insert().from_select(_VERSION_COLUMNS, picked).returning(box_versions.c.id)
        with self.transaction() as db:
            new = db.execute(stmt, params).scalar()
            if new is None:
                raise WorkbenchError(f"Box {params['box_id']} {refusal}.")
            self._touch(db, [image_id], params["annotator"], params["now"])
        return new

    def _tombstone_all(self, db: Connection, image_ids: list[int], annotator: str, now: float) -> None:
        """Delete the annotator's current boxes on these images (one INSERT ... SELECT of tombstones)."""
        if not image_ids:
            return
        db.execute(box_versions.insert().from_select(
            _VERSION_COLUMNS, _tombstones(boxes.c.image_id.in_(image_ids), boxes.c.annotator == annotator, now=now)))

    def _touch(self, db: Connection, image_ids: list[int], annotator: str, now: float) -> None:
        """Mark images as boxed by the annotator, now (an upsert: never read-then-write)."""
        if not image_ids:
            return
        stmt = self._insert(box_images).on_conflict_do_update(index_elements=["image_id", "annotator"],
                                                              set_={"updated_at": now})
        db.execute(stmt, [{"image_id": i, "annotator": annotator, "updated_at": now} for i in image_ids])


def _tombstones(*where: Any, now: float) -> Any:
    """A SELECT of a tombstone for each current (not deleted) box matching `where`."""
    return (select(_V.c.box_id, _V.c.class_id, _V.c.x, _V.c.y, _V.c.w, _V.c.h, literal(True, Boolean),
                   literal(now, Float))
            .join_from(boxes, _V, _V.c.id == _NEWEST).where(*where, _V.c.deleted.is_(False)))


_NEWEST_OF_BOX = select(func.max(box_versions.c.id)).where(box_versions.c.box_id == _BOX).scalar_subquery()


def _records(rows: Iterable[Mapping] | pd.DataFrame) -> list[Mapping]:
    if isinstance(rows, pd.DataFrame):
        return rows.to_dict("records")
    return list(rows)


def _row_problem(r: Mapping, sizes: dict, class_ids: dict, dataset: str) -> str | None:
    """Why one row of add_boxes cannot be stored, or None."""
    try:
        image_id = int(r["image_id"])
        label = str(r["label"])
        x, y, w, h = (float(r[k]) for k in "xywh")
    except (KeyError, TypeError, ValueError) as e:
        return f"needs image_id, label, x, y, w, h ({e})"
    if image_id not in sizes:
        return f"image id {image_id} is not in dataset {dataset!r}"
    if label not in class_ids:
        known = ", ".join(class_ids) or "none yet"
        return f"unknown box class {label!r} (classes: {known})"
    problem = box_problem(x, y, w, h, *sizes[image_id])
    return f"image id {image_id}: {problem}" if problem else None
