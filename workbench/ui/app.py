"""Build and launch the Workbench Blocks app from its tab modules."""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType
from typing import NamedTuple

import gradio as gr

from workbench.access import LABEL_PAGE, Access  # LABEL_PAGE: /label, the annotators' page
from workbench.data.demo import ensure_demos
from workbench.labeling.suggest import SuggesterPool
from workbench.limits import MAX_UPLOAD, parse_size
from workbench.store import Store
# Every tab, imported normally: a renamed or broken tab module is an ImportError here, at start,
# rather than a tab that quietly disappears.
from workbench.ui import datasets_tab, evaluate_tab, experiments_tab, label_tab, predict_tab
from workbench.ui.context import UIContext
from workbench.ui.files import serving_options
from workbench.ui.pickers import wire_page_pickers
from workbench.ui.guard import guard, send_annotators_to_label_page
from workbench.workspace import Workspace


class Tab(NamedTuple):
    """One tab of the main page: its module has build(ctx) and may define HEAD (html/js) and CSS strings."""

    id: str
    title: str
    module: ModuleType


TABS = [
    Tab("datasets", "Datasets", datasets_tab),
    Tab("label", "Label", label_tab),
    Tab("experiments", "Experiments", experiments_tab),
    Tab("evaluate", "Evaluate", evaluate_tab),
    Tab("predict", "Predict", predict_tab),
]

BASE_CSS = """
.pixelated img, img.pixelated { image-rendering: pixelated; image-rendering: crisp-edges; }
/* a dropdown's text ends before its caret (with an ellipsis when longer), never under it */
.wrap-inner:has(.icon-wrap) input[role="combobox"] { padding-right: 28px; text-overflow: ellipsis; }
"""


def build_app(store: Store | None = None, access: Access | None = None,
              ws: Workspace | None = None, suggestion_floor: float | None = None) -> tuple[gr.Blocks, dict]:
    """The Blocks app and the launch() keyword arguments it needs (css, head, served paths).

    The workspace `ws` (else the one around `store`, else Workspace.open()) is the app's home and store.
    With logins in `access`, every event is checked against it (workbench.ui.guard). `suggestion_floor`: label
    suggestions less sure than this are not offered (default labeling.suggest.SUGGESTION_FLOOR).
    """
    ws = ws or (Workspace.around(store) if store is not None else Workspace.open())
    access = access or Access()
    tabs = list(TABS)  # read once: bench/label_latency.py narrows TABS to the Label tab
    floor = {} if suggestion_floor is None else {"floor": suggestion_floor}
    suggesters = SuggesterPool(ws.store, **floor)
    with gr.Blocks(title="Workbench") as demo:
        ctx = UIContext(ws=ws, demo=demo, goto=gr.State(None), datasets=gr.State([]), runs_listed=gr.State([]),
                        suggesters=suggesters)
        with gr.Tabs() as ctx.tabs:
            for tab in tabs:
                with gr.Tab(tab.title, id=tab.id) as ctx.tab:
                    tab.module.build(ctx)
        wire_page_pickers(ctx.store, ctx.ws, (ctx.pickers, ctx.datasets), (ctx.run_pickers, ctx.runs_listed))
        send_annotators_to_label_page(access)
    if any(tab.module is label_tab for tab in tabs):
        # A page holding only the Label tab: each keypress costs the browser less when no other tab's
        # components are mounted (measured in bench/label_latency.py). Same jobs, runs and suggesters.
        with demo.route("Label only", LABEL_PAGE):
            page = replace(ctx, tabs=None, goto=gr.State(None), datasets=None, runs_listed=None, pickers=[],
                           run_pickers=[])
            label_tab.build(page)
            wire_page_pickers(page.store, page.ws, (page.pickers, None), (page.run_pickers, None))
    guard(demo, access)
    launch_kwargs = {
        "css": BASE_CSS + "".join(getattr(tab.module, "CSS", "") for tab in tabs),
        "head": "".join(getattr(tab.module, "HEAD", "") for tab in tabs),
        **serving_options(ws),
        **gradio_routes(),
    }
    return demo, launch_kwargs


def gradio_routes(max_upload: int = parse_size(MAX_UPLOAD), monitoring: bool = False) -> dict:
    """launch() arguments for Gradio's own routes: uploads to /gradio_api/upload limited to `max_upload` bytes
    per file; /monitoring off unless asked for; no run history (a record of every call kept in the browser)."""
    return {"max_file_size": max_upload, "enable_monitoring": monitoring, "run_history": False}


def launch(host: str = "127.0.0.1", port: int | None = None, auth: list[tuple[str, str]] | None = None,
           demo_sets: bool = True, admins: list[str] | None = None, blind: bool = False,
           ws: Workspace | None = None, max_upload: int = parse_size(MAX_UPLOAD), monitoring: bool = False,
           suggestion_floor: float | None = None, **kwargs) -> None:
    """Start the app; by default on 127.0.0.1 with the bundled demo sets imported.

    With `auth`, users are annotators (the /label page, their own labels only) unless named in `admins`;
    `blind`: annotators do not see other annotators' labels. `ws`: the workspace (else Workspace.open()).
    `max_upload`: the largest file a user may upload, in bytes; `monitoring`: Gradio's /monitoring on.
    `suggestion_floor`: label suggestions less sure than this are not offered.
    """
    access = Access.of(auth, admins, blind)
    ws = ws or Workspace.open()
    if demo_sets:
        ensure_demos(ws.store)
    demo, launch_kwargs = build_app(access=access, ws=ws, suggestion_floor=suggestion_floor)
    launch_kwargs.update(gradio_routes(max_upload, monitoring))
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, auth=auth, **launch_kwargs, **kwargs)
