"""Which keyboard key does what. Digits pick classes; letters toggle tags; a few letters are reserved."""

from __future__ import annotations

import string

# s = skip, u = undo: never given to a tag
RESERVED_KEYS = frozenset("su")
MAX_CLASS_KEYS = 9


def tag_keys(tags: list[str]) -> dict[str, str]:
    """Letter -> tag: each tag gets the first free letter of its name, else the first free letter a..z."""
    out: dict[str, str] = {}
    for tag in tags:
        letters = [c for c in tag.lower() if c in string.ascii_lowercase]
        free = [c for c in letters + list(string.ascii_lowercase) if c not in out and c not in RESERVED_KEYS]
        if free:
            out[free[0]] = tag
    return out


def class_for_key(key: str, classes: list[str]) -> str | None:
    """The class a digit key 1..9 assigns, or None (unknown key: nothing happens)."""
    if len(key) == 1 and key in "123456789" and int(key) <= min(len(classes), MAX_CLASS_KEYS):
        return classes[int(key) - 1]
    return None
