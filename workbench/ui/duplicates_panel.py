"""The Datasets tab's duplicates panel: a dataset's groups of exact and near duplicates, one group's images at a time,
shown whole; click the image to keep, then tag the others (or the whole group) with the "duplicate" category tag.

Layout plus named handlers over workbench.data.duplicates; the group's images come from the core each time (its
result is saved beside the dataset, so that is a file read, not a new search).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.store import Store
from workbench.ui.handlers import bind, fail, gr_progress
from workbench.ui.thumb_grid import grid_value, picked_id, thumb_grid

duplicates = lazy_import("workbench.data.duplicates")  # OpenCV, scipy, sklearn: imported when first used

REVIEWER = "reviewer"  # the tags' annotator when nobody is logged in
PRIVATE = {"api_visibility": "private"}
EMPTY = "Press **Find duplicates**."


@dataclass
class DuplicatesPanel:
    """Threshold and search, the groups found, one group's images, and the tagging actions."""

    threshold: gr.Number
    find: gr.Button
    summary: gr.Markdown
    group: gr.Dropdown
    previous: gr.Button
    next: gr.Button
    grid: gr.HTML
    keep: gr.Number
    keep_one: gr.Button
    tag_all: gr.Button
    status: gr.Markdown


def layout() -> DuplicatesPanel:
    """The panel, in a closed accordion (searching a large set takes seconds)."""
    with gr.Accordion("Duplicates: exact and near copies", open=False, elem_id="wb-dup-accordion"):
        gr.Markdown("Exact copies have the same pixels; near copies are the same picture resized, re-compressed, "
                    "brighter or darker, or shifted a few pixels. Splits keep each group on one side.")
        with gr.Row():
            threshold = gr.Number(value=duplicates.THRESHOLD, label="Threshold (distance of a near pair, 0..1)",
                                  minimum=0, maximum=0.99, step=0.001, scale=1, elem_id="wb-dup-threshold")
            find = gr.Button("Find duplicates", variant="primary", scale=1, elem_id="wb-dup-find")
        summary = gr.Markdown(EMPTY, elem_id="wb-dup-summary")
        with gr.Row():
            group = gr.Dropdown(choices=[], label="Group", scale=3, elem_id="wb-dup-group")
            previous = gr.Button("◀ Previous group", scale=1, elem_id="wb-dup-prev")
            next_ = gr.Button("Next group ▶", scale=1, elem_id="wb-dup-next")
        grid = thumb_grid(elem_id="wb-dup-grid", label="The group's images: click the one to keep", height="50vh",
                          empty="No group shown.")
        keep = gr.Number(value=None, visible=False, precision=0)
        with gr.Row():
            keep_one = gr.Button("Keep the framed image, tag the others duplicate", elem_id="wb-dup-keep-one")
            tag_all = gr.Button("Tag all duplicate", elem_id="wb-dup-tag-all")
        status = gr.Markdown(elem_id="wb-dup-status")
    return DuplicatesPanel(threshold, find, summary, group, previous, next_, grid, keep, keep_one, tag_all, status)


# -- handlers --------------------------------------------------------------------------------------------------
def _found(store: Store, dataset: str | None, threshold: float | None, progress=None):
    if not dataset:
        raise WorkbenchError("Pick a dataset first.")
    t = duplicates.THRESHOLD if threshold is None else float(threshold)
    return duplicates.dataset_duplicates(store, dataset, t, progress=progress or _quiet)


def _choices(found) -> list[tuple[str, int]]:
    kinds = dict(zip(found.pairs["a_id"], found.pairs["kind"]))
    sizes = found.groups.groupby("group")["image_id"].agg(list)
    return [(f"group {g}: {len(ids)} images ({'exact' if any(kinds.get(i) == 'exact' for i in ids) else 'near'})", g)
            for g, ids in sizes.items()]


def _grid(store: Store, found, number: int | None, keep: int | None) -> tuple[dict, int | None]:
    """The group's tiles (caption: name, distance, tagged) with the kept one framed; and the kept id."""
    if not number:
        return grid_value([], empty="No group shown."), None
    ids = set(found.groups.loc[found.groups["group"] == int(number), "image_id"])
    keep = int(keep) if keep is not None and int(keep) in ids else None
    images = duplicates.group_images(store, found, int(number), anchor=keep)
    keep = int(images["image_id"].iloc[0]) if keep is None else keep
    tagged = set(store.image_tags(found.dataset).query("tag == @duplicates.DUPLICATE_TAG")["image_id"])
    tiles = []
    for i, name, path, d in images.itertuples(index=False):
        notes = ["tagged duplicate" if i in tagged else ("keep" if i == keep else ""),
                 "" if i == keep or pd.isna(d) else f"distance {d:.4f}"]
        tiles.append((i, path, "\n".join([name, *filter(None, notes)])))
    return grid_value(tiles, [keep], selectable=False), keep


