"""Schema migrations (Alembic, shipped in migrations/), run on open: a store of any earlier release is upgraded in place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK = 7_326_001  # advisory lock key: two processes opening a new PostgreSQL store migrate one after the other


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def head() -> str:
    """The newest schema revision this code knows."""
    return _script().get_current_head()


def current(conn: Connection) -> str | None:
    """The store's schema revision (None: empty, or written before migrations existed)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection) -> None:
    """Bring the store on `conn` (inside a write transaction) to head; a no-op when it is there already."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    rev = current(conn)
    if rev == head():
        return
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    if rev is None and (legacy := _unversioned_revision(conn)):
        command.stamp(config, legacy)
    command.upgrade(config, "head")


def _unversioned_revision(conn: Connection) -> str | None:
    """The revision of a store made before Alembic (git c7bd356, or with provenance added by ALTER), if it is one."""
    insp = inspect(conn)
    if not insp.has_table("labels"):
        return None
    columns = {c["name"] for c in insp.get_columns("labels")}
    return "0002" if "source" in columns else "0001"
