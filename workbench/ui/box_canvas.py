"""The Boxes mode's drawing surface: a gr.HTML whose value is the screen as JSON (labeling.boxes.screen) and whose
script draws the image with its boxes and suggestions, and turns mouse and keys into operations sent to the server
with trigger('select', op). Coordinates go to the server in the image's own pixels: the script scales by the
image's stored width, not by the (smaller) preview the browser shows.

Mouse: drag on the image draws a box of the current class; drag a box to move it, a corner to resize it; click a
box to select it, a dashed suggestion to accept it. Keys (when the panel is on screen and no text field has focus):
1..9, 0 pick the class (and give it to the selected box); arrows nudge the selected box 1 px (Shift: 10 px);
Delete/Backspace delete it; Esc deselects; Enter accepts the suggested boxes; c copies the previous image's boxes;
z or u undoes; n records the image as boxed and shows the next; s skips to the next; p goes back.
"""

from __future__ import annotations

import html
import json

ELEM_ID = "wb-boxes"
PANEL_ID = "wb-boxes-panel"

TEMPLATE = "<div class='wb-bx-root' tabindex='-1'></div>"

CSS = """
#wb-boxes .wb-bx-bar { display: flex; flex-wrap: wrap; gap: .3em; margin-bottom: .4em; align-items: center; }
#wb-boxes .wb-bx-bar button { padding: .2em .6em; border: 1px solid #94a3b8; border-radius: 4px; background: #f8fafc;
  color: #0f172a; cursor: pointer; }
#wb-boxes .wb-bx-bar button.on { background: #1d4ed8; color: #fff; border-color: #1d4ed8; }
#wb-boxes .wb-bx-wrap { position: relative; display: inline-block; line-height: 0; user-select: none; }
#wb-boxes .wb-bx-wrap img { display: block; max-width: none; cursor: crosshair; }
#wb-boxes .wb-bx-box { position: absolute; border: 2px solid; box-sizing: border-box; cursor: move; }
#wb-boxes .wb-bx-box.sel { border-width: 3px; outline: 2px dashed #fff; }
#wb-boxes .wb-bx-sug { position: absolute; border: 2px dashed #facc15; box-sizing: border-box; cursor: pointer;
  background: rgba(250, 204, 21, .08); }
#wb-boxes .wb-bx-tag { position: absolute; left: -2px; top: -1.4em; font: 11px/1.3em sans-serif; padding: 0 .25em;
  color: #fff; white-space: nowrap; pointer-events: none; }
#wb-boxes .wb-bx-h { position: absolute; width: 10px; height: 10px; background: #fff; border: 1px solid #000; }
#wb-boxes .wb-bx-h.nw { left: -6px; top: -6px; cursor: nwse-resize; }
#wb-boxes .wb-bx-h.ne { right: -6px; top: -6px; cursor: nesw-resize; }
#wb-boxes .wb-bx-h.sw { left: -6px; bottom: -6px; cursor: nesw-resize; }
#wb-boxes .wb-bx-h.se { right: -6px; bottom: -6px; cursor: nwse-resize; }
#wb-boxes .wb-bx-draft { position: absolute; border: 2px dashed #fff; outline: 1px solid #000; pointer-events: none; }
#wb-boxes .wb-bx-status { margin-top: .4em; line-height: 1.4; }
#wb-boxes .wb-bx-msg { color: #b45309; min-height: 1.3em; }
"""

COLOURS = ["#ef4444", "#22c55e", "#3b82f6", "#f97316", "#a855f7", "#14b8a6", "#ec4899", "#84cc16", "#eab308",
           "#64748b"]