def find_groups(store: Store, p: DuplicatesPanel, dataset: str | None, threshold: float | None,
                progress: gr.Progress = gr.Progress()) -> dict:
    """Search the dataset; its summary, the list of groups and the first group's images."""
    try:
        found = _found(store, dataset, threshold, lambda frac, what: progress(frac, desc=what))
    except WorkbenchError as e:
        fail(e)
    kinds = found.pairs["kind"].value_counts()
    summary = (f"**{found.n_groups}** group(s) of duplicates in **{found.dataset}** ({len(found.groups)} of "
               f"{found.images} images; {int(kinds.get('exact', 0))} exact and {int(kinds.get('near', 0))} near "
               f"pairs at threshold {found.threshold}).")
    choices = _choices(found)
    first = choices[0][1] if choices else None
    grid, keep = _grid(store, found, first, None)
    return {p.summary: summary, p.group: gr.Dropdown(choices=choices, value=first), p.grid: grid, p.keep: keep,
            p.status: ""}


def show_group(store: Store, p: DuplicatesPanel, dataset: str | None, threshold: float | None,
               group: int | None) -> dict:
    """One group's images, its first image framed as the one to keep."""
    try:
        grid, keep = _grid(store, _found(store, dataset, threshold), group, None)
    except WorkbenchError as e:
        fail(e)
    return {p.grid: grid, p.keep: keep, p.status: ""}


def step_group(store: Store, p: DuplicatesPanel, step: int, dataset: str | None, threshold: float | None,
               group: int | None) -> dict:
    """The previous (step -1) or next (+1) group, staying at the first or last."""
    try:
        found = _found(store, dataset, threshold)
    except WorkbenchError as e:
        fail(e)
    numbers = [g for _, g in _choices(found)]
    if not numbers:
        return {p.group: gr.Dropdown(), p.status: "No groups."}
    at = numbers.index(group) if group in numbers else 0
    target = numbers[min(max(at + step, 0), len(numbers) - 1)]
    grid, keep = _grid(store, found, target, None)
    return {p.group: gr.Dropdown(value=target), p.grid: grid, p.keep: keep, p.status: ""}


def pick_keep(store: Store, p: DuplicatesPanel, dataset: str | None, threshold: float | None, group: int | None,
              evt: gr.EventData) -> dict:
    """A clicked image becomes the one to keep."""
    try:
        grid, keep = _grid(store, _found(store, dataset, threshold), group, picked_id(evt))
    except WorkbenchError as e:
        fail(e)
    return {p.grid: grid, p.keep: keep}


def tag_group(store: Store, p: DuplicatesPanel, keep_one: bool, dataset: str | None, threshold: float | None,
              group: int | None, keep: float | None, request: gr.Request = None) -> dict:
    """Tag the group's images duplicate: all but the kept one (keep_one), or all; as the logged-in user."""
    annotator = getattr(request, "username", None) or REVIEWER
    try:
        found = _found(store, dataset, threshold)
        if not group:
            raise WorkbenchError("Find duplicates and pick a group first.")
        kept = int(keep) if keep_one and keep is not None else None
        if keep_one and kept is None:
            raise WorkbenchError("Click the image to keep first.")
        tagged = duplicates.tag_copies(store, found, int(group), annotator, keep=kept)
        grid, keep = _grid(store, found, group, kept)
    except WorkbenchError as e:
        fail(e)
    names = store.images(found.dataset).set_index("image_id")["name"]
    what = f"all but {names[kept]}" if kept is not None else "all its images"
    return {p.grid: grid, p.keep: keep,
            p.status: f"Group {group}: {what} tagged **{duplicates.DUPLICATE_TAG}** ({len(tagged)} image(s), "
                      f"as {annotator})."}


def cleared(p: DuplicatesPanel) -> dict:
    """Another dataset picked: the panel empty again."""
    return {p.summary: EMPTY, p.group: gr.Dropdown(choices=[], value=None),
            p.grid: grid_value([], empty="No group shown."), p.keep: None, p.status: ""}


def wire(store: Store, p: DuplicatesPanel, dataset: gr.Dropdown) -> None:
    """Connect the panel's events; `dataset` is the tab's dataset picker."""
    where = {"dataset": dataset, "threshold": p.threshold}
    shown = [p.grid, p.keep, p.status]
    p.find.click(bind(find_groups, store, p), inputs_kwargs=where,
                 outputs=[p.summary, p.group, p.grid, p.keep, p.status], api_name="find_duplicates")
    p.group.input(bind(show_group, store, p), inputs_kwargs={**where, "group": p.group}, outputs=shown, **PRIVATE)
    for button, step in ((p.previous, -1), (p.next, 1)):
        button.click(bind(step_group, store, p, step), inputs_kwargs={**where, "group": p.group},
                     outputs=[p.group, *shown], **PRIVATE)
    p.grid.pick(bind(pick_keep, store, p), inputs_kwargs={**where, "group": p.group}, outputs=[p.grid, p.keep],
                **PRIVATE)
    tagging = {**where, "group": p.group, "keep": p.keep}
    p.keep_one.click(bind(tag_group, store, p, True), inputs_kwargs=tagging, outputs=shown,
                     api_name="tag_duplicates_keep_one")
    p.tag_all.click(bind(tag_group, store, p, False), inputs_kwargs=tagging, outputs=shown,
                    api_name="tag_duplicates_all")
    dataset.change(bind(cleared, p), outputs=[p.summary, p.group, p.grid, p.keep, p.status], **PRIVATE)


def _quiet(frac: float, what: str) -> None:
    """No progress shown (a group shown again reads the saved search)."""
