"""The label store on SQLAlchemy Core: one code path for SQLite (default) and PostgreSQL (teams).

Every write is one transaction (BEGIN IMMEDIATE on SQLite; single INSERT ... SELECT / ON CONFLICT statements,
never read-then-write), so an acknowledged label survives a killed process and concurrent annotators lose nothing.
"""

from __future__ import annotations

import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import (Connection, Executable, Float, Integer, Text, and_, bindparam, cast, column, delete, func,
                        select, text, values)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from workbench import paths
from workbench.errors import UnknownDataset, WorkbenchError
from workbench.store import checks, migrate, schema
from workbench.store.boxes import BoxLabels
from workbench.store.engine import WRITE, make_engine, parse_url
from workbench.store.schema import (DEFAULT_TAGS, LABEL_SOURCES, box_classes, classes, datasets, image_tags, images,
                                    labels, splits, tags)

SPLITS = ("train", "val", "test")  # the sides a split row may name (schema CHECK)

_IMAGE, _ANNOTATOR = bindparam("image_id"), bindparam("annotator")


def _latest_ids(*where) -> Any:
    """The newest label id per (image, annotator) among labels of images matching `where`."""
    return (select(func.max(labels.c.id).label("id")).join(images, images.c.id == labels.c.image_id)
            .where(*where).group_by(labels.c.image_id, labels.c.annotator).subquery("m"))


def _latest(*where) -> Any:
    m = _latest_ids(*where)
    return (select(labels.c.image_id, labels.c.annotator, classes.c.name.label("label"),
                   labels.c.id.label("label_id"), labels.c.created_at, labels.c.source, labels.c.confidence)
            .select_from(m).join(labels, labels.c.id == m.c.id).join(classes, classes.c.id == labels.c.class_id)
            .order_by(labels.c.id))


# Statements of the labelling loop, built once: each keypress runs a few of them.
_DS = bindparam("ds")
_LATEST = _latest(images.c.dataset_id == _DS)
_LATEST_OF = _latest(images.c.dataset_id == _DS, labels.c.annotator == _ANNOTATOR)
NAME_KINDS = {"classes": "class", "tags": "tag", "box_classes": "box class"}  # the names tables, as users call them
_DATASET_ID = select(datasets.c.id).where(datasets.c.name == bindparam("name"))
_COUNT_IMAGES = select(func.count()).select_from(images).where(images.c.dataset_id == _DS)
_MINE = _latest_ids(images.c.dataset_id == _DS, labels.c.annotator == _ANNOTATOR)
_LABEL_COUNTS = (select(classes.c.name, func.count()).select_from(_MINE).join(labels, labels.c.id == _MINE.c.id)
                 .join(classes, classes.c.id == labels.c.class_id).group_by(classes.c.name))
_CURRENT_LABEL = (select(classes.c.name).join_from(labels, classes, classes.c.id == labels.c.class_id)
                  .where(labels.c.image_id == _IMAGE, labels.c.annotator == _ANNOTATOR)
                  .order_by(labels.c.id.desc()).limit(1))
_NAMES = {t.name: select(t.c.name).where(t.c.dataset_id == _DS).order_by(t.c.position) for t in (classes, tags, box_classes)}
_IMAGE_ROW = (select(images, datasets.c.name.label("dataset")).join_from(images, datasets, datasets.c.id == images.c.dataset_id)
              .where(images.c.id == _IMAGE))
_TAGS_OF = (select(tags.c.name).join_from(image_tags, tags, tags.c.id == image_tags.c.tag_id)
            .where(image_tags.c.image_id == _IMAGE, image_tags.c.annotator == _ANNOTATOR).order_by(tags.c.position))
# one label = one statement: the class is looked up inside the INSERT (an unknown class inserts nothing)
_LABEL_COLUMNS = ["image_id", "class_id", "annotator", "created_at", "source", "confidence"]
_LABEL_VALUES = (images.c.id, classes.c.id, bindparam("annotator", type_=Text), bindparam("now", type_=Float),
                 bindparam("source", type_=Text), bindparam("confidence", type_=Float))
