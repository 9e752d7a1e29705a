"""Every dataset and run picker of a page lists what there is: when the page loads, when the picker is opened, and as
soon as this page adds one (an import sets the page's `datasets` state to the new list of sets; a training job's
end sets `runs` to the new list of runs).

Tabs register their pickers with `UIContext.follow_datasets` / `follow_runs`; the app shell wires them once all tabs
are built. Only the choices change: what a picker has selected stays (a tab's own load handler may preselect one).
"""

from __future__ import annotations

from typing import Callable

import gradio as gr

from workbench.evaluate.comparison import saved_comparisons
from workbench.run import list_runs
from workbench.store import Store
from workbench.ui.handlers import bind
from workbench.workspace import Workspace


def dataset_choices(store: Store, n: int = 1) -> list[gr.Dropdown] | gr.Dropdown:
    """The datasets there are now, as the choices of `n` pickers (one picker: its update alone)."""
    return _choices(store.datasets(), n)


def run_choices(ws: Workspace, n: int = 1) -> list[gr.Dropdown] | gr.Dropdown:
    """The runs there are now, as the choices of `n` pickers (one picker: its update alone)."""
    return _choices(list_runs(ws), n)


def comparison_choices(ws: Workspace, n: int = 1) -> list[gr.Dropdown] | gr.Dropdown:
    """The saved comparisons there are now (newest first), as the choices of `n` pickers."""
    return _choices(saved_comparisons(ws)[::-1], n)


def _choices(names: list[str], n: int) -> list[gr.Dropdown] | gr.Dropdown:
    updates = [gr.Dropdown(choices=names) for _ in range(n)]
    return updates[0] if n == 1 else updates


def wire_pickers(choices: Callable, pickers: list[gr.Dropdown], changed: gr.State | None, on_load: bool) -> None:
    """Inside the page's Blocks (or route): `choices` (a bound dataset_choices or run_choices, taking the number of
    pickers) refreshes every picker when `changed` changes, each when it gains focus, and all on page load."""
    if not pickers:
        return
    every = bind(choices, len(pickers))
    if on_load:
        gr.on(None, every, outputs=pickers, show_progress="hidden", api_visibility="private")
    for picker in pickers:
        picker.focus(bind(choices, 1), outputs=[picker], show_progress="hidden", api_visibility="private")
    if changed is not None:
        changed.change(every, outputs=pickers, show_progress="hidden", api_visibility="private")


def wire_page_pickers(store: Store, ws: Workspace, datasets: tuple[list, gr.State | None],
                      runs: tuple[list, gr.State | None]) -> None:
    """A page's dataset pickers (listed on load too) and run pickers (their tabs preselect the newest run on load)."""
    wire_pickers(bind(dataset_choices, store), *datasets, on_load=True)
    wire_pickers(bind(run_choices, ws), *runs, on_load=False)
