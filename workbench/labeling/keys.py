"""Which keyboard key and which button does what. Digits pick classes (1..9, then 0 for the tenth, as on the
keyboard row, or a class's own digit when classes are named 0..9); letters toggle tags; a few letters are
reserved. Buttons name their action in their id: a label button carries its class's index, a tag button its
tag's index, so a keypress reaches the labelling core as one class index."""

from __future__ import annotations

import string

CLASS_KEYS = "1234567890"
MAX_CLASS_KEYS = len(CLASS_KEYS)

# the one-image view's buttons, by element id: one per class (index appended), one per tag, and the moves
LABEL_BUTTON = "wb-label-"
TAG_BUTTON = "wb-tag-"
MOVE_BUTTONS = {"wb-skip": "skip", "wb-prev": "prev", "wb-undo": "undo", "wb-accept": "accept"}
# keys that move through the queue or accept the suggestion, by the button they press (KeyboardEvent.key)
MOVE_KEYS = {"Enter": "wb-accept", " ": "wb-accept", "s": "wb-skip", "ArrowRight": "wb-skip",
             "ArrowLeft": "wb-prev", "Backspace": "wb-undo", "u": "wb-undo"}
# s = skip, u = undo: never given to a tag
RESERVED_KEYS = frozenset(k for k in MOVE_KEYS if len(k) == 1 and k.isalpha())


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


def keys_by_position(names: list[str], keys: dict[str, str]) -> list[str | None]:
    """The key of each name, in the names' order (None: no key), from a key -> name map
    (class_keys or tag_keys): what each class's or tag's button shows and answers to."""
    key_of = {name: key for key, name in keys.items()}
    return [key_of.get(name) for name in names]


def button_action(elem_id: str) -> tuple[str, int | None]:
    """What a one-image view button does, from its element id: ("label", class index), ("tag", tag index),
    ("skip" | "prev" | "undo" | "accept", None), or ("", None) for anything else."""
    for prefix, action in ((LABEL_BUTTON, "label"), (TAG_BUTTON, "tag")):
        if elem_id.startswith(prefix) and elem_id[len(prefix):].isdigit():
            return action, int(elem_id[len(prefix):])
    return MOVE_BUTTONS.get(elem_id, ""), None
