"""A grid of thumbnails shown whole, each with its caption below it; a click picks one by its image id.

Gradio's Gallery fills square cells (a non-square image loses its edges), lays captions over the image and cuts them
to one line, and selects one item at a time. Here each tile holds the whole image, letterboxed (small images upscaled
with their pixels kept sharp), above a caption that wraps instead of being cut; tiles the server lists as selected
are framed and tinted. A click, or anything that clicks a tile (keys), triggers the component's `pick` event with
that tile's image id (`picked_id`); the server holds what is selected and sends the grid again. With `keys`, the
grid is also driven from the keyboard: arrow keys move a visible cursor over the tiles (Home and End to the ends)
and Space picks the tile under it, as a click would (the Label tab's verify pages: mouse optional); a digit key
picks it with that key (`picked_key`: a class key correcting a verify page's thumbnail).

The images travel as gradio FileData, so they are served the way every gradio image is (allowed folders in place,
others copied to gradio's cache), never inlined.
"""

from __future__ import annotations

import html
from typing import Iterable

import gradio as gr
from gradio.data_classes import FileData

TILE_PX = 120  # a tile's image box: 28-px digits show at 4x, photos are shrunk to fit

TEMPLATE = """__LABEL__
<div class="wb-tg" data-selectable="{{#if value.selectable}}1{{/if}}" role="listbox"
     aria-multiselectable="{{#if value.selectable}}true{{else}}false{{/if}}">
{{#each value.items}}
  <figure class="wb-tile{{#if this.selected}} wb-selected{{/if}}{{#if this.corrected}} wb-corrected{{/if}}"
          data-id="{{this.id}}" role="option"
          aria-selected="{{#if this.selected}}true{{else}}false{{/if}}" title="{{this.caption}}">
    <div class="wb-tile-img"><img src="{{this.image.url}}" alt="{{this.caption}}" loading="lazy"></div>
    <figcaption>{{this.caption}}</figcaption>
  </figure>
{{/each}}
</div>
{{#unless value.items.length}}<p class="wb-tg-empty">{{value.empty}}</p>{{/unless}}
"""

CSS = """
.wb-tg { max-height: __HEIGHT__; overflow-y: auto; padding: 2px; display: grid; gap: 8px;
         grid-template-columns: repeat(auto-fill, minmax(__TILE__px, 1fr)); }
.wb-tile { margin: 0; padding: 4px; border: 3px solid transparent; border-radius: 6px; cursor: pointer;
           background: var(--background-fill-secondary); min-width: 0; }
.wb-tile:hover { border-color: var(--border-color-accent, #93c5fd); }
.wb-tile.wb-selected { border-color: #ea580c; background: #fed7aa; }
.wb-tile.wb-cursor { outline: 3px solid #2563eb; outline-offset: 2px; }
.wb-tile.wb-selected figcaption { color: #7c2d12; font-weight: 600; }
.wb-tile.wb-selected.wb-corrected { border-color: #16a34a; background: #dcfce7; }
.wb-tile.wb-selected.wb-corrected figcaption { color: #14532d; }
.wb-tile-img { aspect-ratio: 1 / 1; display: flex; align-items: center; justify-content: center;
               background: #111; border-radius: 3px; overflow: hidden; }
.wb-tile-img img { width: 100%; height: 100%; object-fit: contain; display: block; }
.wb-tile-img img.wb-pixelated { image-rendering: pixelated; }
.wb-tile figcaption { font-size: 12px; line-height: 1.3; margin-top: 4px; white-space: pre-line;
                      overflow-wrap: anywhere; color: var(--body-text-color); }
.wb-tg-empty { color: var(--body-text-color-subdued); }
.wb-tg-label { font-size: var(--block-label-text-size, 12px); color: var(--block-label-text-color); margin: 0 0 6px; }
"""

# A click on a tile picks it (a selectable grid marks it at once; the server's answer then redraws the grid).
# An image smaller than a tile (shown enlarged) keeps its pixels sharp.
JS = """
element.addEventListener('click', (e) => {
  const tile = e.target.closest('.wb-tile[data-id]');
  if (!tile || !element.contains(tile)) return;
  if (tile.closest('.wb-tg')?.dataset.selectable) tile.classList.toggle('wb-selected');
  trigger('pick', {id: Number(tile.dataset.id)});
});
// (each image as it loads, and every loaded one again after a redraw, which may reset its classes)
const sharpen = (im) => im.classList.toggle('wb-pixelated', Math.max(im.naturalWidth, im.naturalHeight) < __TILE__);
element.addEventListener('load', (e) => { if (e.target.tagName === 'IMG') sharpen(e.target); }, true);
const sharpenAll = () => element.querySelectorAll('.wb-tile img').forEach((im) => { if (im.complete) sharpen(im); });
sharpenAll();
watch('value', sharpenAll);
"""

