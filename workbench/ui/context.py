"""What every tab is built with: the core objects it calls and the few components tabs share."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    `tab` is the gr.Tab whose build(ctx) runs. `datasets` is a gr.State of the dataset names that an import in this page sets, `runs` one of the run names
    that the end of a training job sets; `pickers` / `run_pickers` the page's dataset and run dropdowns
    (registered with `follow_datasets` / `follow_runs`): the shell keeps them listing what there is (ui.pickers).
    """

    store: Store | None = None
    demo: Any = None
    tabs: Any = None
    goto: Any = None
    ws: Workspace | None = None
    jobs: JobManager | None = None
    runs: RunCache | None = None
    suggesters: SuggesterPool | None = None
    tab: Any = None  # the gr.Tab being built (its .select: the tab opened)
    datasets: Any = None
    runs_listed: Any = None
    pickers: list = field(default_factory=list)
    run_pickers: list = field(default_factory=list)

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

    def follow_datasets(self, *pickers: Any) -> None:
        """These dataset dropdowns list every dataset: on page load, when opened, after an import in this page."""
        self.pickers.extend(pickers)

    def follow_runs(self, *pickers: Any) -> None:
        """These run dropdowns list every run: when opened, and when a training job of this page ends."""
        self.run_pickers.extend(pickers)