_CLASS_OF_IMAGE = (select(*_LABEL_VALUES).join_from(images, classes, classes.c.dataset_id == images.c.dataset_id)
                   .where(images.c.id == _IMAGE, classes.c.name == bindparam("label")))
_TAG_OF_IMAGE = (select(tags.c.id).join_from(images, tags, tags.c.dataset_id == images.c.dataset_id)
                 .where(images.c.id == _IMAGE, tags.c.name == bindparam("tag")))


@dataclass
class ImageRecord:
    """One image as the importers hand it to the store."""

    name: str
    path: str
    sha256: str
    width: int
    height: int
    mode: str
    position: int
    source: str | None = None
    brightness: float | None = None
    contrast: float | None = None
    blur: float | None = None
    inverted: float | None = None


class Store(BoxLabels):
    """Datasets, images, classes, labels, tags, splits and boxes (workbench/store/boxes.py) in SQLite (a file) or
    PostgreSQL (a server).

    `db` is an SQLAlchemy URL or an SQLite file path; by default $WORKBENCH_DB or datasets/workbench.sqlite.
    `home` is the folder that relative image paths are under (a Workspace's); by default $WORKBENCH_HOME or the
    current directory, read once here.
    Safe across threads (Gradio runs handlers in a pool); the schema is migrated to the newest on open.
    """

    def __init__(self, db: str | Path | None = None, home: str | Path | None = None):
        self.home = paths.find_home(home)
        self.url = parse_url(db or paths.default_db(self.home))
        self.engine = make_engine(self.url)
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        self._local = threading.local()
        try:
            with self._reading() as conn:
                up_to_date = migrate.current(conn) == migrate.head()
            if not up_to_date:
                with self.transaction() as conn:
                    migrate.upgrade(conn)
        except DBAPIError as e:
            self.engine.dispose()
            raise WorkbenchError(f"Cannot open the label store {self!r}: {str(e.orig).strip()}") from e

    @property
    def path(self) -> Path | None:
        """The SQLite file (None for a server database)."""
        return Path(self.url.database) if self.url.get_backend_name() == "sqlite" and self.url.database else None

    def __repr__(self) -> str:
        return f"Store({self.url.render_as_string(hide_password=True)!r})"

    # -- connections -------------------------------------------------------------------------
    def transaction(self) -> ContextManager[Connection]:
        """One write transaction, committed at the end, rolled back on any exception; nested calls join it."""
        return self._connection(write=True)

    def _reading(self) -> ContextManager[Connection]:
        return self._connection(write=False)

    @contextmanager
    def _connection(self, write: bool) -> Iterator[Connection]:
        """This thread's open transaction (a nested write joins it, a read sees its writes), else a pooled
        connection: for a write, inside a transaction of its own."""
        outer = getattr(self._local, "tx", None)
        if outer is not None:
            yield outer
            return
        with self.engine.connect() as conn:
            if not write:
                yield conn
                return
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                self._local.tx = conn
                try:
                    yield conn
                finally:
                    self._local.tx = None

    def _rows(self, stmt: Executable, params: dict | None = None) -> list:
        with self._reading() as conn:
            return conn.execute(stmt, params or {}).all()

    def _frame(self, stmt: Executable, params: dict | None = None) -> pd.DataFrame:
        with self._reading() as conn:
            result = conn.execute(stmt, params or {})
            # plain tuples: pandas probes each Row's attributes, which SQLAlchemy answers by raising (5x slower)
            rows = [tuple(r) for r in result.all()]
            return pd.DataFrame.from_records(rows, columns=list(result.keys()), coerce_float=True)

    def query(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        """A read in plain SQL with `?` placeholders, on either engine; the rows as a DataFrame."""
        return self._frame(text(_numbered_params(sql)), _param_dict(params))

    def execute(self, sql: str, params: Sequence = ()) -> int:
        """A write in plain SQL with `?` placeholders, in one transaction (or the open one); rows changed."""
        with self.transaction() as db:
            return db.execute(text(_numbered_params(sql)), _param_dict(params)).rowcount

    def close(self) -> None:
        """Close the pooled connections (the store opens new ones if used again)."""
        self.engine.dispose()

    # -- datasets ----------------------------------------------------------------------------
    def create_dataset(self, name: str, source: str = "", classes: Iterable[str] = (),
                       tags: Iterable[str] = DEFAULT_TAGS, box_classes: Iterable[str] = ()) -> int:
        """Create a dataset (or return the existing one of that name), adding classes, tags and box classes (which
        make it a detection set, see add_box_classes)."""
        name = name.strip()
        if not name:
            raise WorkbenchError("A dataset needs a name.")
        with self.transaction() as db:
            new = db.execute(self._insert(datasets).values(name=name, source=source, created_at=time.time())
                             .on_conflict_do_nothing().returning(datasets.c.id)).scalar()
            ds = new if new is not None else db.execute(_DATASET_ID, {"name": name}).scalar_one()
            if new is not None:
                self._add_named(db, schema.tags, ds, tags)
            self._add_named(db, schema.classes, ds, classes)
            box_classes = list(box_classes)
            if box_classes:
                self.add_box_classes(name, box_classes)
        return ds

    def dataset_id(self, name: str) -> int:
        """The id of the dataset `name`; UnknownDataset, naming the known ones, if there is none."""
        rows = self._rows(_DATASET_ID, {"name": name})
        if not rows:
            known = ", ".join(self.datasets()) or "none yet"
            raise UnknownDataset(f"No dataset named {name!r} (known: {known}).")
        return rows[0][0]

    def datasets(self) -> list[str]:
        """Dataset names, oldest first."""
        return [r[0] for r in self._rows(select(datasets.c.name).order_by(datasets.c.id))]

    def delete_dataset(self, name: str) -> None:
        """Delete a dataset with its images, classes, labels, tags and splits (the image files stay)."""
        ds = self.dataset_id(name)
        with self.transaction() as db:
            db.execute(delete(datasets).where(datasets.c.id == ds))

    def summary(self, dataset: str) -> dict:
        """Counts a user wants at a glance: images, labelled images, per class and per tag."""
        n = self.count_images(dataset)
        labels_ = self.resolved_labels(dataset)
        tagged = self.image_tags(dataset)
        per_class = {c: int((labels_ == c).sum()) for c in self.classes(dataset)}
        per_tag = {t: int(tagged.loc[tagged.tag == t, "image_id"].nunique()) for t in self.tags(dataset)}
        return {"dataset": dataset, "images": int(n), "labelled": int(len(labels_)),
                "per_class": per_class, "per_tag": per_tag}

    # -- classes and tags --------------------------------------------------------------------
    def _add_named(self, db: Connection, table, ds: int, names: Iterable[str]) -> None:
        """Append names (classes or tags) at the next positions; ones already there are kept where they are."""
        # lock the dataset row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises): no two get one position
        db.execute(select(datasets.c.id).where(datasets.c.id == ds).with_for_update())
        start = db.execute(select(func.coalesce(func.max(table.c.position) + 1, 0))
                           .where(table.c.dataset_id == ds)).scalar_one()
        for name in checks.names(names, NAME_KINDS[table.name]):  # each usable as a folder name in exports
            start += len(db.execute(self._insert(table).values(dataset_id=ds, name=name, position=start)
                                    .on_conflict_do_nothing().returning(table.c.id)).all())

    def _names(self, table, dataset: str) -> list[str]:
        return [r[0] for r in self._rows(_NAMES[table.name], {"ds": self.dataset_id(dataset)})]

    def _append_names(self, table, dataset: str, names: Iterable[str]) -> list[str]:
        ds = self.dataset_id(dataset)
        with self.transaction() as db:
            self._add_named(db, table, ds, names)
        return self._names(table, dataset)

    def classes(self, dataset: str) -> list[str]:
        """Class names in index order (the index a model predicts)."""
        return self._names(classes, dataset)

    def add_classes(self, dataset: str, names: Iterable[str]) -> list[str]:
        """Append new classes after the existing ones (whose indices stay); returns all class names."""
        return self._append_names(classes, dataset, names)

    def tags(self, dataset: str) -> list[str]:
        """Category tag names in the order shown."""
        return self._names(tags, dataset)

    def add_tags(self, dataset: str, names: Iterable[str]) -> list[str]:
        """Append new category tags; returns all tag names."""
        return self._append_names(tags, dataset, names)

    def remove_tag(self, dataset: str, name: str) -> list[str]:
        """Remove a category tag and its assignments."""
        ds = self.dataset_id(dataset)
        with self.transaction() as db:
            db.execute(delete(tags).where(tags.c.dataset_id == ds, tags.c.name == name))
        return self.tags(dataset)

    # -- images ------------------------------------------------------------------------------
    def add_images(self, dataset: str, records: Sequence[ImageRecord]) -> int:
        """Insert images not yet in the dataset (by name); returns how many were new."""
        ds = self.dataset_id(dataset)
        if not records:
            return 0
        with self.transaction() as db:
            new = db.execute(self._insert(images).on_conflict_do_nothing().returning(images.c.id),
                             [{"dataset_id": ds, **vars(r)} for r in records])
            return len(new.all())

    def images(self, dataset: str) -> pd.DataFrame:
        """All images of a dataset in file order, with quality stats; `path` is absolute."""
        ds = self.dataset_id(dataset)
        cols = [c for c in images.c if c.name != "dataset_id"]
        df = self._frame(select(images.c.id.label("image_id"), *cols[1:]).where(images.c.dataset_id == ds)
                         .order_by(images.c.position, images.c.id))
        base = str(self.home)
        df["path"] = [p if os.path.isabs(p) else os.path.join(base, p) for p in df["path"]]
        return df

    def image_paths(self) -> list[str]:
        """Every image file the store knows, in every dataset, as absolute paths (the files the app may serve)."""
        base = str(self.home)
        with self._reading() as conn:
            stored = conn.execute(select(images.c.path)).scalars().all()
        return [p if p.startswith("/") or os.path.isabs(p) else os.path.join(base, p) for p in stored]

    def images_version(self) -> tuple[int, int, int]:
        """Changes whenever images are added or a dataset is deleted (images go only with their dataset), read from
        primary keys and the small datasets table: cheap at any size."""
        top = select(func.max(images.c.id)).scalar_subquery()
        row = self._rows(select(top, func.count(), func.max(datasets.c.id)).select_from(datasets))[0]
        return tuple(int(v or 0) for v in row)

    def image(self, image_id: int) -> dict:
        """One image's row (with its dataset's name); `path` is absolute."""
        rows = self._rows(_IMAGE_ROW, {"image_id": int(image_id)})
        if not rows:
            raise WorkbenchError(f"No image with id {image_id}.")
        out = dict(rows[0]._mapping)
        out["path"] = str(paths.from_stored(out["path"], self.home))
        return out

    # -- labels ------------------------------------------------------------------------------
    def add_label(self, image_id: int, label: str, annotator: str, source: str = "typed",
                  confidence: float | None = None) -> int:
        """Record one label in its own committed transaction; returns the label id (for undo).

        source says how it was made (one of LABEL_SOURCES); confidence is the accepted suggestion's.
        """
        annotator = _annotator(annotator)
        _check_source(source)
        with self.transaction() as db:
            new = db.execute(labels.insert().from_select(_LABEL_COLUMNS, _CLASS_OF_IMAGE).returning(labels.c.id),
                             {"image_id": int(image_id), "label": label, "annotator": annotator, "now": time.time(),
                              "source": source, "confidence": _float_or_none(confidence)}).scalar()
        if new is None:
            raise WorkbenchError(f"Unknown class {label!r} for image {image_id}.")
        return new

    def add_labels(self, dataset: str, items: Iterable[tuple], annotator: str, source: str = "bulk",
                   confidence: float | None = None) -> int:
        """Many labels in one transaction (bulk, grid, page accept, import); skips ones equal to the current label.

        items are (image_id, label) or (image_id, label, confidence); a per-item confidence wins over `confidence`.
        """
        annotator = _annotator(annotator)
        _check_source(source)
        ds, known = self.dataset_id(dataset), set(self.classes(dataset))
        rows = []
        for n, item in enumerate(items):
            if item[1] not in known:
                raise WorkbenchError(f"Unknown class {item[1]!r} in dataset {dataset!r}.")
            rows.append((n, int(item[0]), item[1], _float_or_none(item[2] if len(item) > 2 else confidence)))
        fixed = {"annotator": annotator, "now": time.time(), "source": source, "ds": ds}
        added = 0
        with self.transaction() as db:
            for start in range(0, len(rows), _CHUNK):
                added += len(db.execute(_bulk_labels(rows[start:start + _CHUNK]), fixed).all())
        return added

    def remove_label(self, label_id: int) -> None:
        """Undo one label: the annotator's previous label for that image (if any) is current again."""
        with self.transaction() as db:
            db.execute(delete(labels).where(labels.c.id == int(label_id)))

    def latest_labels(self, dataset: str, annotator: str | None = None) -> pd.DataFrame:
        """The current label of each (image, annotator): image_id, annotator, label, label_id, created_at,
        source, confidence."""
        ds = self.dataset_id(dataset)
        if annotator is None:
            return self._frame(_LATEST, {"ds": ds})
        return self._frame(_LATEST_OF, {"ds": ds, "annotator": annotator})

    def resolved_labels(self, dataset: str) -> pd.Series:
        """One label per labelled image: majority over annotators' current labels, ties to the latest."""
        cur = self.latest_labels(dataset)
        if cur.empty:
            return pd.Series(dtype=object, name="label")
        votes = cur.groupby(["image_id", "label"]).agg(n=("label_id", "size"), last=("label_id", "max"))
        best = votes.reset_index().sort_values(["image_id", "n", "last"]).groupby("image_id").tail(1)
        return best.set_index("image_id")["label"].sort_index()

    # -- fast reads for the labelling loop: prebuilt statements, no pandas, as they run after every keypress --
    def count_images(self, dataset: str) -> int:
        """How many images the dataset holds."""
        return int(self._rows(_COUNT_IMAGES, {"ds": self.dataset_id(dataset)})[0][0])

    def label_counts(self, dataset: str, annotator: str) -> dict[str, int]:
        """Images per class in one annotator's current labels."""
        return {name: n for name, n in self._rows(_LABEL_COUNTS, {"ds": self.dataset_id(dataset),
                                                                  "annotator": annotator})}

    def current_label(self, image_id: int, annotator: str) -> str | None:
        """One annotator's current label of one image, or None."""
        rows = self._rows(_CURRENT_LABEL, {"image_id": int(image_id), "annotator": annotator})
        return rows[0][0] if rows else None

    def tags_of(self, image_id: int, annotator: str) -> list[str]:
        """The tags one annotator put on one image, in tag order."""
        return [r[0] for r in self._rows(_TAGS_OF, {"image_id": int(image_id), "annotator": annotator})]

    # -- tags on images ----------------------------------------------------------------------
    def set_image_tag(self, image_id: int, tag: str, annotator: str, on: bool = True) -> None:
        """Put a category tag on an image (or take it off) in one committed transaction."""
        params = {"image_id": int(image_id), "tag": tag, "annotator": annotator}
        tag_id = _TAG_OF_IMAGE.scalar_subquery()
        with self.transaction() as db:
            if on:
                stmt = (self._insert(image_tags).from_select(
                    ["image_id", "tag_id", "annotator", "created_at"],
                    select(images.c.id, tags.c.id, bindparam("annotator", type_=Text), bindparam("now", type_=Float))
                    .join_from(images, tags, tags.c.dataset_id == images.c.dataset_id)
                    .where(images.c.id == _IMAGE, tags.c.name == bindparam("tag"))).on_conflict_do_nothing()
                        .returning(image_tags.c.tag_id))
                done = db.execute(stmt, {**params, "now": time.time()}).first()
            else:
                done = db.execute(delete(image_tags).where(image_tags.c.image_id == _IMAGE, image_tags.c.tag_id == tag_id,
                                                           image_tags.c.annotator == _ANNOTATOR), params).rowcount
            if not done and db.execute(_TAG_OF_IMAGE, params).first() is None:
                raise WorkbenchError(f"Unknown tag {tag!r} for image {image_id}.")

    def image_tags(self, dataset: str, annotator: str | None = None) -> pd.DataFrame:
        """Tag assignments: columns image_id, tag, annotator."""
        ds = self.dataset_id(dataset)
        stmt = (select(image_tags.c.image_id, tags.c.name.label("tag"), image_tags.c.annotator)
                .join_from(image_tags, tags, tags.c.id == image_tags.c.tag_id).where(tags.c.dataset_id == ds))
        if annotator is not None:
            stmt = stmt.where(image_tags.c.annotator == annotator)
        return self._frame(stmt)

    # -- splits: the rows only; workbench.data.splits decides the sides ------------------------
    def assigned_splits(self, dataset: str, seed: int) -> pd.DataFrame:
        """image_id, split of the images assigned a side for this seed."""
        ds = self.dataset_id(dataset)
        stmt = select(splits.c.image_id, splits.c.split).where(splits.c.dataset_id == ds, splits.c.seed == seed)
        df = self._frame(stmt)
        return df if not df.empty else pd.DataFrame({"image_id": pd.Series(dtype=int), "split": pd.Series(dtype=object)})

    def add_splits(self, dataset: str, seed: int, sides: dict[int, str]) -> int:
        """Assign sides to images that have none for this seed; returns how many were written (an image a concurrent
        caller assigned first keeps that side)."""
        ds = self.dataset_id(dataset)
        rows = [{"dataset_id": ds, "seed": seed, "image_id": int(i), "split": s} for i, s in sides.items()]
        if not rows:
            return 0
        with self.transaction() as db:
            return len(db.execute(self._insert(splits).on_conflict_do_nothing().returning(splits.c.image_id),
                                  rows).all())

    def move_splits(self, dataset: str, seed: int, sides: dict[int, str]) -> None:
        """Move images already assigned for this seed to other sides, in one transaction."""
        ds = self.dataset_id(dataset)
        stmt = (splits.update().where(splits.c.dataset_id == ds, splits.c.seed == seed,
                                      splits.c.image_id == bindparam("id")).values(split=bindparam("side")))
        if sides:
            with self.transaction() as db:
                db.execute(stmt, [{"id": int(i), "side": s} for i, s in sides.items()])


_CHUNK = 5000  # rows per INSERT: SQLite takes at most 32,766 parameters in one statement
_ITEMS = values(column("n", Integer), column("image_id", Integer), column("label", Text), column("confidence", Float),
                name="items")


def _bulk_labels(rows: list[tuple]) -> Executable:
    """One INSERT ... SELECT FROM (VALUES ...) of labels that differ from the annotator's current ones."""
    items = _ITEMS.data(rows).cte("items")
    current = (select(labels.c.class_id).where(labels.c.image_id == items.c.image_id, labels.c.annotator == _ANNOTATOR)
               .order_by(labels.c.id.desc()).limit(1).scalar_subquery())
    # cast: PostgreSQL types a VALUES column of NULLs as text
    picked = (select(items.c.image_id, classes.c.id, *_LABEL_VALUES[2:5], cast(items.c.confidence, Float))
              .select_from(items)
              .join(images, images.c.id == items.c.image_id)
              .join(classes, and_(classes.c.dataset_id == images.c.dataset_id, classes.c.name == items.c.label))
              .where(images.c.dataset_id == _DS, classes.c.id.is_distinct_from(current)).order_by(items.c.n))
    return labels.insert().from_select(_LABEL_COLUMNS, picked).returning(labels.c.id)


_PARAM = re.compile(r"'(?:[^']|'')*'|\?")


def _numbered_params(sql: str) -> str:
    """`?` placeholders (outside string literals) as :p0, :p1, ... for SQLAlchemy's text()."""
    count = iter(range(10_000))
    return _PARAM.sub(lambda m: m.group(0) if m.group(0) != "?" else f":p{next(count)}", sql)


def _param_dict(params: Sequence) -> dict:
    # psycopg does not adapt numpy scalars
    return {f"p{i}": v.item() if isinstance(v, np.generic) else v for i, v in enumerate(params)}


def _annotator(name: str | None) -> str:
    return checks.annotator(name, "labelling")


def _check_source(source: str) -> None:
    checks.one_of(source, LABEL_SOURCES, "label source")


def _float_or_none(x) -> float | None:
    return None if x is None else float(x)
