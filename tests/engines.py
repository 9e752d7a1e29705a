"""The two store engines for tests: SQLite in the test's home, or a fresh schema on the PostgreSQL server at
$WORKBENCH_TEST_PG (start one with `eval "$(.ci/postgres.sh start)"`). Without that variable the PostgreSQL
cases skip locally and fail under CI=true: CI must run them."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from workbench import paths

ENGINES = ("sqlite", "postgresql")
PG_ENV = "WORKBENCH_TEST_PG"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@lru_cache(maxsize=1)
def _admin(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)


def pg_base_url() -> str:
    """The server's URL, or skip (locally) / fail (in CI) with how to get one."""
    url = os.environ.get(PG_ENV)
    if not url:
        msg = f'PostgreSQL case needs a server: set {PG_ENV} (eval "$(.ci/postgres.sh start)")'
        if _in_ci():
            pytest.fail(msg + "; CI never skips it.")
        pytest.skip(msg)
    return url


@contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A URL whose connections work in a new, empty schema; the schema is dropped afterwards."""
    base = pg_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _admin(base).connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with _admin(base).connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@contextmanager
def engine_url(engine: str) -> Iterator[str]:
    """The store URL a test of `engine` works on (also exported as WORKBENCH_DB by the fixture)."""
    if engine == "sqlite":
        yield f"sqlite:///{paths.find_home() / paths.DATASETS / paths.DB_FILE}"
    else:
        with fresh_pg_schema() as url:
            yield url
