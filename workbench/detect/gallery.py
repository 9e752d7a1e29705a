"""The detection error gallery: box outcomes of an evaluated run, filtered by kind and by a size or tag group, as
thumbnails of the box in its surroundings (cut once, cached under plots_checkpoints/<run>/box_errors/)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw

from workbench.atomic import atomic_path
from workbench.data.imageio import load_image
from workbench.detect import errors as E

COLOURS = {E.FALSE_POSITIVE: "#e6194b", E.MISSED: "#f58231", E.WRONG_CLASS: "#911eb4", E.CORRECT: "#3cb44b"}
ALL_GROUPS = "all boxes"
THUMB = 160  # pixels, the longer side


@dataclass
class ErrorPage:
    """One page of the gallery: tiles (row id, thumbnail path, caption), the counts table, the groups to pick from."""

    tiles: list[tuple[int, str, str]]
    label: str
    table: pd.DataFrame
    groups: list[str]
    page: int
    pages: int


def error_page(matched: pd.DataFrame, thumbs: Path, *, outcome: str = "", by: str = "size", group: str = "",
               tags: pd.DataFrame | None = None, page: int = 0, page_size: int = 48) -> ErrorPage:
    """Page `page` (0-based) of the boxes whose outcome is `outcome` (any error when empty) in `group` (of sizes, or
    of category tags with `tags`: image_id, category), most confident false positives and wrong classes first."""
    table = E.outcome_counts(matched, tags, by=by)
    groups = [g for g in table.group if g != ALL_GROUPS]
    rows = matched.reset_index(drop=True).assign(row=lambda d: d.index)
    rows = rows[rows.outcome == outcome] if outcome else rows[rows.outcome.isin(E.ERRORS)]
    if group and by == "size":
        rows = rows[rows["size"] == group]
    elif group and tags is not None:
        rows = rows[rows.image_id.isin(tags.loc[tags.category == group, "image_id"])]
    rows = rows.sort_values(["score", "row"], ascending=[False, True], na_position="last")
    pages = max(1, math.ceil(len(rows) / page_size))
    page = min(max(0, page), pages - 1)
    shown = rows.iloc[page * page_size:(page + 1) * page_size]
    tiles = [(int(r.row), str(thumbnail(r, thumbs)), caption(r)) for r in shown.itertuples()]
    what = outcome or "errors"
    label = f"{len(rows)} {what}{f' in {group}' if group else ''}: page {page + 1} of {pages}"
    return ErrorPage(tiles, label, table, groups, page, pages)


def caption(r) -> str:
    """What a tile says: the image, the outcome, the classes and the score."""
    if r.outcome == E.MISSED:
        return f"#{r.image_id} missed {r.label}"
    if r.outcome == E.FALSE_POSITIVE:
        return f"#{r.image_id} false positive: {r.predicted} ({r.score:.2f})"
    if r.outcome == E.WRONG_CLASS:
        return f"#{r.image_id} {r.label} taken for {r.predicted} ({r.score:.2f})"
    return f"#{r.image_id} {r.label} ({r.score:.2f})"


def thumbnail(r, folder: Path) -> Path:
    """The box of row `r` (a matches row with its image's path) in its surroundings (twice its size, at least 64 px),
    outlined in its outcome's colour; written once to `folder`."""
    path = Path(folder) / f"{r.row}.png"
    if path.is_file():
        return path
    image = load_image(r.path).convert("RGB")
    side = max(64.0, 2 * max(r.w, r.h))
    cx, cy = r.x + r.w / 2, r.y + r.h / 2
    box = (max(0, int(cx - side / 2)), max(0, int(cy - side / 2)),
           min(image.width, int(cx + side / 2)), min(image.height, int(cy + side / 2)))
    crop = image.crop(box)
    scale = THUMB / max(crop.size)
    crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))), Image.BILINEAR)
    x0, y0 = (r.x - box[0]) * scale, (r.y - box[1]) * scale
    ImageDraw.Draw(crop).rectangle([x0, y0, x0 + r.w * scale, y0 + r.h * scale], outline=COLOURS[r.outcome], width=2)
    with atomic_path(path) as tmp:
        crop.save(tmp, format="PNG")
    return path
