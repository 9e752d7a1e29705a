"""Which keyboard key does what. Digits pick classes (1..9, then 0 for the tenth, as on the keyboard row,
or a class's own digit when classes are named 0..9); letters toggle tags; a few letters are reserved."""

from __future__ import annotations

import string

# s = skip, u = undo: never given to a tag
RESERVED_KEYS = frozenset("su")
CLASS_KEYS = "1234567890"
MAX_CLASS_KEYS = len(CLASS_KEYS)


def tag_keys(tags: list[str]) -> dict[str, str]:
    """Letter -> tag: each tag gets the first free letter of its name, else the first free letter a..z."""
    out: dict[str, str] = {}
    for tag in tags:
        letters = [c for c in tag.lower() if c in string.ascii_lowercase]
        free = [c for c in letters + list(string.ascii_lowercase) if c not in out and c not in RESERVED_KEYS]
        if free:
            out[free[0]] = tag
    return out


def class_keys(classes: list[str]) -> dict[str, str]:
    """Digit key -> class. Classes named by distinct digits ("0".."9", as in digits sets) keep their own
    digit; otherwise 1..9 then 0 go to the classes in order, and classes past the tenth have no key."""
    if all(len(c) == 1 and c in CLASS_KEYS for c in classes) and len(set(classes)) == len(classes):
        return {c: c for c in classes}
    return dict(zip(CLASS_KEYS, classes))


def class_for_key(key: str, classes: list[str]) -> str | None:
    """The class a digit key assigns, or None: nothing happens."""
    return class_keys(classes).get(key)
