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


MAX_NAME = 100  # characters in a class or tag name: shown in the app and tables, a folder name in exports
FORBIDDEN = set('<>:"/\\|?*')  # cannot be in a folder name on Windows (and '/' nowhere)
# names Windows reserves for devices, with or without an extension (CON, con.txt, ...)
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def name_problem(name: str) -> str:
    """Why `name` (stripped) cannot be a class or tag name, or '' when it can: it must work as a folder name on
    Linux, macOS and Windows, since exports make one folder per class."""
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long"
    bad = sorted({c for c in name if c in FORBIDDEN or ord(c) < 32 or ord(c) == 127})
    if bad:
        return "contains " + " ".join(repr(c) for c in bad)
    if name in (".", ".."):
        return "is a folder's own name"
    if name.endswith("."):
        return "ends with '.'"
    if name.split(".")[0].strip().upper() in RESERVED:
        return "is a device name on Windows"
    return ""


def names(values: Iterable[str], what: str = "class") -> list[str]:
    """The names stripped, blank ones dropped; a WorkbenchError naming every one that cannot be a class or tag name
    (a folder name in exports) and why."""
    out = [str(v).strip() for v in values if str(v).strip()]
    bad = [f"{_shown(n)} {why}" for n in dict.fromkeys(out) if (why := name_problem(n))]
    if bad:
        more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
        raise WorkbenchError(
            f"Cannot use {what} name{'s' if len(bad) > 1 else ''}: {'; '.join(bad[:10])}{more}. Class and tag names "
            f"become folder names in exports: at most {MAX_NAME} characters, none of {' '.join(sorted(FORBIDDEN))} "
            "or control characters, not '.' or '..', not ending with '.', not a device name such as CON.")
    return out


def _shown(name: str) -> str:
    return repr(name) if len(name) <= 40 else repr(name[:30] + "…")
