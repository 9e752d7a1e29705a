"""One store on two engines: migrations (a store of the previous release upgrades in place), concurrent writers,
the --db option, and clear errors for bad database URLs. Runs on SQLite and on PostgreSQL (see tests/engines.py)."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from PIL import Image

from workbench.cli import main as cli
from workbench.data.splits import splits
from workbench.errors import WorkbenchError
from workbench.store import ImageRecord, Store, migrate
from workbench.store.schema import metadata

OLD_SCHEMA = Path(__file__).parent / "fixtures" / "store_schema_c7bd356.sql"  # the store as released at c7bd356


def _old_store(path: Path, extra_sql: str = "") -> None:
    """A store as the previous release wrote it: 2 datasets, 5 images, 6 labels by 2 annotators, a tag, splits."""
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA.read_text() + extra_sql)
    db.executemany("INSERT INTO datasets(id, name, created_at) VALUES (?, ?, 0)", [(1, "d"), (2, "e")])
    db.executemany("INSERT INTO classes(id, dataset_id, name, position) VALUES (?, ?, ?, ?)",
                   [(1, 1, "a", 0), (2, 1, "b", 1), (3, 2, "x", 0)])
    db.execute("INSERT INTO tags(id, dataset_id, name, position) VALUES (1, 1, 'dark', 0)")
    db.executemany("INSERT INTO images(id, dataset_id, name, path, sha256, width, height, mode, position)"
                   " VALUES (?, ?, ?, 'x.png', ?, 8, 8, 'L', ?)",
                   [(i, 1 if i < 5 else 2, f"{i}.png", str(i), i) for i in range(1, 6)])
    db.executemany("INSERT INTO labels(image_id, class_id, annotator, created_at) VALUES (?, ?, ?, ?)",
                   [(1, 1, "ann", 1), (1, 2, "ann", 2), (2, 2, "ann", 3), (3, 1, "bob", 4), (4, 1, "bob", 5),
                    (5, 3, "ann", 6)])
    db.execute("INSERT INTO image_tags VALUES (2, 1, 'ann', 0)")
    db.execute("INSERT INTO splits VALUES (1, 0, 1, 'test')")
    db.commit()
    db.close()


def test_a_store_of_the_previous_release_upgrades_in_place_and_keeps_every_label(home):
    path = home / "old.sqlite"
    _old_store(path)
    store = Store(path)
    cur = store.latest_labels("d")
    assert sorted(zip(cur.image_id, cur.annotator, cur.label)) == [
        (1, "ann", "b"), (2, "ann", "b"), (3, "bob", "a"), (4, "bob", "a")]
    assert store.query("SELECT COUNT(*) AS n FROM labels").n[0] == 6  # history kept too
    assert set(cur.source) == {"typed"} and cur.confidence.isna().all()
    assert store.latest_labels("e").label.tolist() == ["x"]
    assert store.tags_of(2, "ann") == ["dark"] and splits(store, "d").set_index("image_id").split[1] == "test"
    assert _revision(store) == migrate.head()
    # and it works as a new store does: provenance recorded, undo, a second open is a no-op
    new = store.add_label(3, "b", "ann", source="accepted", confidence=0.7)
    assert store.latest_labels("d", "ann").set_index("image_id").loc[3, ["source", "confidence"]].tolist() == \
        ["accepted", 0.7]
    store.remove_label(new)
    assert len(Store(path).latest_labels("d")) == 4


def test_a_store_given_provenance_before_migrations_existed_is_not_altered_twice(home):
    path = home / "interim.sqlite"
    _old_store(path, "ALTER TABLE labels ADD COLUMN source TEXT NOT NULL DEFAULT 'typed';"
                     "ALTER TABLE labels ADD COLUMN confidence REAL;")
    store = Store(path)
    assert _revision(store) == migrate.head() and len(store.latest_labels("d")) == 4


RELEASED_0002 = Path(__file__).parent / "fixtures" / "store_schema_ba6b4bd.sql"  # the store as released at ba6b4bd


def test_a_store_of_the_release_before_boxes_upgrades_in_place_keeps_labels_and_takes_boxes(home):
    path = home / "before_boxes.sqlite"
    db = sqlite3.connect(path)
    db.executescript(RELEASED_0002.read_text())
    db.execute("INSERT INTO datasets(id, name, created_at) VALUES (1, 'd', 0)")
    db.executemany("INSERT INTO classes(id, dataset_id, name, position) VALUES (?, 1, ?, ?)", [(1, "a", 0), (2, "b", 1)])
    db.executemany("INSERT INTO images(id, dataset_id, name, path, sha256, width, height, mode, position)"
                   " VALUES (?, 1, ?, 'x.png', ?, 80, 60, 'RGB', ?)", [(i, f"{i}.png", str(i), i) for i in (1, 2)])
    db.executemany("INSERT INTO labels(image_id, class_id, annotator, created_at, source, confidence)"
                   " VALUES (?, ?, ?, ?, ?, ?)", [(1, 1, "ann", 1, "typed", None), (2, 2, "ann", 2, "accepted", 0.8)])
    db.commit()
    db.close()
    store = Store(path)
    assert _revision(store) == migrate.head()
    cur = store.latest_labels("d")
    assert list(zip(cur.image_id, cur.label, cur.source)) == [(1, "a", "typed"), (2, "b", "accepted")]
    assert store.task("d") == "classification"
    store.add_box_classes("d", ["thing"])
    box = store.add_box(2, "thing", 10, 10, 70, 50, "ann")
    assert store.task("d") == "both" and store.boxes("d").box_id.tolist() == [box]


def _revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return migrate.current(conn)


def test_migrations_build_exactly_the_tables_the_code_uses(store):
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert _revision(store) == migrate.head()


def _records(n: int) -> list[ImageRecord]:
    return [ImageRecord(name=f"{i}.png", path=f"x/{i}.png", sha256=str(i), width=8, height=8, mode="L", position=i)
            for i in range(n)]


def test_many_annotators_at_once_lose_and_duplicate_nothing(store):
    store.create_dataset("d", classes=["a", "b"])
    store.add_images("d", _records(40))
    ids = store.images("d").image_id.tolist()
    errors, returned = [], []

    def annotate(k: int) -> None:
        try:
            for n, i in enumerate(ids):
                returned.append(store.add_label(i, "ab"[(n + k) % 2], f"ann{k}"))
        except Exception as e:  # reported below: a thread's assert would be swallowed
            errors.append(e)

    threads = [threading.Thread(target=annotate, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert len(returned) == len(set(returned)) == 8 * 40  # every label acknowledged once, with its own id
    rows = store.query("SELECT annotator, COUNT(*) AS n FROM labels GROUP BY annotator")
    assert dict(zip(rows.annotator, rows.n)) == {f"ann{k}": 40 for k in range(8)}
    cur = store.latest_labels("d")
    for k in range(8):
        mine = cur[cur.annotator == f"ann{k}"].set_index("image_id").label
        assert [mine[i] for i in ids] == ["ab"[(n + k) % 2] for n in range(len(ids))]


def test_creating_one_dataset_from_many_threads_gives_one_dataset(store):
    got = []
    threads = [threading.Thread(target=lambda: got.append(store.create_dataset("d", classes=["a", "b"])))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 6 and len(set(got)) == 1
    assert store.datasets() == ["d"] and store.classes("d") == ["a", "b"]


def test_cli_db_option_picks_the_store(home, db_url, monkeypatch):
    folder = home / "in"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(folder / f"{i}.png")
    monkeypatch.delenv("WORKBENCH_DB")
    assert cli(["import", str(folder), "--name", "via-db", "--db", db_url]) == 0
    assert Store(db_url).datasets() == ["via-db"]
    if not db_url.startswith("sqlite"):
        assert "via-db" not in Store(home / "datasets" / "workbench.sqlite").datasets()


@pytest.mark.parametrize("url, message", [
    ("mysql://u@h/db", "Unsupported database 'mysql'"),
    ("postgresql+psycopg://nobody@/db?host=/nonexistent-dir", "Cannot open the label store"),
    ("not a url://x", "Not a database URL"),
    ("postgresql://u@host:port/db", "Not a database URL"),
])
def test_bad_database_urls_get_a_clear_error(home, url, message, capsys, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", f"sqlite:///{home / 'w.sqlite'}")  # restored after --db rewrites it
    with pytest.raises(WorkbenchError, match=message):
        Store(url)
    assert cli(["export", "faces", str(home / "o.csv"), "--db", url]) == 2
    assert "error:" in capsys.readouterr().err


def test_a_forked_child_labels_on_its_own_connection(store):
    import multiprocessing as mp

    store.create_dataset("d", classes=["a"])
    store.add_images("d", _records(2))
    store.add_label(1, "a", "parent")  # the parent's pool holds a connection now

    def child() -> None:
        inherited = store.engine.pool.checkedin()  # the parent's idle connections, if the child could reuse them
        store.add_label(2, "a", "child")
        os._exit(10 + inherited)

    p = mp.get_context("fork").Process(target=child)
    p.start()
    p.join(60)
    assert p.exitcode == 10  # labelled, through a connection of its own
    store.add_label(1, "a", "parent")  # and the parent's connections still work
    assert sorted(store.latest_labels("d").annotator) == ["child", "parent"]