# `element`, `props`, `trigger` and `watch` are given by gradio's HTML component (js_on_load).
JS = r"""
const COLOURS = __COLOURS__, MIN_PX = 4;
const HOW_MARK = {accepted: ' ✓', copied: ' ⧉', imported: ' ↓'};  // drawn: no mark; hover a box for its provenance
let st = {}, src = {id: null, url: null}, sel = null, cur = 0, drag = null, scale = 1;
// a box drawn but not yet stored: a class key pressed meanwhile is given to it once the server names it
let pending = false, pendingCls = null;
// moves sent but not yet answered, by box: a screen from the server that predates them must not undo them on
// screen (each op carries a number; the server's screen says the last number it has done)
let seq = 0;
const moving = {};
const root = () => element.querySelector('.wb-bx-root') || element;
const esc = (t) => String(t).replace(/[&<>'"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&#39;', '"': '&quot;'}[c]));
const colour = (k) => COLOURS[k % COLOURS.length];
const keyOf = (k) => k < 9 ? String(k + 1) : (k === 9 ? '0' : '');
const send = (op) => { seq += 1; if (op.op === 'move') moving[op.box_id] = {...op, seq}; trigger('select', {...op, seq}); };
const clamp = (b) => {
  const W = st.width, H = st.height;
  let {x, y, w, h} = b;
  w = Math.min(Math.max(w, 1), W); h = Math.min(Math.max(h, 1), H);
  x = Math.min(Math.max(x, 0), W - w); y = Math.min(Math.max(y, 0), H - h);
  return {x: +x.toFixed(2), y: +y.toFixed(2), w: +w.toFixed(2), h: +h.toFixed(2)};
};
const place = (div, b) => {
  div.style.left = (b.x * scale) + 'px'; div.style.top = (b.y * scale) + 'px';
  div.style.width = (b.w * scale) + 'px'; div.style.height = (b.h * scale) + 'px';
};

function load() {
  try { st = JSON.parse(props.value || '{}'); } catch (e) { st = {}; }
  if (st.src) src = {id: st.image_id, url: st.src};
  for (const [id, m] of Object.entries(moving)) {
    const b = (st.boxes || []).find((x) => x.id === +id);
    if (m.seq <= (st.seq || 0) || !b) delete moving[id]; else Object.assign(b, {x: m.x, y: m.y, w: m.w, h: m.h});
  }
  if (st.selected !== undefined && st.selected !== null) {
    sel = st.selected;
    if (pending && pendingCls !== null) send({op: 'label', box_id: sel, cls: pendingCls});
    pending = false; pendingCls = null;
  }
  if (!(st.boxes || []).some((b) => b.id === sel)) sel = null;
  draw();
}

function bar() {
  const c = st.classes || [];
  const classes = c.map((name, k) => `<button data-cls='${k}' class='${k === cur ? 'on' : ''}' style='border-left: 6px solid ${colour(k)}'>${keyOf(k)} · ${esc(name)}</button>`).join('');
  const b = (op, text, title) => `<button data-op='${op}' title='${esc(title)}'>${text}</button>`;
  return `<div class='wb-bx-bar'>${classes}<span style='flex:1'></span>` +
    b('prev', '← prev (p)', 'previous image') + b('next', 'skip (s)', 'next image, nothing recorded') +
    b('copy', 'copy previous (c)', "the previous image's boxes onto this one") +
    b('undo', 'undo (z)', 'undo the last change') + b('accept', 'accept suggested (Enter)', 'accept every dashed box') +
    b('delete', 'delete (Del)', 'delete the selected box') +
    b('done', 'done → next (n)', 'record this image as boxed (also with no boxes) and go on') + `</div>`;
}

function draw() {
  const r = root();
  if (st.image_id === undefined || st.image_id === null || src.id !== st.image_id) {
    // before a session, or past the last image (the bar stays: p goes back)
    r.innerHTML = (st.total ? bar() : '') +
      `<div class='wb-bx-status'><div class='wb-bx-msg' id='wb-boxes-message'>${esc(st.message || '')}</div></div>`;
    return;
  }
  const boxes = (st.boxes || []).map((b) => {
    const k = b.cls, tag = esc(b.label) + (HOW_MARK[b.how] || '');
    const title = `${b.label}: ${b.how}` + (b.confidence === null || b.confidence === undefined ? '' : ` (${Math.round(100 * b.confidence)}%)`);
    const handles = b.id === sel ? ['nw', 'ne', 'sw', 'se'].map((c) => `<div class='wb-bx-h ${c}' data-corner='${c}'></div>`).join('') : '';
    return `<div class='wb-bx-box${b.id === sel ? ' sel' : ''}' data-id='${b.id}' title='${esc(title)}' style='border-color:${colour(k)}'>` +
      `<span class='wb-bx-tag' style='background:${colour(k)}'>${tag}</span>${handles}</div>`;
  }).join('');
  const sugs = (st.suggestions || []).map((b, i) => {
    const conf = b.confidence === null || b.confidence === undefined ? '' : ' ' + Math.round(100 * b.confidence) + '%';
    return `<div class='wb-bx-sug' data-sug='${i}' title='click to accept'><span class='wb-bx-tag' style='background:#a16207'>${esc(b.label)}${conf} ?</span></div>`;
  }).join('');
  r.innerHTML = bar() + `<div class='wb-bx-wrap'><img class='wb-bx-img' src='${src.url}' alt='${esc(st.name)}' draggable='false'>` +
    `<div class='wb-bx-layer' style='position:absolute;inset:0;pointer-events:none'></div></div>` +
    `<div class='wb-bx-status'><b id='wb-boxes-name'>${esc(st.name)}</b> · ${st.width}×${st.height} px · ` +
    `${(st.boxes || []).length} box(es) · image ${st.pos + 1} of ${st.total} · boxed by ${esc(st.annotator)}: ` +
    `<b id='wb-boxes-done'>${st.done}</b> · suggestions: ${esc(st.suggester || 'none')}` +
    `<div class='wb-bx-msg' id='wb-boxes-message'>${esc(st.message || '')}</div></div>`;
  const img = r.querySelector('.wb-bx-img');
  const layer = r.querySelector('.wb-bx-layer');
  layer.innerHTML = sugs + boxes;
  layer.querySelectorAll('.wb-bx-box, .wb-bx-sug').forEach((d) => { d.style.pointerEvents = 'auto'; });
  const fit = () => {
    // the whole image on screen, as big as fits: large photos shrink, small crops grow (pixels kept sharp)
    const top = img.getBoundingClientRect().top + window.scrollY;  // below the page's controls, above its fold
    const maxW = r.clientWidth || 800, maxH = Math.max(320, Math.min(window.innerHeight - top - 70, 900));
    const k = Math.min(maxW / st.width, maxH / st.height);
    img.style.width = (st.width * k) + 'px'; img.style.height = (st.height * k) + 'px';
    img.style.imageRendering = k > 2 ? 'pixelated' : 'auto';
    scale = img.clientWidth / st.width;
    layer.querySelectorAll('.wb-bx-box').forEach((d) => place(d, st.boxes.find((b) => b.id === +d.dataset.id)));
    layer.querySelectorAll('.wb-bx-sug').forEach((d) => place(d, st.suggestions[+d.dataset.sug]));
  };
  if (img.complete && img.naturalWidth) fit(); else img.addEventListener('load', fit);
  element.__wbFit = fit;
}

function point(e) {
  const img = root().querySelector('.wb-bx-img');
  const r = img.getBoundingClientRect();
  return {x: Math.min(Math.max((e.clientX - r.left) / scale, 0), st.width),
          y: Math.min(Math.max((e.clientY - r.top) / scale, 0), st.height)};
}

element.addEventListener('mousedown', (e) => {
  if (e.button !== 0) return;
  const t = e.target;
  const b = t.closest('button');
  if (b) {
    e.preventDefault();
    if (b.dataset.cls !== undefined) { cur = +b.dataset.cls; if (sel !== null) send({op: 'label', box_id: sel, cls: cur}); draw(); }
    else if (b.dataset.op === 'delete') { if (sel !== null) send({op: 'delete', box_id: sel}); }
    else if (b.dataset.op) send({op: b.dataset.op});
    return;
  }
  if (!t.closest('.wb-bx-wrap')) return;
  e.preventDefault();
  const p = point(e);
  const sug = t.closest('.wb-bx-sug');
  const box = t.closest('.wb-bx-box');
  if (sug && !box) { send({op: 'accept', index: +sug.dataset.sug}); return; }
  if (box) {
    const id = +box.dataset.id, b0 = st.boxes.find((b) => b.id === id);
    if (sel !== id) { sel = id; cur = b0.cls; draw(); }
    const corner = t.dataset.corner;
    drag = {mode: corner ? 'resize' : 'move', corner, id, p0: p, b0: {...b0}, b: {...b0}};
    return;
  }
  sel = null;
  const layer = root().querySelector('.wb-bx-layer');
  const d = document.createElement('div');
  d.className = 'wb-bx-draft';
  layer.appendChild(d);
  drag = {mode: 'draw', p0: p, div: d, b: {x: p.x, y: p.y, w: 0, h: 0}};
});

window.addEventListener('mousemove', (e) => {
  if (!drag) return;
  const p = point(e), dx = p.x - drag.p0.x, dy = p.y - drag.p0.y;
  if (drag.mode === 'draw') {
    drag.b = {x: Math.min(p.x, drag.p0.x), y: Math.min(p.y, drag.p0.y), w: Math.abs(dx), h: Math.abs(dy)};
    place(drag.div, drag.b);
    return;
  }
  const b0 = drag.b0;
  if (drag.mode === 'move') drag.b = clamp({x: b0.x + dx, y: b0.y + dy, w: b0.w, h: b0.h});
  else {
    let x0 = b0.x, y0 = b0.y, x1 = b0.x + b0.w, y1 = b0.y + b0.h;
    if (drag.corner.includes('w')) x0 = Math.min(p.x, x1 - 1); else x1 = Math.max(p.x, x0 + 1);
    if (drag.corner.includes('n')) y0 = Math.min(p.y, y1 - 1); else y1 = Math.max(p.y, y0 + 1);
    drag.b = clamp({x: x0, y: y0, w: x1 - x0, h: y1 - y0});
  }
  const div = root().querySelector(`.wb-bx-box[data-id='${drag.id}']`);
  if (div) place(div, drag.b);
});

window.addEventListener('mouseup', () => {
  if (!drag) return;
  const d = drag;
  drag = null;
  if (d.mode === 'draw') {
    if (d.b.w * scale >= MIN_PX && d.b.h * scale >= MIN_PX) {
      pending = true; pendingCls = null;
      send({op: 'add', cls: cur, ...clamp(d.b)});
    } else { d.div.remove(); }
    return;
  }
  const b = d.b, b0 = d.b0;
  if (Math.abs(b.x - b0.x) + Math.abs(b.y - b0.y) + Math.abs(b.w - b0.w) + Math.abs(b.h - b0.h) >= 0.5) {
    Object.assign(st.boxes.find((x) => x.id === d.id), b);
    send({op: 'move', box_id: d.id, ...b});
  }
});

const nudge = (dx, dy) => {
  const b = st.boxes.find((x) => x.id === sel);
  if (!b) return;
  const n = clamp({x: b.x + dx, y: b.y + dy, w: b.w, h: b.h});
  Object.assign(b, n);
  element.__wbFit && element.__wbFit();
  send({op: 'move', box_id: sel, ...n});
};

const KEYS = {Enter: 'accept', c: 'copy', z: 'undo', u: 'undo', n: 'done', s: 'next', p: 'prev'};
window.addEventListener('keydown', (e) => {
  const panel = document.getElementById('__PANEL__');
  if (!panel || panel.offsetParent === null || !st.total) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target, tag = t && t.tagName;
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (t && t.isContentEditable)) return;
  const k = e.key, step = e.shiftKey ? 10 : 1;
  let done = true;
  if (/^[0-9]$/.test(k)) {
    const c = k === '0' ? 9 : +k - 1;
    if (c < (st.classes || []).length) {
      cur = c;
      if (pending) pendingCls = c; else if (sel !== null) send({op: 'label', box_id: sel, cls: c});
      draw();
    }
  } else if (k.startsWith('Arrow') && sel !== null) {
    nudge({ArrowLeft: -step, ArrowRight: step}[k] || 0, {ArrowUp: -step, ArrowDown: step}[k] || 0);
  } else if ((k === 'Delete' || k === 'Backspace') && sel !== null) {
    send({op: 'delete', box_id: sel}); sel = null;
  } else if (k === 'Escape') { sel = null; draw(); }
  else if (!e.repeat && Object.hasOwn(KEYS, k)) send({op: KEYS[k]});
  else done = false;
  if (done) { e.preventDefault(); e.stopPropagation(); }
}, true);
window.addEventListener('resize', () => element.__wbFit && element.__wbFit());

load();
watch('value', load);
""".replace("__COLOURS__", json.dumps(COLOURS)).replace("__PANEL__", PANEL_ID)


def payload(screen: dict, src: str | None = None, selected: int | None = None, seq: int = 0) -> str:
    """The canvas value: the screen as JSON, with the image's data URI when it is new on screen, the box to select
    (one just drawn, so a class key or an arrow acts on it) and the number of the last operation done."""
    out = {k: v for k, v in screen.items() if k != "path"}  # the server's file path stays on the server
    out["seq"] = seq
    if src is not None:
        out["src"] = src
    out["selected"] = selected
    return json.dumps(out)


def empty(message: str) -> str:
    """The canvas before a session: only a message."""
    return json.dumps({"image_id": None, "message": html.unescape(message)})
