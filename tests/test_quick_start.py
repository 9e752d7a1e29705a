"""A quick start: the app's first page and the commands that compute nothing import no torch (nor timm,
scikit-learn, cleanlab, OpenCV, plotly or matplotlib): those load when a feature first needs them."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from workbench.data.importers.arrays import import_arrays

HEAVY = ("torch", "torchvision", "timm", "sklearn", "cleanlab", "scipy", "cv2", "plotly", "matplotlib",
         "pytorch_grad_cam", "skimage", "onnxruntime")


def _imported(home, *args: str) -> set[str]:
    """The top-level packages a fresh `python -X importtime ARGS` process imported (its exit status must be 0)."""
    env = {**os.environ, "WORKBENCH_HOME": str(home)}
    done = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=home, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    names = [line.rpartition("|")[2].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {n.split(".")[0] for n in names}


@pytest.fixture
def tiny_set(store):
    """A labelled 12-image set in the test's home (no demo sets: they would not change what is imported)."""
    x = np.random.default_rng(0).integers(0, 255, (12, 8, 8), dtype=np.uint8)
    import_arrays(store, x, np.arange(12) % 2, ["cat", "dog"], name="tiny")
    return store


def test_importing_the_app_and_the_cli_imports_no_heavy_library(home):
    loaded = _imported(home, "-c", "import workbench.ui.app, workbench.cli")
    assert "gradio" in loaded  # the measurement sees imports
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_building_the_app_on_an_existing_home_imports_no_heavy_library(home, tiny_set):
    script = ("from workbench.ui.app import build_app\n"
              "from workbench.workspace import Workspace\n"
              "ws = Workspace.open()\n"
              "build_app(ws=ws)\n"
              "assert 'tiny' in ws.store.datasets()\n")
    loaded = _imported(home, "-c", script)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_listing_and_export_import_no_torch(home, tiny_set, tmp_path):
    for args in (["--help"], ["train", "--list"], ["export", "tiny", str(tmp_path / "labels.csv")]):
        loaded = _imported(home, "-m", "workbench", *args)
        assert loaded.isdisjoint(HEAVY), (args, sorted(loaded & set(HEAVY)))
    assert (tmp_path / "labels.csv").read_text().count("\n") == 13  # header and 12 labels: the export ran
