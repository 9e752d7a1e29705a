"""Atomic file writes: a reader, or a process killed mid-write, sees the old file or the new one, never half.

Every file Workbench writes (run configs, histories, evaluations, thresholds, plots, caches, exports) goes
through `atomic_path` (CSV and .xlsx tables through workbench.tables, which uses it): the content is written
to a temporary file in the same folder, flushed to disk and renamed over the target (`os.replace` is atomic on
POSIX and Windows). An import writes thousands of images: it flushes them all at once before its commit
(`durable=False`, then `flush_to_disk`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator


@contextmanager
def atomic_path(path: str | Path, durable: bool = True) -> Iterator[Path]:
    """A temporary path beside `path` (same suffix, so savers that pick a format by suffix work) to write to;
    renamed over `path` when the block ends without an error, removed otherwise. `durable=False` leaves the flush
    to disk to the caller: a writer of many files flushes them all at once (`flush_to_disk`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a unique name per writer: two sessions or threads may write the same file at once
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes, durable: bool = True) -> Path:
    with atomic_path(path, durable) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def flush_to_disk(files: Iterable[Path]) -> None:
    """Files written with durable=False, on disk before this returns: one sync() where the OS has it (an fsync per
    file, one disk flush each, made importing 5,000 images wait seconds to minutes), else an fsync per file."""
    if hasattr(os, "sync"):
        os.sync()
        return
    for f in files:
        _fsync(f)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path: str | Path, obj: Any, **kw) -> Path:
    """`obj` as indented JSON; `kw` goes to json.dumps (e.g. default=str)."""
    return write_text(path, json.dumps(obj, indent=2, **kw))


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """A temporary folder beside `path` to fill; it takes the place of `path` (an older folder removed) when the
    block ends without an error, and is removed otherwise. A reader finds the old folder or the new one, whole
    (or, for the moment between two renames, none), never a mix of old and new files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    unique = uuid.uuid4().hex  # one name per writer, as atomic_path (mkdtemp would make it private: mode 0700)
    tmp, old = (path.with_name(f".{path.name}.{unique}.{end}") for end in ("tmp", "old"))
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            os.replace(path, old)  # a folder cannot be renamed over a non-empty one: move the old one aside first
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
