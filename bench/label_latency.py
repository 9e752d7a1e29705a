"""Keypress → next image shown, in headless Chromium: Workbench's Label tab vs a minimal Gradio image-swap app.

Three apps run in the same run, on the same images (the digits demo set, 1,797 8×8 images), in blocks that
alternate between them so machine load hits both alike. The minimal app has no store: a key clicks a
button whose handler returns the next file path into a gr.Image. Ours commits each label to SQLite
(synchronous=FULL) and renders image, label, tags and progress before the next key; it is measured in
the full app's Label tab (after the Datasets tab it lands on), on the full app's annotators' page
(/label, only the Label tab mounted), and in an app holding only the Label tab (the tab's own cost).

    python bench/label_latency.py [--labels 100] [--block 10]

Prints p50/p95 for both and the ratio (goal: our p95 ≤ 1.3× the minimal app's). The clock starts in a
keydown listener on window in the capture phase, before any of the page's own handlers.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

# Records keydown → the new <img> loaded and a frame later (painted), in the page itself: no polling error.
PROBE = """
(sel) => {
  window.__lat = []; window.__t0 = null; window.__src = null;
  window.addEventListener('keydown', () => { window.__t0 = performance.now(); }, true);
  const check = () => {
    const img = document.querySelector(sel);
    if (!img || !img.src || img.src === window.__src || window.__t0 === null) return;
    window.__src = img.src;
    const t0 = window.__t0;
    const done = () => requestAnimationFrame(() => { window.__lat.push(performance.now() - t0); window.__t0 = null; });
    if (img.complete && img.naturalWidth) done(); else img.addEventListener('load', done, {once: true});
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                       attributeFilter: ['src']});
  window.__src = document.querySelector(sel)?.src || null;
}
"""

MINIMAL_HEAD = """<script>
document.addEventListener('keydown', (e) => {
  if (e.key === '1' || e.key === '2') document.getElementById('next').click();
});
</script>"""


def serve_minimal(port: int, home: Path) -> None:
    """The baseline: one gr.Image, a key clicks a button, the handler returns the next image path."""
    import gradio as gr

    from workbench.store import Store

    paths = list(Store().images("digits")["path"])
    with gr.Blocks() as demo:
        i = gr.State(0)
        img = gr.Image(paths[0], type="filepath", elem_id="img", height=400, interactive=False)
        btn = gr.Button("next", elem_id="next")
        btn.click(lambda k: (paths[(k + 1) % len(paths)], k + 1), inputs=[i], outputs=[img, i],
                  trigger_mode="once", show_progress="hidden")
    demo.launch(server_port=port, head=MINIMAL_HEAD, allowed_paths=[str(home)], quiet=True)


def serve_label_only(port: int) -> None:
    """Our Label tab alone in its app (no other tabs): separates the tab's own cost from the whole app's."""
    import workbench.ui.app as app
    from workbench.store import Store

    app.TABS = [tab for tab in app.TABS if tab[0] == "label"]
    demo, kwargs = app.build_app(Store())
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_port=port, quiet=True, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "WORKBENCH_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, *args], cwd=home, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    end = time.time() + 180
    while time.time() < end:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{args} exited with {proc.returncode}")
            time.sleep(0.3)
    raise TimeoutError(args)


def open_label(browser, port: int, annotator: str, tab: bool, path: str = ""):
    """A page of our app with a labelling session on the digits set, probe installed."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"http://127.0.0.1:{port}/{path}")
    if tab:
        page.get_by_role("tab", name="Label").click()
    page.locator("#wb-dataset input").click()
    page.get_by_role("option", name="digits").click()
    page.locator("#wb-annotator input, #wb-annotator textarea").first.fill(annotator)
    page.locator("#wb-start").click()
    page.wait_for_selector("#wb-label-view img")
    page.evaluate(PROBE, "#wb-label-view img")
    return page


def measure(page, n: int, keys=("1", "2")) -> None:
    """Press n keys, each after the previous image is shown."""
    for k in range(n):
        want = page.evaluate("window.__lat.length") + 1
        page.keyboard.press(keys[k % len(keys)])
        page.wait_for_function(f"window.__lat.length >= {want}", timeout=30_000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--block", type=int, default=10, help="keys per block before switching app")
    ap.add_argument("--serve-minimal", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--serve-label-only", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_minimal:
        return serve_minimal(args.serve_minimal, Path(os.environ["WORKBENCH_HOME"]))
    if args.serve_label_only:
        return serve_label_only(args.serve_label_only)

    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="wb-label-bench-"))
    os.environ["WORKBENCH_HOME"] = str(home)
    from workbench.data.demo import ensure_digits
    from workbench.store import Store

    ensure_digits(Store())
    ours_port, tab_port, min_port = free_port(), free_port(), free_port()
    me = str(Path(__file__).resolve())
    procs = [start([str(ROOT / "app.py"), "--port", str(ours_port), "--no-demo"], home, ours_port),
             start([me, "--serve-label-only", str(tab_port)], home, tab_port),
             start([me, "--serve-minimal", str(min_port)], home, min_port)]
    from workbench.ui.app import LABEL_PAGE
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            pages = {"workbench": open_label(browser, ours_port, "bench", tab=True),
                     "label page": open_label(browser, ours_port, "bench-page", tab=False, path=LABEL_PAGE),
                     "label tab": open_label(browser, tab_port, "bench-tab", tab=False)}
            minimal = browser.new_page(viewport={"width": 1280, "height": 1000})
            minimal.goto(f"http://127.0.0.1:{min_port}/")
            minimal.wait_for_selector("#img img")
            minimal.evaluate(PROBE, "#img img")
            pages["minimal"] = minimal
            for page in pages.values():  # warm-up, not counted
                page.bring_to_front()
                measure(page, 5)
                page.evaluate("window.__lat = []")
            done = 0
            while done < args.labels:
                k = min(args.block, args.labels - done)
                for page in pages.values():
                    page.bring_to_front()
                    measure(page, k)
                done += k
            lat = {name: np.array(page.evaluate("window.__lat")) for name, page in pages.items()}
            browser.close()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
    labelled = len(Store().latest_labels("digits", "bench"))
    print(f"keypress → next image shown, {args.labels} keys each, headless Chromium ({labelled} labels stored "
          "by the full app)")
    for name, x in lat.items():
        print(f"  {name:10s} p50 {np.percentile(x, 50):6.1f} ms   p95 {np.percentile(x, 95):6.1f} ms   n={len(x)}")
    m = lat["minimal"]
    for name in ("workbench", "label page", "label tab"):
        w = lat[name]
        print(f"  ratio {name} / minimal:  p50 {np.percentile(w, 50) / np.percentile(m, 50):.2f}x   "
              f"p95 {np.percentile(w, 95) / np.percentile(m, 95):.2f}x   (goal: p95 ≤ 1.3x)")


if __name__ == "__main__":
    main()
