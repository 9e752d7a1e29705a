"""A Workspace finds its home once (argument, else $WORKBENCH_HOME, else the current directory), makes its folders
on demand, and opens its label store on first use only."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.store import ImageRecord, Store
from workbench.workspace import Workspace


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Three different folders: the argument, $WORKBENCH_HOME and the current directory."""
    folders = {k: tmp_path / k for k in ("arg", "env", "cwd")}
    for f in folders.values():
        f.mkdir()
    monkeypatch.setenv("WORKBENCH_HOME", str(folders["env"]))
    monkeypatch.delenv("WORKBENCH_DB", raising=False)
    monkeypatch.chdir(folders["cwd"])
    return folders


def test_home_is_the_argument_else_the_environment_else_the_current_directory(elsewhere, monkeypatch):
    assert Workspace.open(elsewhere["arg"]).home == elsewhere["arg"].resolve()
    assert Workspace.open().home == elsewhere["env"].resolve()
    monkeypatch.delenv("WORKBENCH_HOME")
    assert Workspace.open().home == elsewhere["cwd"].resolve()


def test_home_is_found_once_and_absolute(elsewhere, monkeypatch):
    monkeypatch.chdir(elsewhere["arg"])
    ws = Workspace.open("../env/.")
    monkeypatch.setenv("WORKBENCH_HOME", str(elsewhere["cwd"]))
    monkeypatch.chdir(elsewhere["cwd"])
    assert ws.home == elsewhere["env"].resolve() and ws.home.is_absolute()
    assert ws.plots == elsewhere["env"].resolve() / "plots_checkpoints"


def test_folders_are_made_on_demand_under_home(elsewhere):
    ws = Workspace.open(elsewhere["arg"])
    assert not any(elsewhere["arg"].iterdir())  # opening makes nothing
    for folder, name in ((ws.datasets, "datasets"), (ws.checkpoints, "checkpoints"), (ws.plots, "plots_checkpoints")):
        assert folder == ws.home / name and folder.is_dir()


def test_the_store_is_opened_on_first_use_once_in_datasets_by_default(elsewhere):
    ws = Workspace.open(elsewhere["arg"])
    assert not ws.db_file.exists()  # a command that never touches labels leaves no database behind
    store = ws.store
    assert store is ws.store
    assert store.path == ws.db_file == elsewhere["arg"].resolve() / "datasets" / "workbench.sqlite"
    assert ws.db_file.exists()
    ws.close()


def test_the_store_is_the_argument_else_workbench_db(elsewhere, monkeypatch):
    given = elsewhere["cwd"] / "given.sqlite"
    assert Workspace.open(elsewhere["arg"], db=given).store.path == given.resolve()
    from_env = elsewhere["cwd"] / "env.sqlite"
    monkeypatch.setenv("WORKBENCH_DB", f"sqlite:///{from_env}")
    assert Workspace.open(elsewhere["arg"]).store.path == from_env
    assert Workspace.open(elsewhere["arg"], db=given).store.path == given.resolve()  # the argument wins


def test_image_paths_are_kept_relative_to_the_workspace_home(elsewhere):
    ws = Workspace.open(elsewhere["arg"])
    image = ws.datasets / "set" / "a.png"
    image.parent.mkdir()
    image.write_bytes(b"png")
    stored = ws.to_stored(image)
    assert stored == "datasets/set/a.png"  # below home: relative, so a moved project keeps working
    ws.store.create_dataset("set", classes=["x"])
    ws.store.add_images("set", [ImageRecord("a.png", stored, "0" * 64, 1, 1, "L", 0)])
    # the workspace's store reads them against its own home, not $WORKBENCH_HOME nor the current directory
    path = Path(ws.store.images("set")["path"][0])
    assert path == ws.from_stored(stored) == image
    assert Path(ws.store.image(int(ws.store.images("set")["image_id"][0]))["path"]) == image
    assert ws.to_stored(elsewhere["cwd"] / "b.png") == str(elsewhere["cwd"] / "b.png")  # outside home: absolute
    ws.close()


def test_a_workspace_around_an_open_store_uses_that_store(elsewhere):
    store = Store(elsewhere["cwd"] / "s.sqlite")
    ws = Workspace.around(store)
    assert ws.store is store and ws.home == elsewhere["env"].resolve()
    assert Workspace.around(store, elsewhere["arg"]).home == elsewhere["arg"].resolve()
    assert Workspace.around(Workspace.open(elsewhere["arg"]).store).home == elsewhere["arg"].resolve()
    store.close()


def test_a_command_refusing_its_options_leaves_no_store_behind(home, capsys):
    from workbench.cli import main

    assert main(["app", "--admin", "boss", "--no-demo"]) == 2  # --admin without --auth: refused
    assert "need logins" in capsys.readouterr().err
    assert not (home / "datasets").exists()
