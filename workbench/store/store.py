"""The label store: one SQLite file in WAL mode, one transaction per label, safe across threads."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from workbench import paths
from workbench.errors import UnknownDataset, WorkbenchError
from workbench.store.schema import ADDED_COLUMNS, DEFAULT_TAGS, LABEL_SOURCES, SCHEMA

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)


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


class Store:
    """Datasets, images, classes, labels, tags and splits in one SQLite file.

    Each thread gets its own connection (Gradio runs handlers in a thread pool); every write is its
    own transaction with synchronous=FULL, so an acknowledged label survives a killed process.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else paths.db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn().executescript(SCHEMA)  # executescript manages its own transaction
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Bring a store written by an older release up to date (columns added since)."""
        with self.transaction() as db:
            for table, cols in ADDED_COLUMNS.items():
                have = {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}
                for name, decl in cols:
                    if name not in have:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")

    # -- connections -------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any exception."""
        db = self._conn()
        if db.in_transaction:  # nested: join the outer transaction
            yield db
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def query(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        return pd.read_sql_query(sql, self._conn(), params=list(params))

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- datasets ----------------------------------------------------------------------------
    def create_dataset(self, name: str, source: str = "", classes: Iterable[str] = (),
                       tags: Iterable[str] = DEFAULT_TAGS) -> int:
        """Create a dataset (or return the existing one of that name), adding classes and tags."""
        name = name.strip()
        if not name:
            raise WorkbenchError("A dataset needs a name.")
        with self.transaction() as db:
            row = db.execute("SELECT id FROM datasets WHERE name=?", (name,)).fetchone()
            if row:
                ds = row["id"]
            else:
                ds = db.execute("INSERT INTO datasets(name, source, created_at) VALUES (?,?,?)",
                                (name, source, time.time())).lastrowid
                self._add_named(db, "tags", ds, tags)
            self._add_named(db, "classes", ds, classes)
        return ds

    def dataset_id(self, name: str) -> int:
        row = self._conn().execute("SELECT id FROM datasets WHERE name=?", (name,)).fetchone()
        if row is None:
            known = ", ".join(self.datasets()) or "none yet"
            raise UnknownDataset(f"No dataset named {name!r} (known: {known}).")
        return row["id"]

    def datasets(self) -> list[str]:
        return [r["name"] for r in self._conn().execute("SELECT name FROM datasets ORDER BY id")]

    def delete_dataset(self, name: str) -> None:
        ds = self.dataset_id(name)
        with self.transaction() as db:
            db.execute("DELETE FROM datasets WHERE id=?", (ds,))

    def summary(self, dataset: str) -> dict:
        """Counts a user wants at a glance: images, labelled images, per class and per tag."""
        ds = self.dataset_id(dataset)
        n = self._conn().execute("SELECT COUNT(*) FROM images WHERE dataset_id=?", (ds,)).fetchone()[0]
        labels = self.resolved_labels(dataset)
        tags = self.image_tags(dataset)
        per_class = {c: int((labels == c).sum()) for c in self.classes(dataset)}
        per_tag = {t: int(tags.loc[tags.tag == t, "image_id"].nunique()) for t in self.tags(dataset)}
        return {"dataset": dataset, "images": int(n), "labelled": int(len(labels)),
                "per_class": per_class, "per_tag": per_tag}

    # -- classes and tags --------------------------------------------------------------------
    @staticmethod
    def _add_named(db: sqlite3.Connection, table: str, ds: int, names: Iterable[str]) -> None:
        start = db.execute(f"SELECT COALESCE(MAX(position)+1, 0) FROM {table} WHERE dataset_id=?",
                           (ds,)).fetchone()[0]
        for name in names:
            name = str(name).strip()
            if not name:
                continue
            cur = db.execute(f"INSERT OR IGNORE INTO {table}(dataset_id, name, position) VALUES (?,?,?)",
                             (ds, name, start))
            start += cur.rowcount

    def classes(self, dataset: str) -> list[str]:
        """Class names in index order (the index a model predicts)."""
        ds = self.dataset_id(dataset)
        return [r["name"] for r in self._conn().execute(
            "SELECT name FROM classes WHERE dataset_id=? ORDER BY position", (ds,))]

    def add_classes(self, dataset: str, names: Iterable[str]) -> list[str]:
        ds = self.dataset_id(dataset)
        with self.transaction() as db:
            self._add_named(db, "classes", ds, names)
        return self.classes(dataset)

    def tags(self, dataset: str) -> list[str]:
        ds = self.dataset_id(dataset)
        return [r["name"] for r in self._conn().execute(
            "SELECT name FROM tags WHERE dataset_id=? ORDER BY position", (ds,))]

    def add_tags(self, dataset: str, names: Iterable[str]) -> list[str]:
        ds = self.dataset_id(dataset)
        with self.transaction() as db:
            self._add_named(db, "tags", ds, names)
        return self.tags(dataset)

    def remove_tag(self, dataset: str, name: str) -> list[str]:
        """Remove a category tag and its assignments."""
        ds = self.dataset_id(dataset)
        with self.transaction() as db:
            db.execute("DELETE FROM tags WHERE dataset_id=? AND name=?", (ds, name))
        return self.tags(dataset)

    # -- images ------------------------------------------------------------------------------
    def add_images(self, dataset: str, records: Sequence[ImageRecord]) -> int:
        """Insert images not yet in the dataset (by name); returns how many were new."""
        ds = self.dataset_id(dataset)
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO images(dataset_id, name, path, source, sha256, width, height, mode,"
                " position, brightness, contrast, blur, inverted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(ds, r.name, r.path, r.source, r.sha256, r.width, r.height, r.mode, r.position,
                  r.brightness, r.contrast, r.blur, r.inverted) for r in records])
            return db.total_changes - before

    def images(self, dataset: str) -> pd.DataFrame:
        """All images of a dataset in file order, with quality stats; `path` is absolute."""
        ds = self.dataset_id(dataset)
        df = self.query("SELECT id AS image_id, name, path, source, sha256, width, height, mode, position,"
                        " brightness, contrast, blur, inverted FROM images WHERE dataset_id=?"
                        " ORDER BY position, id", (ds,))
        base = str(paths.home())
        df["path"] = [p if os.path.isabs(p) else os.path.join(base, p) for p in df["path"]]
        return df

    def image(self, image_id: int) -> dict:
        row = self._conn().execute(
            "SELECT i.*, d.name AS dataset FROM images i JOIN datasets d ON d.id=i.dataset_id WHERE i.id=?",
            (int(image_id),)).fetchone()
        if row is None:
            raise WorkbenchError(f"No image with id {image_id}.")
        out = dict(row)
        out["path"] = str(paths.from_stored(out["path"]))
        return out

    # -- labels ------------------------------------------------------------------------------
    def add_label(self, image_id: int, label: str, annotator: str, source: str = "typed",
                  confidence: float | None = None) -> int:
        """Record one label in its own committed transaction; returns the label id (for undo).

        source says how it was made (one of LABEL_SOURCES); confidence is the accepted suggestion's.
        """
        annotator = (annotator or "").strip()
        if not annotator:
            raise WorkbenchError("Give an annotator name before labelling.")
        _check_source(source)
        with self.transaction() as db:
            row = db.execute("SELECT c.id FROM classes c JOIN images i ON i.dataset_id=c.dataset_id"
                             " WHERE i.id=? AND c.name=?", (int(image_id), label)).fetchone()
            if row is None:
                raise WorkbenchError(f"Unknown class {label!r} for image {image_id}.")
            return db.execute("INSERT INTO labels(image_id, class_id, annotator, created_at, source, confidence)"
                              " VALUES (?,?,?,?,?,?)", (int(image_id), row["id"], annotator, time.time(), source,
                                                        _float_or_none(confidence))).lastrowid

    def add_labels(self, dataset: str, items: Iterable[tuple], annotator: str, source: str = "bulk",
                   confidence: float | None = None) -> int:
        """Many labels in one transaction (bulk, grid, page accept, import); skips ones equal to the current label.

        items are (image_id, label) or (image_id, label, confidence); a per-item confidence wins over `confidence`.
        """
        _check_source(source)
        ds = self.dataset_id(dataset)
        class_ids = {r["name"]: r["id"] for r in self._conn().execute(
            "SELECT id, name FROM classes WHERE dataset_id=?", (ds,))}
        current = self.latest_labels(dataset, annotator)
        current = dict(zip(current.image_id, current.label))
        now = time.time()
        rows = []
        for item in items:
            image_id, label = item[0], item[1]
            conf = item[2] if len(item) > 2 else confidence
            if label not in class_ids:
                raise WorkbenchError(f"Unknown class {label!r} in dataset {dataset!r}.")
            if current.get(int(image_id)) != label:
                rows.append((int(image_id), class_ids[label], annotator, now, source, _float_or_none(conf)))
        with self.transaction() as db:
            db.executemany("INSERT INTO labels(image_id, class_id, annotator, created_at, source, confidence)"
                           " VALUES (?,?,?,?,?,?)", rows)
        return len(rows)

    def remove_label(self, label_id: int) -> None:
        """Undo one label: the annotator's previous label for that image (if any) is current again."""
        with self.transaction() as db:
            db.execute("DELETE FROM labels WHERE id=?", (int(label_id),))

    def latest_labels(self, dataset: str, annotator: str | None = None) -> pd.DataFrame:
        """The current label of each (image, annotator): image_id, annotator, label, label_id, created_at,
        source, confidence."""
        ds = self.dataset_id(dataset)
        sql = ("SELECT l.image_id, l.annotator, c.name AS label, l.id AS label_id, l.created_at, l.source,"
               " l.confidence"
               " FROM (SELECT MAX(l.id) AS id FROM labels l JOIN images i ON i.id=l.image_id"
               "       WHERE i.dataset_id=? {flt} GROUP BY l.image_id, l.annotator) m"
               " JOIN labels l ON l.id=m.id JOIN classes c ON c.id=l.class_id ORDER BY l.id")
        if annotator is None:
            return self.query(sql.format(flt=""), (ds,))
        return self.query(sql.format(flt="AND l.annotator=?"), (ds, annotator))

    def resolved_labels(self, dataset: str) -> pd.Series:
        """One label per labelled image: majority over annotators' current labels, ties to the latest."""
        cur = self.latest_labels(dataset)
        if cur.empty:
            return pd.Series(dtype=object, name="label")
        votes = cur.groupby(["image_id", "label"]).agg(n=("label_id", "size"), last=("label_id", "max"))
        best = votes.reset_index().sort_values(["image_id", "n", "last"]).groupby("image_id").tail(1)
        return best.set_index("image_id")["label"].sort_index()

    # -- fast reads for the labelling loop: plain SQL, no pandas, as they run after every keypress --
    def count_images(self, dataset: str) -> int:
        ds = self.dataset_id(dataset)
        return int(self._conn().execute("SELECT COUNT(*) FROM images WHERE dataset_id=?", (ds,)).fetchone()[0])

    def label_counts(self, dataset: str, annotator: str) -> dict[str, int]:
        """Images per class in one annotator's current labels."""
        ds = self.dataset_id(dataset)
        rows = self._conn().execute(
            "SELECT c.name, COUNT(*) FROM (SELECT MAX(l.id) AS id FROM labels l JOIN images i ON i.id=l.image_id"
            " WHERE i.dataset_id=? AND l.annotator=? GROUP BY l.image_id) m"
            " JOIN labels l ON l.id=m.id JOIN classes c ON c.id=l.class_id GROUP BY c.name", (ds, annotator))
        return {name: n for name, n in rows}

    def current_label(self, image_id: int, annotator: str) -> str | None:
        """One annotator's current label of one image, or None."""
        row = self._conn().execute(
            "SELECT c.name FROM labels l JOIN classes c ON c.id=l.class_id WHERE l.image_id=? AND l.annotator=?"
            " ORDER BY l.id DESC LIMIT 1", (int(image_id), annotator)).fetchone()
        return row[0] if row else None

    def tags_of(self, image_id: int, annotator: str) -> list[str]:
        """The tags one annotator put on one image, in tag order."""
        return [r[0] for r in self._conn().execute(
            "SELECT t.name FROM image_tags it JOIN tags t ON t.id=it.tag_id WHERE it.image_id=? AND it.annotator=?"
            " ORDER BY t.position", (int(image_id), annotator))]

    # -- tags on images ----------------------------------------------------------------------
    def set_image_tag(self, image_id: int, tag: str, annotator: str, on: bool = True) -> None:
        """Put a category tag on an image (or take it off) in one committed transaction."""
        with self.transaction() as db:
            row = db.execute("SELECT t.id FROM tags t JOIN images i ON i.dataset_id=t.dataset_id"
                             " WHERE i.id=? AND t.name=?", (int(image_id), tag)).fetchone()
            if row is None:
                raise WorkbenchError(f"Unknown tag {tag!r} for image {image_id}.")
            if on:
                db.execute("INSERT OR IGNORE INTO image_tags(image_id, tag_id, annotator, created_at)"
                           " VALUES (?,?,?,?)", (int(image_id), row["id"], annotator, time.time()))
            else:
                db.execute("DELETE FROM image_tags WHERE image_id=? AND tag_id=? AND annotator=?",
                           (int(image_id), row["id"], annotator))

    def image_tags(self, dataset: str, annotator: str | None = None) -> pd.DataFrame:
        """Tag assignments: columns image_id, tag, annotator."""
        ds = self.dataset_id(dataset)
        sql = ("SELECT it.image_id, t.name AS tag, it.annotator FROM image_tags it"
               " JOIN tags t ON t.id=it.tag_id WHERE t.dataset_id=?")
        if annotator is None:
            return self.query(sql, (ds,))
        return self.query(sql + " AND it.annotator=?", (ds, annotator))

    # -- splits ------------------------------------------------------------------------------
    def splits(self, dataset: str, seed: int = 0,
               fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> pd.DataFrame:
        """train/val/test per labelled image: seeded, stratified by label, exact duplicates together.

        Assignments are sticky: images labelled later join a split without moving earlier ones, so the
        test set of an experiment stays the test set.
        """
        ds = self.dataset_id(dataset)
        labels = self.resolved_labels(dataset)
        imgs = self.query("SELECT id AS image_id, sha256, position FROM images WHERE dataset_id=?", (ds,))
        imgs = imgs[imgs.image_id.isin(labels.index)].copy()
        imgs["label"] = imgs.image_id.map(labels)
        have = self.query("SELECT image_id, split FROM splits WHERE dataset_id=? AND seed=?", (ds, seed))
        imgs = imgs.merge(have, on="image_id", how="left")
        # a duplicate of an assigned image goes where its twin is
        twin = imgs.dropna(subset=["split"]).drop_duplicates("sha256").set_index("sha256")["split"]
        imgs["split"] = imgs["split"].fillna(imgs.sha256.map(twin))
        new = imgs[imgs.split.isna()]
        if not new.empty:
            assigned = _assign_groups(imgs, new, seed, fractions)
            imgs.loc[assigned.index, "split"] = assigned
            with self.transaction() as db:
                db.executemany("INSERT OR REPLACE INTO splits(dataset_id, seed, image_id, split) VALUES (?,?,?,?)",
                               [(ds, seed, int(i), s) for i, s in
                                zip(imgs.loc[assigned.index, "image_id"], assigned)])
        out = imgs[["image_id", "label", "split"]].astype({"split": str})
        return out.sort_values("image_id").reset_index(drop=True)

    def labelled(self, dataset: str, seed: int = 0) -> pd.DataFrame:
        """Labelled images with path, label, class index, split and quality stats: what training reads."""
        imgs = self.images(dataset)
        sp = self.splits(dataset, seed)
        df = imgs.merge(sp, on="image_id")
        index = {c: i for i, c in enumerate(self.classes(dataset))}
        df["y"] = df["label"].map(index).astype(int)
        return df.sort_values("position").reset_index(drop=True)


def _check_source(source: str) -> None:
    if source not in LABEL_SOURCES:
        raise WorkbenchError(f"Unknown label source {source!r} (one of {', '.join(LABEL_SOURCES)}).")


def _float_or_none(x) -> float | None:
    return None if x is None else float(x)


def _assign_groups(all_imgs: pd.DataFrame, new: pd.DataFrame, seed: int,
                   fractions: tuple[float, float, float]) -> pd.Series:
    """Greedy stratified allocation of new duplicate-groups to the split furthest below its target."""
    frac = np.asarray(fractions, dtype=float) / sum(fractions)
    # one label per group of exact duplicates: its most common label (ties: the first in sort order)
    votes = new.groupby(["sha256", "label"]).size().reset_index(name="n")
    votes = votes.sort_values(["sha256", "n", "label"], ascending=[True, False, True]).drop_duplicates("sha256")
    groups = votes.set_index("sha256")[["label"]]
    groups["first"] = new.groupby("sha256")["position"].min()
    groups["size"] = new.groupby("sha256").size()
    groups = groups.sort_values("first")
    done = all_imgs[all_imgs.split.notna()].groupby(["label", "split"]).size()
    rng = np.random.default_rng(seed)
    out = {}
    for label, g in groups.groupby("label", sort=True):
        have = np.array([done.get((label, s), 0) for s in SPLITS], dtype=float)
        order = rng.permutation(len(g))
        shas, sizes = g.index.to_numpy()[order], g["size"].to_numpy()[order]
        target = frac * (have.sum() + sizes.sum())
        for sha, n in zip(shas, sizes):
            k = int(np.argmax(target - have))
            out[sha] = SPLITS[k]
            have[k] += n
    return new.sha256.map(out)
