"""The README's Layout section matches the code: every path it names exists, and every package and top-level
module of workbench/ is named there (a new contributor finds each feature's home from it)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_section() -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(r"^## Layout\n(.*?)(?=^## )", text, re.S | re.M).group(1)


def named_paths(section: str) -> list[str]:
    """Backticked names: full paths (`workbench/train/`) and file names after their folder (`loop.py`)."""
    out, folder = [], None
    for token in re.findall(r"`([^`]+)`", section):
        if token.startswith(("workbench/", "bench/")):
            folder = token if token.endswith("/") else token.rpartition("/")[0] + "/"
            out.append(token)
        elif re.fullmatch(r"[\w/]+(\.py|/)", token) and folder:
            out.append(folder + token)
    return out


def test_every_path_the_layout_names_exists():
    missing = [p for p in named_paths(layout_section()) if not (ROOT / p).exists()]
    assert not missing, f"README Layout names paths that do not exist: {missing}"


def test_every_package_and_top_level_module_is_in_the_layout():
    named = set(named_paths(layout_section()))
    packages = [f"workbench/{p.name}/" for p in (ROOT / "workbench").iterdir()
                if (p / "__init__.py").exists()]
    modules = [f"workbench/{p.name}" for p in (ROOT / "workbench").glob("*.py")
               if p.name not in ("__init__.py", "__main__.py")]
    absent = [p for p in packages + modules if p not in named]
    assert not absent, f"README Layout does not name: {absent}"


def test_every_tab_module_is_in_the_layout():
    named = set(named_paths(layout_section()))
    tabs = [f"workbench/ui/{p.name}" for p in (ROOT / "workbench" / "ui").glob("*_tab.py")]
    assert tabs and not [t for t in tabs if t not in named]
