"""Start-up: `python app.py` on an existing home (the demo sets imported) to its first page (HTTP 200 on /), against
`python -c "import gradio"` measured in the same run, alternating, several times each; medians and their ratio.

The goal is at most 1.5x: everything the first page does not need (torch, timm, scikit-learn, cleanlab, OpenCV,
plotly, matplotlib) is imported when a feature first uses it. To see what a start imports, and what each costs:
`python -X importtime app.py --no-demo 2> imports.txt` (see also tests/test_quick_start.py).

    python bench/startup_bench.py [--repeats 5] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path) -> dict:
    return {**os.environ, "WORKBENCH_HOME": str(home), "PYTHONPATH": str(ROOT)}


def prepare(home: Path) -> None:
    """The home as a returning user has it: the demo sets imported (not timed)."""
    subprocess.run([sys.executable, "-c", "from workbench.data.demo import ensure_demos\n"
                    "from workbench.workspace import Workspace\nensure_demos(Workspace.open().store)"],
                   cwd=home, env=_env(home), check=True)


def import_gradio(home: Path) -> float:
    """Seconds for a fresh interpreter to import gradio and exit."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import gradio"], cwd=home, env=_env(home), check=True)
    return time.perf_counter() - t0


def app_first_page(home: Path, timeout: float = 300) -> float:
    """Seconds from starting `python app.py` to the first HTTP 200 on its page."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=home, env=_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while time.perf_counter() - t0 < timeout:
            if proc.poll() is not None:
                raise SystemExit(f"app.py exited with status {proc.returncode}:\n{proc.stderr.read().decode()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise SystemExit(f"no page after {timeout} s")
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="measurements of each, alternating (default 5)")
    parser.add_argument("--home", type=Path, help="an existing Workbench home (default: a new one, demo sets imported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        prepare(home)
        app_first_page(home)  # once unmeasured: files cached, as for a user who started the app before
        gradio, app = [], []
        for i in range(args.repeats):
            gradio.append(import_gradio(home))
            app.append(app_first_page(home))
            print(f"  repeat {i + 1}: import gradio {gradio[-1]:.2f} s, app.py to first page {app[-1]:.2f} s",
                  flush=True)
    g, a = statistics.median(gradio), statistics.median(app)
    print(f"python -c 'import gradio': median {g:.2f} s (min {min(gradio):.2f}, max {max(gradio):.2f})")
    print(f"python app.py -> HTTP 200:  median {a:.2f} s (min {min(app):.2f}, max {max(app):.2f})")
    print(f"ratio app / import gradio: {a / g:.2f}x (goal <= {GOAL}x): {'met' if a / g <= GOAL else 'NOT met'}")


if __name__ == "__main__":
    main()
