"""The report as one self-contained HTML file: sections with pass/warn lines, tables, image tiles as data URIs and
plotly figures drawn by the plotly.js inlined once in the page. Nothing is fetched when it opens.

Text and layout only: every number shown comes from the core, passed in by the section builders.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from PIL import Image

from workbench.data.imageio import load_image

LEVELS = ("pass", "warn", "info")
TILE_MAX = 160  # larger images are shrunk to this many pixels on their long side before they are embedded
SMALL = 64  # images this small or smaller are shown enlarged by a whole factor, pixelated


@dataclass(frozen=True)
class Check:
    """A Deepchecks-style line under a section's title: 'pass' or 'warn' with what was checked, or 'info'."""

    level: str
    text: str

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")


@dataclass
class Section:
    """One numbered part of the report: its title, pass/warn lines and body (HTML fragments, in order)."""

    key: str
    title: str
    checks: list[Check] = field(default_factory=list)
    body: list[str] = field(default_factory=list)

    def check(self, ok: bool, passed: str, warned: str) -> None:
        """Add 'pass: passed' when ok, else 'warn: warned'."""
        self.checks.append(Check("pass", passed) if ok else Check("warn", warned))

    def warn(self, text: str) -> None:
        self.checks.append(Check("warn", text))

    def info(self, text: str) -> None:
        self.checks.append(Check("info", text))

    def add(self, *fragments: str) -> None:
        self.body.extend(f for f in fragments if f)


# -- fragments ------------------------------------------------------------------------------------------------
def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def heading(text: str, level: int = 3) -> str:
    return f"<h{level}>{esc(text)}</h{level}>"


def paragraph(text: str, cls: str = "") -> str:
    return f"<p{f' class={cls!r}' if cls else ''}>{esc(text)}</p>"


def table(df: pd.DataFrame, caption: str = "", floats: str = "{:.4f}", cls: str = "") -> str:
    """A DataFrame as an HTML table: every cell escaped, floats formatted, NaN shown as '-'."""
    if df is None or df.empty:
        return ""
    shown = df.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "-" if pd.isna(v) else floats.format(v))
    body = shown.to_html(index=False, escape=True, na_rep="-", border=0, classes=["data", *([cls] if cls else [])])
    return f"<figure class='table'>{body}{f'<figcaption>{esc(caption)}</figcaption>' if caption else ''}</figure>"


def figure(fig: go.Figure, caption: str = "") -> str:
    """A plotly figure as a div drawn by the page's inlined plotly.js (no CDN, no network)."""
    div = pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False, "responsive": True})
    return f"<figure class='plot'>{div}{f'<figcaption>{esc(caption)}</figcaption>' if caption else ''}</figure>"


def data_uri(image: Image.Image | str | Path) -> tuple[str, tuple[int, int]]:
    """A PNG data URI of an image (a file is read and shrunk to TILE_MAX px when larger) and its shown size."""
    im = load_image(image) if isinstance(image, (str, Path)) else image
    if max(im.size) > TILE_MAX:
        im = im.copy()
        im.thumbnail((TILE_MAX, TILE_MAX), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), im.size


def tile(image: Image.Image | str | Path, caption: str = "", title: str = "", size: int | None = None) -> str:
    """One image embedded at its own size; a small one (24×24 crops) enlarged by a whole factor, pixelated.
    `size`: shown with this long side instead (an image beside its Grad-CAM, both the same size)."""
    try:
        uri, (w, h) = data_uri(image)
    except Exception as e:  # noqa: BLE001 (a file gone since import: say so in its place, keep the report)
        return f"<div class='tile missing'>{esc(f'unreadable: {e}')}</div>"
    scale = size / max(w, h) if size else max(1, SMALL // max(w, h)) if max(w, h) <= SMALL else 1
    img = (f"<img src='{uri}' width='{round(w * scale)}' height='{round(h * scale)}' alt='{esc(caption)}' "
           f"title='{esc(title)}'{' class=px' if scale > 1 or max(w, h) <= SMALL else ''}>")
    return f"<div class='tile'>{img}{f'<span>{esc(caption)}</span>' if caption else ''}</div>"


def tiles(items: Iterable[str], cls: str = "") -> str:
    return f"<div class='tiles {cls}'>{''.join(items)}</div>"


def pair(left: str, right: str, caption: str) -> str:
    """Two images side by side under one caption (an error and its Grad-CAM)."""
    return f"<div class='pair'><div class='two'>{left}{right}</div><span>{esc(caption)}</span></div>"


def code(lines: Sequence[str]) -> str:
    return f"<pre><code>{esc(chr(10).join(lines))}</code></pre>"


def definitions(rows: Sequence[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows) + "</dl>"


# -- the page -------------------------------------------------------------------------------------------------
CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2328;background:#fff}
header{padding:18px 32px;background:#0f3d63;color:#fff}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85}nav{padding:8px 32px;background:#f3f6f9;border-bottom:1px solid #d0d7de}
nav a{margin-right:16px;color:#0f3d63;text-decoration:none}main{padding:8px 32px 40px;max-width:1280px}
section{border-bottom:1px solid #d0d7de;padding:12px 0 20px}h2{font-size:19px;margin:14px 0 6px}
h3{font-size:15px;margin:16px 0 6px}ul.checks{list-style:none;padding:0;margin:6px 0 10px}
ul.checks li{padding:3px 8px;margin:2px 0;border-radius:4px;font-family:ui-monospace,monospace;font-size:13px}
li.pass{background:#dafbe1}li.warn{background:#fff1c2}li.info{background:#eef2f6}
table.data{border-collapse:collapse;font-size:13px;margin:4px 0}table.data th,table.data td{border:1px solid #d0d7de;
padding:3px 8px;text-align:left;vertical-align:top}table.data th{background:#f3f6f9}
figure{margin:8px 0}figcaption{color:#57606a;font-size:12px}.tiles{display:flex;flex-wrap:wrap;gap:6px;
align-items:flex-end}.tile,.pair{display:flex;flex-direction:column;align-items:center;font-size:11px;color:#57606a}
.tile span,.pair span{white-space:pre-line;text-align:center;max-width:180px}.two{display:flex;gap:2px}
img.px{image-rendering:pixelated;image-rendering:crisp-edges}.missing{color:#b35900;width:64px}
.collage{border:1px solid #d0d7de;border-radius:6px;padding:8px;margin:8px 0}
pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12px}dl{display:grid;grid-template-columns:max-content 1fr;
gap:2px 12px}dt{font-weight:600}dd{margin:0}.muted{color:#57606a}
"""


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole report: header, table of contents, numbered sections, plotly.js inlined once when a figure needs it."""
    plots = any("class='plot'" in part for s in sections for part in s.body)
    script = f"<script type='text/javascript'>{get_plotlyjs()}</script>" if plots else ""
    nav = "".join(f"<a href='#{s.key}'>{i}. {esc(s.title)}</a>" for i, s in enumerate(sections, 1))
    body = "".join(_section(i, s) for i, s in enumerate(sections, 1))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{CSS}</style>{script}</head>"
            f"<body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header><nav>{nav}</nav>"
            f"<main>{body}</main></body></html>")


def _section(number: int, s: Section) -> str:
    checks = "".join(f"<li class='{c.level}'>{c.level}: {esc(c.text)}</li>" for c in s.checks)
    return (f"<section id='{s.key}'><h2>{number}. {esc(s.title)}</h2>"
            f"{f'<ul class=checks>{checks}</ul>' if checks else ''}{''.join(s.body)}</section>")

