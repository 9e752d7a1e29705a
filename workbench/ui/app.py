"""Build and launch the Workbench Blocks app from its tab modules."""

from __future__ import annotations

import importlib

import gradio as gr

from workbench.access import LABEL_PAGE, Access  # LABEL_PAGE: /label, the annotators' page
from workbench.store import Store
from workbench.ui.context import UIContext
from workbench.ui.files import serving_paths
from workbench.ui.guard import guard, send_annotators_to_label_page

# (tab id, title, module): each module has build(ctx) and may define HEAD (html/js) and CSS strings.
TABS = [
    ("datasets", "Datasets", "workbench.ui.datasets_tab"),
    ("label", "Label", "workbench.ui.label_tab"),
    ("experiments", "Experiments", "workbench.ui.experiments_tab"),
    ("evaluate", "Evaluate", "workbench.ui.evaluate_tab"),
    ("predict", "Predict", "workbench.ui.predict_tab"),
]

BASE_CSS = """
.pixelated img, img.pixelated { image-rendering: pixelated; image-rendering: crisp-edges; }
"""


def _tab_modules():
    out = []
    for tab_id, title, name in TABS:
        try:
            out.append((tab_id, title, importlib.import_module(name)))
        except ModuleNotFoundError as e:
            if e.name != name:  # a real missing dependency, not a tab not written yet
                raise
    return out


def build_app(store: Store | None = None, access: Access | None = None) -> tuple[gr.Blocks, dict]:
    """The Blocks app and the launch() keyword arguments it needs (css, head, served paths).

    With logins in `access`, every event is checked against it (workbench.ui.guard).
    """
    store, access = store or Store(), access or Access()
    modules = _tab_modules()
    with gr.Blocks(title="Workbench") as demo:
        ctx = UIContext(store=store, demo=demo, goto=gr.State(None))
        with gr.Tabs() as tabs:
            ctx.tabs = tabs
            for tab_id, title, module in modules:
                with gr.Tab(title, id=tab_id):
                    module.build(ctx)
        send_annotators_to_label_page(access)
    label = next((m for tab_id, _, m in modules if tab_id == "label"), None)
    if label is not None:
        # A page holding only the Label tab: each keypress costs the browser less when no other tab's
        # components are mounted (measured in bench/label_latency.py).
        with demo.route("Label only", LABEL_PAGE):
            label.build(UIContext(store=store, demo=demo, goto=gr.State(None), services=ctx.services))
    guard(demo, access)
    launch_kwargs = {
        "css": BASE_CSS + "".join(getattr(m, "CSS", "") for _, _, m in modules),
        "head": "".join(getattr(m, "HEAD", "") for _, _, m in modules),
        **serving_paths(store),
    }
    return demo, launch_kwargs


def launch(host: str = "127.0.0.1", port: int | None = None, auth: list[tuple[str, str]] | None = None,
           demo_sets: bool = True, admins: list[str] | None = None, blind: bool = False, **kwargs) -> None:
    """Start the app; by default on 127.0.0.1 with the bundled demo sets imported.

    With `auth`, users are annotators (the /label page, their own labels only) unless named in `admins`;
    `blind`: annotators do not see other annotators' labels.
    """
    access = Access.of(auth, admins, blind)
    store = Store()
    if demo_sets:
        from workbench.data.demo import ensure_demos

        ensure_demos(store)
    demo, launch_kwargs = build_app(store, access)
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, auth=auth, **launch_kwargs, **kwargs)
