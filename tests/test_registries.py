"""Every tab and command module is registered and imported normally: a missing, renamed or broken one stops the
start with an ImportError instead of quietly disappearing from the app or the command line."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

import workbench.cli
import workbench.ui.app

ROOT = Path(workbench.__file__).parent


def test_every_tab_and_command_module_is_registered():
    assert {t.module.__name__ for t in workbench.ui.app.TABS} == {
        f"workbench.ui.{p.stem}" for p in (ROOT / "ui").glob("*_tab.py")}
    assert {m.__name__ for m in workbench.cli.COMMANDS} == {
        f"workbench.cli.{p.stem}" for p in (ROOT / "cli").glob("*_cmd.py")}


@pytest.mark.parametrize("registry, missing", [
    ("workbench.ui.app", "workbench.ui.predict_tab"),
    ("workbench.cli", "workbench.cli.train_cmd"),
])
def test_a_missing_tab_or_command_fails_loudly(home, monkeypatch, registry, missing):
    package, _, name = missing.rpartition(".")
    # the module as if its file were gone or renamed: importing it raises ModuleNotFoundError(name=missing)
    monkeypatch.setitem(sys.modules, missing, None)
    monkeypatch.delattr(sys.modules[package], name)
    monkeypatch.delitem(sys.modules, registry)  # the registry is imported afresh, as at start
    with pytest.raises(ModuleNotFoundError) as e:
        module = importlib.import_module(registry)
        module.build_app() if registry.endswith("app") else module.build_parser()  # a lenient registry gets here
    assert e.value.name == missing


def test_the_export_formats_offered_are_the_exporters():
    from workbench.deploy.export import EXPORTERS
    from workbench.deploy.formats import FORMATS

    assert tuple(EXPORTERS) == FORMATS
