"""One SQLAlchemy engine for either store: SQLite (WAL, synchronous=FULL, BEGIN IMMEDIATE) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import os
import weakref
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from workbench.errors import WorkbenchError

WRITE = "workbench_write"  # execution option marking a connection that will write (BEGIN IMMEDIATE on SQLite)
ENGINES = ("sqlite", "postgresql")
_OPEN: weakref.WeakSet = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # a forked child (e.g. a DataLoader worker) must not use the parent's connections: it opens its own
    for engine in list(_OPEN):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def parse_url(db: str | Path) -> URL:
    """A URL (sqlite:///..., postgresql+psycopg://...) or a path to an SQLite file, checked."""
    text = str(db)
    if "://" not in text:
        return make_url(f"sqlite:///{Path(text).expanduser().resolve()}")
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as e:
        raise WorkbenchError(f"Not a database URL: {text!r} ({e}).") from None
    if url.get_backend_name() not in ENGINES:
        raise WorkbenchError(f"Unsupported database {url.get_backend_name()!r} in {url.render_as_string()!r}: "
                             "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB.")
    if url.drivername == "postgresql":  # SQLAlchemy's default driver is psycopg2; we ship psycopg 3
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(url: URL) -> Engine:
    """An engine whose connections are safe across Gradio's handler threads."""
    pool = {"pool_size": 8, "max_overflow": 32, "pool_timeout": 60}
    if url.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, **pool)
        _OPEN.add(engine)
        return engine
    if url.database:
        try:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise WorkbenchError(f"Cannot create the folder of the label store {url.database}: {e.strerror}.") from None
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pool)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    _OPEN.add(engine)
    return engine


def _sqlite_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # the driver's own late BEGIN is off; _sqlite_begin says when
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
        dbapi_conn.execute(f"PRAGMA {pragma}")


def _sqlite_begin(conn: Connection) -> None:
    # a writer takes the write lock up front: a deferred BEGIN that reads then writes can fail with SQLITE_BUSY
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")
