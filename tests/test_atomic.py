"""The one atomic writer: a failed write leaves the old file whole and no temporary file behind."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench import atomic, tables


def test_writes_replace_the_file_and_leave_nothing_else(tmp_path):
    f = tmp_path / "sub" / "run.json"
    atomic.write_json(f, {"a": 1})
    atomic.write_json(f, {"a": 2})
    assert json.loads(f.read_text()) == {"a": 2}
    tables.write_csv(tmp_path / "h.csv", pd.DataFrame({"epoch": [1, 2]}))
    assert pd.read_csv(tmp_path / "h.csv")["epoch"].tolist() == [1, 2]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["h.csv", "run.json", "sub"]


def test_an_error_mid_write_keeps_the_old_content(tmp_path):
    f = tmp_path / "threshold.json"
    atomic.write_text(f, "old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(f) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert f.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["threshold.json"]


def test_the_temporary_file_keeps_the_suffix(tmp_path):
    with atomic.atomic_path(tmp_path / "plot.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    assert (tmp_path / "plot.png").read_bytes() == b"x"
