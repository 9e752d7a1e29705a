"""Checks every store write makes of what it is given, with the message a user sees."""

from __future__ import annotations

from typing import Iterable

from workbench.errors import WorkbenchError


def annotator(name: str | None, doing: str = "labelling") -> str:
    """The annotator's name, stripped; refused when blank."""
    name = (name or "").strip()
    if not name:
        raise WorkbenchError(f"Give an annotator name before {doing}.")
    return name


def one_of(value: str, allowed: Iterable[str], what: str) -> None:
    """Refuse `value` unless it is among `allowed`, naming them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise WorkbenchError(f"Unknown {what} {value!r} (one of {', '.join(allowed)}).")
