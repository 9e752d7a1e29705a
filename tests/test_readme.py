"""README examples are tests: every command in the README's ```bash blocks runs here exactly as written.

The README is parsed at test time, one test per command, in README order, all in one fresh WORKBENCH_HOME (also the
working directory) holding the demo sets (faces, digits: what `python app.py` imports at start), links to the
repository's app.py and bench/, and small fixtures made from real images: photos/ (unlabeled faces), tree/<class>/,
labels.csv (filename,label for photos/), X.npy and y.npy (five classes of digits), people/ (two photos), clip.mp4
(1.2 s of those photos at 10 frames/s).

Rules, for commands `&&` joins as for single ones:
- `pip install ...` is not re-run (it would reinstall into the environment running the tests): the test checks that
  it would change nothing, i.e. this repository is installed editable and every requirement, extras included, is met.
- `pytest` is run as `pytest --collect-only` in the repository (running the suite from inside the suite would recurse):
  the whole suite, this file included, must collect.
- `python app.py` and `workbench app` are started (on a free port through GRADIO_SERVER_PORT), must answer HTTP 200
  at their root URL, and are stopped.
- A command that uses a dataset runs after the README's `workbench import` / `workbench demo` commands above it (run
  first if this test runs alone); one naming the run `last` gets a tiny run trained here if there is none yet.
Commands needing a network, a GPU or several machines belong in the README's prose, not in a ```bash block.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser.appserver import ROOT, free_port
from clips import write_video

README = ROOT / "README.md"
SERVERS = ("python app.py", "workbench app")
DATA_COMMANDS = ("workbench import", "workbench demo")
TIMEOUT = 300  # seconds for one command; the commands are meant to take seconds


def readme_commands(text: str) -> list[str]:
    """Commands of the ```bash (sh, shell) blocks, `\\`-continued lines joined, comment-only lines dropped."""
    out = []
    for block in re.findall(r"^```(?:bash|sh|shell)[^\n]*\n(.*?)^```", text, flags=re.M | re.S):
        for line in re.sub(r"\\\n", " ", block).splitlines():
            if line.strip() and not line.strip().startswith("#"):
                out.append(line.strip())
    return out


def shown(command: str) -> str:
    """The command without its trailing comment: the test id."""
    return shlex.join(shlex.split(command, comments=True))


COMMANDS = readme_commands(README.read_text())


@pytest.fixture(scope="module")
def readme_home(tmp_path_factory):
    """One fresh WORKBENCH_HOME for all README commands, with the demo sets and the fixtures the examples name."""
    from workbench.data.demo import ensure_demos
    from workbench.store import Store

    home = tmp_path_factory.mktemp("readme_home")
    old = os.environ.get("WORKBENCH_HOME")
    os.environ["WORKBENCH_HOME"] = str(home)
    try:
        store = Store()
        ensure_demos(store)
        store.close()
    finally:
        os.environ.pop("WORKBENCH_HOME") if old is None else os.environ.__setitem__("WORKBENCH_HOME", old)
    make_fixtures(home)
    for name in ("app.py", "bench"):
        (home / name).symlink_to(ROOT / name)
    return {"home": home, "done": set()}


def make_fixtures(home: Path) -> None:
    """photos/, tree/<class>/, labels.csv, X.npy, y.npy from scikit-image faces and scikit-learn digits; people/
    (skimage's astronaut and coffee photos) for the --crop examples, with people/boxes.json: their boxes as COCO
    JSON (the astronaut's face and eyes, the coffee cup; drawn by hand on the photos); clip.mp4, a short clip of
    those photos for the video example."""
    from skimage.data import astronaut, coffee, lfw_subset
    from sklearn.datasets import load_digits

    faces = (lfw_subset() * 255).round().astype(np.uint8)  # 100 faces then 100 non-faces
    (home / "photos").mkdir()
    rows = ["filename,label"]
    for i in list(range(6)) + list(range(100, 106)):
        Image.fromarray(faces[i]).save(home / "photos" / f"img{i:03d}.png")
        rows.append(f"img{i:03d}.png,{'face' if i < 100 else 'not face'}")
    (home / "labels.csv").write_text("\n".join(rows) + "\n")
    for cls, start in (("face", 10), ("not_face", 110)):
        (home / "tree" / cls).mkdir(parents=True)
        for i in range(start, start + 20):
            Image.fromarray(faces[i]).save(home / "tree" / cls / f"{i:03d}.png")
    d = load_digits()
    keep = np.concatenate([np.flatnonzero(d.target == k)[:12] for k in range(5)])
    np.save(home / "X.npy", (d.images[keep] * 255 / 16).round().astype(np.uint8))
    np.save(home / "y.npy", d.target[keep])
    (home / "people").mkdir()
    Image.fromarray(astronaut()).save(home / "people" / "astronaut.png")
    Image.fromarray(coffee()).save(home / "people" / "coffee.png")
    write_video(home / "clip.mp4", [("astronaut", 6), ("coffee", 2), ("astronaut", 4)])
    boxes = [(1, 1, [170, 60, 110, 115]), (1, 2, [190, 88, 25, 22]), (1, 2, [236, 92, 24, 20]),
             (2, 3, [95, 15, 400, 310])]
    (home / "people" / "boxes.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "astronaut.png", "width": 512, "height": 512},
                   {"id": 2, "file_name": "coffee.png", "width": 600, "height": 400}],
        "annotations": [{"id": k, "image_id": i, "category_id": c, "bbox": b} for k, (i, c, b) in enumerate(boxes, 1)],
        "categories": [{"id": 1, "name": "face"}, {"id": 2, "name": "eye"}, {"id": 3, "name": "cup"}]}))


def env_for(home: Path) -> dict:
    return {**os.environ, "WORKBENCH_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}


def run_shell(command: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=home, env=env_for(home), capture_output=True, text=True,
                          timeout=TIMEOUT)


def check_pip_install(command: str) -> None:
    """`pip install -e ".[dev]"` would change nothing: this checkout installed editable, all requirements met."""
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # the installed dist-info, not the egg-info setuptools leaves in the checkout
    urls = [json.loads(d.read_text("direct_url.json")) for d in md.distributions(name=project["name"])
            if d.read_text("direct_url.json")]
    url = urls[0] if urls else {}
    assert url.get("dir_info", {}).get("editable") and Path(url["url"].removeprefix("file://")) == ROOT, \
        f"{project['name']} is not installed editable from {ROOT}: {url}"
    extras = set(re.findall(r"\[([^\]]+)\]", command)[0].split(",")) if "[" in command else set()
    wanted = list(project.get("dependencies", []))
    for extra in extras:
        wanted += project.get("optional-dependencies", {})[extra]
    for spec in map(Requirement, wanted):
        if spec.marker and not spec.marker.evaluate():
            continue
        version = md.version(spec.name)  # raises PackageNotFoundError when missing
        assert spec.specifier.contains(version, prereleases=True), f"{spec.name} {version} does not meet {spec}"


def check_pytest(command: str) -> None:
    args = shlex.split(command, comments=True)[1:]
    r = subprocess.run([sys.executable, "-m", "pytest", *args, "--collect-only", "-q", "-p", "no:cacheprovider"],
                       cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "tests/test_readme.py::" in r.stdout


def check_server(command: str, home: Path) -> None:
    """Start the app as written, fetch its page over HTTP, stop it."""
    port = free_port()
    proc = subprocess.Popen(["bash", "-c", command], cwd=home, env={**env_for(home), "GRADIO_SERVER_PORT": str(port)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out = []
    try:
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            out.append(line)
            m = re.search(r"Running on local URL:\s*(http://\S+)", line)
            if m:
                url = m.group(1)
                assert url.startswith("http://127.0.0.1:"), f"binds {url}, not localhost"
                with urllib.request.urlopen(url, timeout=30) as page:
                    assert page.status == 200 and b"gradio" in page.read().lower()
                return
        pytest.fail(f"{command!r} did not start serving:\n" + "".join(out[-40:]))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def prerequisites(index: int, state: dict) -> None:
    """Data commands above this one (imports, demo sets), each once per module; a run for `last` if none exists."""
    home = state["home"]
    for cmd in COMMANDS[:index]:
        if cmd.startswith(DATA_COMMANDS) and cmd not in state["done"]:
            r = run_shell(cmd, home)
            assert r.returncode == 0, f"prerequisite {cmd!r} failed:\n{r.stdout}\n{r.stderr}"
            state["done"].add(cmd)
    if re.search(r"\s(last|latest)\b", shown(COMMANDS[index])) and not any((home / "checkpoints").glob("*/config.json")):
        r = run_shell("workbench import tree/ --name readme-tiny && workbench train readme-tiny --method finetune "
                      "--backbone resnet18 --weights none --input-size 16 --epochs 1", home)
        assert r.returncode == 0, r.stderr[-3000:]


def run_part(part: str, home: Path) -> None:
    words = shlex.split(part, comments=True)
    if words[:2] == ["pip", "install"]:
        check_pip_install(part)
    elif words[0] == "pytest":
        check_pytest(part)
    elif shown(part).startswith(SERVERS):
        check_server(part, home)
    else:
        r = run_shell(part, home)
        assert r.returncode == 0, f"{part!r} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


def test_readme_commands_are_concrete():
    """Placeholders such as RUN or IMAGE_ID cannot be typed as written (NAME=value assignments are fine)."""
    assert len(COMMANDS) >= 10 and any(c.startswith("workbench demo mnist") for c in COMMANDS)
    placeholders = {c: re.findall(r"\b[A-Z][A-Z_]{2,}\b(?!=)", shown(c)) for c in COMMANDS}
    assert not {c: p for c, p in placeholders.items() if p}


@pytest.mark.parametrize("index", range(len(COMMANDS)), ids=[shown(c)[:70] for c in COMMANDS])
def test_readme_command(index, readme_home):
    command = COMMANDS[index]
    prerequisites(index, readme_home)
    for part in re.split(r"\s+&&\s+", command):  # as written: bash drops the trailing comment itself
        run_part(part, readme_home["home"])
    readme_home["done"].add(command)


def test_benchmarks_named_in_the_readme_exist():
    """Benchmarks take minutes, so the README lists them in prose: the scripts named there must exist."""
    named = set(re.findall(r"(?<![\w/])bench/(\w+\.py)", README.read_text()))
    assert named and named <= {p.name for p in (ROOT / "bench").glob("*.py")}, named