# The keyboard cursor (thumb_grid(keys=True)): arrows move it, Space clicks the tile under it. It stays on its
# place when the server redraws the same page (after a pick) and goes back to the first tile on a new page. Keys
# typed into fields, with a modifier, or while the grid is hidden (another mode, another tab) are left alone; a
# key used here goes to no other listener (Space would scroll the page, or press a focused button).
KEYS_JS = """
let cursor = 0, page = '';
const tiles = () => [...element.querySelectorAll('.wb-tile[data-id]')];
const columns = () => {
  const g = element.querySelector('.wb-tg');
  return g ? Math.max(1, getComputedStyle(g).gridTemplateColumns.split(' ').filter(Boolean).length) : 1;
};
const mark = (scroll) => {
  const ts = tiles(), ids = ts.map((t) => t.dataset.id).join(',');
  if (ids !== page) { page = ids; cursor = 0; }
  cursor = Math.max(0, Math.min(cursor, ts.length - 1));
  ts.forEach((t, k) => t.classList.toggle('wb-cursor', k === cursor));
  if (scroll && ts[cursor]) ts[cursor].scrollIntoView({block: 'nearest'});
};
mark(false);
watch('value', () => mark(false));
element.addEventListener('click', (e) => {
  const k = tiles().indexOf(e.target.closest('.wb-tile[data-id]'));
  if (k >= 0) { cursor = k; mark(false); }
});
window.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || element.offsetParent === null) return;
  const t = e.target, tag = t && t.tagName;
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (t && t.isContentEditable)) return;
  const n = tiles().length;
  if (!n) return;
  const step = {ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns(), ArrowDown: columns()}[e.key];
  if (step !== undefined) cursor = Math.max(0, Math.min(n - 1, cursor + step));
  else if (e.key === 'Home') cursor = 0;
  else if (e.key === 'End') cursor = n - 1;
  else if (e.key === ' ') { if (!e.repeat) tiles()[cursor]?.click(); }
  else if (/^[0-9]$/.test(e.key)) {
    if (!e.repeat) trigger('pick', {id: Number(tiles()[cursor].dataset.id), key: e.key});
  }
  else return;
  e.preventDefault(); e.stopPropagation();
  mark(true);
}, true);
"""


def thumb_grid(*, elem_id: str, label: str | None = None, tile: int = TILE_PX, height: str = "70vh",
               empty: str = "", keys: bool = False) -> gr.HTML:
    """The grid component under its `label` (empty until a handler sends `grid_value`), scrolling past `height`
    (a CSS length); `.pick(...)` is its click event; `keys`: a keyboard cursor (arrows, Space picks)."""
    heading = f'<div class="wb-tg-label">{html.escape(label)}</div>' if label else ""
    return gr.HTML(grid_value([], empty=empty), html_template=TEMPLATE.replace("__LABEL__", heading),
                   css_template=CSS.replace("__TILE__", str(tile)).replace("__HEIGHT__", height),
                   js_on_load=JS.replace("__TILE__", str(tile)) + (KEYS_JS if keys else ""), elem_id=elem_id,
                   elem_classes=["wb-thumb-grid"])


def grid_value(items: Iterable[tuple[int, str, str]], selected: Iterable[int] = (), *, selectable: bool = False,
               empty: str = "", corrected: Iterable[int] = ()) -> dict:
    """What the grid shows: (image id, file path, caption) per tile, the selected ids framed (orange; green when
    also `corrected`: given another class than the page's, not left out); `empty` when none."""
    chosen, fixed = {int(i) for i in selected}, {int(i) for i in corrected}
    tiles = [{"id": int(i), "image": FileData(path=str(path)).model_dump(), "caption": caption,
              "selected": int(i) in chosen, "corrected": int(i) in fixed} for i, path, caption in items]
    return {"items": tiles, "selectable": selectable, "empty": empty}


def picked_key(evt: gr.EventData) -> str | None:
    """The key a `pick` event was made with (a digit typed on a tile under the cursor), None for a click or Space."""
    data = getattr(evt, "_data", None)
    key = data.get("key") if isinstance(data, dict) else None
    return key if isinstance(key, str) and len(key) == 1 else None


def picked_id(evt: gr.EventData) -> int | None:
    """The image id of the tile a `pick` event came from (None for anything else)."""
    data = getattr(evt, "_data", None)
    try:
        return int(data["id"]) if isinstance(data, dict) and data.get("id") is not None else None
    except (TypeError, ValueError):
        return None
