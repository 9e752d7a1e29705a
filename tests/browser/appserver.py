"""Serve the app for browser, API, durability and concurrency tests: `python app.py` in a subprocess on a free
port, or (`served`) in this process on a store a test has prepared."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(store) -> Iterator[str]:
    """The app built on `store`, served in this process on a free port; yields its URL."""
    from workbench.ui.app import build_app

    demo, kw = build_app(store)
    demo.queue(default_concurrency_limit=4)
    with served_blocks(demo, **kw) as url:
        yield url


@contextmanager
def served_blocks(demo, **launch_kwargs) -> Iterator[str]:
    """Any gradio Blocks (a panel, a plot) served in this process on a free port; yields its URL."""
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_kwargs)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


class AppProcess:
    """The real app (`python app.py --no-demo`) serving WORKBENCH_HOME=home."""

    def __init__(self, home: Path, port: int | None = None, auth: list[str] = (), args: list[str] = ()):
        """`auth`: USER:PASSWORD logins; `args`: more command-line options (e.g. --admin boss)."""
        self.home, self.port = Path(home), port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = {**os.environ, "WORKBENCH_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False"}
        cmd = [sys.executable, str(ROOT / "app.py"), "--port", str(self.port), "--no-demo"]
        for a in auth:
            cmd += ["--auth", a]
        cmd += list(args)
        self.log = open(Path(home) / f"app-{self.port}.log", "w")
        self.proc = subprocess.Popen(cmd, cwd=home, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, timeout: float = 90) -> None:
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited: {(self.home / f'app-{self.port}.log').read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url + "config", timeout=2)
                return
            except urllib.error.HTTPError:  # it answers (401 when auth is on): it is up
                return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"app did not start on {self.url}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, exactly what a crash or power cut leaves."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


SHOWN_NAME = "#wb-filename"  # the Label tab's file name of the image on screen


def shown_name(page) -> str:
    """The file name of the image the Label tab shows."""
    return page.locator(SHOWN_NAME).inner_text()


def press_and_wait_move(page, key: str) -> str:
    """Press a key and wait until another image is on screen; returns the name of the one it acted on."""
    before = shown_name(page)
    page.keyboard.press(key)
    page.wait_for_function(f"document.querySelector('{SHOWN_NAME}')?.textContent !== {before!r}", timeout=10_000)
    return before


# Per thumbnail of a ui.thumb_grid: its image id, whether the whole picture is on screen (the image kept its aspect
# and lies inside its box, so nothing is cropped), whether the caption overlaps the picture, whether the caption's
# text is all shown, whether it is drawn with sharp pixels, and whether it is framed as selected.
THUMBS_JS = """(sel) => [...document.querySelectorAll(sel + ' .wb-tile')].map((t) => {
  const img = t.querySelector('img'), box = img.parentElement, cap = t.querySelector('figcaption');
  const r = img.getBoundingClientRect(), b = box.getBoundingClientRect(), c = cap.getBoundingClientRect();
  const nw = img.naturalWidth, nh = img.naturalHeight, fit = getComputedStyle(img).objectFit;
  let sx = r.width / nw, sy = r.height / nh;                    // fill: stretched
  if (fit === 'contain') sx = sy = Math.min(sx, sy);
  if (fit === 'cover') sx = sy = Math.max(sx, sy);
  if (fit === 'none') sx = sy = 1;
  if (fit === 'scale-down') sx = sy = Math.min(1, sx, sy);
  const w = nw * sx, h = nh * sy, left = r.left + (r.width - w) / 2, top = r.top + (r.height - h) / 2;
  const inside = r.left >= b.left - 0.5 && r.right <= b.right + 0.5 && r.top >= b.top - 0.5
    && r.bottom <= b.bottom + 0.5;
  return {id: Number(t.dataset.id), loaded: img.complete && nw > 0,
          whole: inside && w <= r.width + 0.5 && h <= r.height + 0.5 && Math.abs(sx - sy) < 1e-6,
          covered: c.top < top + h - 0.5 && c.bottom > top + 0.5 && c.left < left + w - 0.5 && c.right > left + 0.5,
          caption: cap.innerText,
          captionWhole: cap.scrollWidth <= cap.clientWidth + 1 && cap.scrollHeight <= cap.clientHeight + 1,
          shown: w, natural: nw, sharp: getComputedStyle(img).imageRendering === 'pixelated',
          selected: t.classList.contains('wb-selected'), frame: getComputedStyle(t).borderTopColor};
})"""


def thumbnails(page, selector: str, first: int = 1) -> list[dict]:
    """What each thumbnail of the ui.thumb_grid at `selector` shows (see THUMBS_JS), once its first `first` images
    have loaded (images further down load as they are scrolled to)."""
    page.wait_for_function(f"() => [...document.querySelectorAll('{selector} .wb-tile img')].slice(0, {first})"
                           f".filter(i => i.complete && i.naturalWidth > 0).length === {first}", timeout=20_000)
    return page.evaluate(THUMBS_JS, selector)
