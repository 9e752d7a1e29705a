"""What every tab is built with: the core objects it calls and the few components tabs share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.labeling.suggest import SuggesterPool
from workbench.review.run_cache import RunCache
from workbench.store import Store
from workbench.train.jobs import JobManager
from workbench.workspace import Workspace


@dataclass
class UIContext:
    """Shared by all tabs of one app instance (not a module global: two apps in one process stay apart).

    `ws` is the workspace (home folder and store; `store` is `ws.store`, kept while tabs move to `ws`).
    `demo` is the gr.Blocks (for demo.load / demo.unload listeners, e.g. to restore state after a refresh);
    `goto` is a gr.State holding {"dataset": str, "image_id": int} that other tabs set to open an image
    in the Label tab; `tabs` is the gr.Tabs so a tab can switch to another (`gr.Tabs(selected=id)`).
    The app-wide core objects, one each per app and shared by its pages (the main page and /label):
    `jobs`, the background training queue; `runs`, the loaded models of recent runs; `suggesters`, one
    label suggester per (dataset, annotator). Those not given are made here.
    """

    store: Store | None = None
    demo: Any = None
    tabs: Any = None
    goto: Any = None
    ws: Workspace | None = None
    jobs: JobManager | None = None
    runs: RunCache | None = None
    suggesters: SuggesterPool | None = None

    def __post_init__(self) -> None:
        if self.ws is None:
            self.ws = Workspace.around(self.store) if self.store is not None else Workspace.open()
        if self.store is None:
            self.store = self.ws.store
        if self.jobs is None:
            self.jobs = JobManager(self.ws)
        if self.runs is None:
            self.runs = RunCache()
        if self.suggesters is None:
            self.suggesters = SuggesterPool(self.store)
