"""Zip bombs (issue 17, item 3): a 1.5 MB zip with one 1.5 GB entry is refused quickly, naming the entry, with peak
memory growing by under 200 MB, on every zip path (CLI import, the Datasets tab's upload, predictions); the limits
hold on the bytes actually unpacked too, per entry, in total and as a ratio; a refused archive leaves nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser.api import ApiSession
from browser.appserver import ROOT, AppProcess
from workbench.data.archives import ZipImages, ZipLimits
from workbench.data.importers import import_path
from workbench.errors import ImportFailed

MB = 1024 ** 2
GROWTH_LIMIT = 200 * MB


def zeros_entry(z: zipfile.ZipFile, name: str, size: int) -> None:
    """An entry of `size` zero bytes, written in 16 MB pieces (deflate packs zeros about 1000:1)."""
    with z.open(name, "w", force_zip64=True) as f:
        for start in range(0, size, 16 * MB):
            f.write(bytes(min(16 * MB, size - start)))


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """bomb.zip: two real images and one 1.5 GB entry, 1.5 MB on disk."""
    out = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(2):
            png = out.parent / f"ok{i}.png"
            Image.fromarray(np.full((8, 8), 60 * i, np.uint8)).save(png)
            z.write(png, f"set/ok{i}.png")
        zeros_entry(z, "set/bomb.png", 1536 * MB)
    assert out.stat().st_size < 2 * MB
    return out


def small_zip(path: Path, n: int = 2) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(n):
            png = path.parent / f"small{i}.png"
            Image.fromarray(np.full((8, 8), 30 * i, np.uint8)).save(png)
            z.write(png, f"small{i}.png")
    return path


MEASURE = """
import json, resource, sys, time
from workbench.cli import main
from workbench.predict.sources import gather
kind, warm, bomb = sys.argv[1:4]
run = (lambda p, n: main(["import", p, "--name", n])) if kind == "import" else (lambda p, n: gather([p]))
run(warm, "warm")  # every module the path needs, imported before measuring
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start = time.perf_counter()
out = run(bomb, "bomb")
seconds = time.perf_counter() - start
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
print(json.dumps({"grown": grown, "seconds": seconds, "problems": out[1] if kind == "gather" else out}))
"""


def measured(kind: str, warm: Path, bomb: Path, home: Path) -> tuple[dict, str]:
    """(growth of peak memory, seconds, result) of one path on the bomb, in a fresh process; and its stderr."""
    p = subprocess.run([sys.executable, "-c", MEASURE, kind, str(warm), str(bomb)], cwd=home, capture_output=True,
                       text=True, timeout=600, env={**__import__("os").environ, "WORKBENCH_HOME": str(home),
                                                    "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1]), p.stderr


def test_cli_import_refuses_the_bomb_quickly_in_little_memory(bomb, tmp_path):
    warm = small_zip(tmp_path / "warm.zip")
    result, err = measured("import", warm, bomb, tmp_path)
    assert result["problems"] == 2  # refused: the CLI's exit status
    assert "bomb.zip:set/bomb.png: unpacks to 1.5 GB" in err and "archive refused" in err
    assert result["grown"] < GROWTH_LIMIT, f"peak memory grew by {result['grown'] / MB:.0f} MB"
    assert result["seconds"] < 10
    # nothing left of the refused import: no dataset, no folder
    assert not (tmp_path / "datasets" / "bomb").exists()


def test_predictions_refuse_the_bomb_quickly_in_little_memory(bomb, tmp_path):
    """`workbench predict` and the Predict tab gather their images with predict.sources.gather."""
    warm = small_zip(tmp_path / "warm.zip")
    result, _ = measured("gather", warm, bomb, tmp_path)
    assert [p for p in result["problems"] if p[0].endswith("bomb.zip:set/bomb.png")], result["problems"]
    assert result["grown"] < GROWTH_LIMIT and result["seconds"] < 10


def test_the_app_refuses_an_uploaded_bomb_in_little_memory(bomb, tmp_path):
    """Uploaded to the Datasets tab by a logged-in annotator: the server's peak memory stays put."""
    app = AppProcess(tmp_path, auth=["boss:pw"], args=["--admin", "boss"])
    try:
        api = ApiSession(app.url, "boss", "pw")
        peak = lambda: int(next(line.split()[1] for line in Path(f"/proc/{app.proc.pid}/status").read_text().splitlines()
                                if line.startswith("VmHWM:"))) * 1024  # noqa: E731
        with open(bomb, "rb") as f:
            uploaded = api.http.post("gradio_api/upload", files={"files": ("bomb.zip", f, "application/zip")}).json()
        before, start = peak(), time.perf_counter()
        reply = api.call_named("import_upload", [[{"path": uploaded[0], "orig_name": "bomb.zip",
                                                   "meta": {"_type": "gradio.FileData"}}], "", "", False])
        assert not reply.ok and "set/bomb.png: unpacks to 1.5 GB" in reply.error, reply
        assert time.perf_counter() - start < 20
        assert peak() - before < GROWTH_LIMIT, f"server peak memory grew by {(peak() - before) / MB:.0f} MB"
        assert not (tmp_path / "datasets" / "bomb").exists()
    finally:
        app.stop()


def test_limits_hold_on_the_bytes_actually_unpacked(tmp_path):
    """An archive whose declared sizes pass is still stopped while its bytes are counted: per entry and in total."""
    archive = tmp_path / "z.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        zeros_entry(z, "a.png", 3 * MB)
        zeros_entry(z, "b.png", 3 * MB)
    with ZipImages(archive) as z:
        z.limits = ZipLimits(entry=2 * MB)  # as if the archive had declared less than it holds
        with pytest.raises(ImportFailed, match=r"z.zip:a.png: unpacks to .* more than the 2.0 MB one image may have "
                                               r"\(counted while unpacking\)"):
            z.read("a.png")
    with ZipImages(archive) as z:
        z.limits = ZipLimits(total=5 * MB)
        z.read("a.png")
        with pytest.raises(ImportFailed, match=r"z.zip:b.png: the archive's images unpack to more than 5.0 MB"):
            z.read("b.png")


def test_declared_total_and_ratio_are_checked_before_reading(tmp_path, store):
    archive = tmp_path / "flat.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        zeros_entry(z, "flat.bmp", 20 * MB)  # 20 MB packed into ~20 KB: only a bomb is that flat
    with pytest.raises(ImportFailed, match=r"flat.zip:flat.bmp: unpacks to 20.0 MB from .* more than 100 times"):
        import_path(store, archive)
    with pytest.raises(ImportFailed, match=r"flat.zip: its images unpack to 20.0 MB, more than the 1.0 MB"):
        ZipImages(archive, ZipLimits(entry=64 * MB, total=MB, ratio=10 ** 6))
    assert store.datasets() == [] and not (store.home / "datasets" / "flat").exists()
    # an ordinary archive still imports, each image read when it is imported
    assert import_path(store, small_zip(tmp_path / "fine.zip", 3)).added == 3
