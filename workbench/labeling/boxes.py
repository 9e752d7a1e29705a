"""One annotator boxing a dataset's images: draw, move, resize, re-class and delete boxes, copy the previous image's
boxes, accept suggested boxes, undo; every change one committed transaction (Store box methods) before the next
screen is built. The session only remembers where it is and what to undo (the UI keeps it in gr.State).

Operations arrive as small dicts (from the browser's Boxes mode, or any client), coordinates in image pixels:
  {"op": "add", "cls": 0, "x": .., "y": .., "w": .., "h": ..}   draw a box of class index cls
  {"op": "move", "box_id": 7, "x": .., "y": .., "w": .., "h": ..}   move or resize (or nudge) a box
  {"op": "label", "box_id": 7, "cls": 1}   give a box another class        {"op": "delete", "box_id": 7}
  {"op": "copy"}   the previous image's boxes onto this one                 {"op": "undo"}
  {"op": "accept"} every suggested box shown ({"index": i}: one of them)     {"op": "done"}: boxed, next image
  {"op": "next"} / {"op": "prev"}: move without recording anything
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from workbench.errors import WorkbenchError
from workbench.store import Store

OPS = ("add", "move", "label", "delete", "copy", "undo", "accept", "done", "next", "prev")
HIDE_IOU = 0.5  # a suggestion overlapping a box of its class this much is already there: not shown
# suggest(image row, box classes) -> [{"label", "x", "y", "w", "h", "confidence"}]
SuggestFn = Callable[[dict, list[str]], list[dict]]


@dataclass
class BoxSession:
    """Where one annotator is in one dataset's images, what to undo, and the suggestions shown per image."""

    dataset: str
    annotator: str
    image_ids: list[int]
    pos: int = 0
    undo: list[tuple[str, list[tuple[int, int | None]]]] = field(default_factory=list)  # (what, [(box, version)])
    previous: int | None = None  # the image on screen before this one: what "copy" copies
    message: str = ""
    suggested: dict[int, list[dict]] = field(default_factory=dict)
    suggester: str = ""  # what suggests the boxes shown ("" none)
    seq: int = 0  # the number the client gave its last operation (a screen says which operations it shows)

    @property
    def image_id(self) -> int | None:
        """The image on screen (None past the last)."""
        return self.image_ids[self.pos] if 0 <= self.pos < len(self.image_ids) else None


def open_boxes(store: Store, dataset: str, annotator: str, image_id: int | None = None) -> BoxSession:
    """Start boxing `dataset` as `annotator`: on `image_id`, else the first image they have not boxed yet."""
    annotator = (annotator or "").strip()
    if not annotator:
        raise WorkbenchError("Give an annotator name before drawing boxes.")
    if not store.box_classes(dataset):
        raise WorkbenchError(f"Dataset {dataset!r} has no box classes yet: add some (e.g. face, eye) under "
                             "'Box classes' first.")
    ids = store.images(dataset)["image_id"].astype(int).tolist()
    if not ids:
        raise WorkbenchError(f"Dataset {dataset!r} has no images.")
    done = set(store.boxed_images(dataset, annotator)["image_id"].astype(int))
    start = ids.index(image_id) if image_id in ids else next((k for k, i in enumerate(ids) if i not in done), 0)
    return BoxSession(dataset=dataset, annotator=annotator, image_ids=ids, pos=start)


def apply(store: Store, s: BoxSession, op: dict, suggest: SuggestFn | None = None) -> BoxSession:
    """Do one operation (one transaction at most); a refused one leaves everything as it was and says why."""
    s.message = ""
    if isinstance(op.get("seq"), int):
        s.seq = op["seq"]
    kind = str(op.get("op", ""))
    if kind not in OPS:
        s.message = f"Unknown operation {kind!r}."
        return s
    try:
        _OPS[kind](store, s, op, suggest)
    except WorkbenchError as e:
        s.message = str(e)
    except (KeyError, TypeError, ValueError) as e:
        s.message = f"Malformed {kind} operation ({e!r})."
    return s


def _class(store: Store, s: BoxSession, op: dict) -> str:
    classes = store.box_classes(s.dataset)
    k = int(op["cls"])
    if not 0 <= k < len(classes):
        raise WorkbenchError(f"No box class number {k + 1} (classes: {', '.join(classes)}).")
    return classes[k]


def _xywh(op: dict) -> tuple[float, float, float, float]:
    return tuple(round(float(op[k]), 2) for k in "xywh")


def _version_of(store: Store, s: BoxSession, box_id: int) -> int:
    for b in store.boxes_of(s.image_id, s.annotator):
        if b["box_id"] == box_id:
            return b["version"]
    raise WorkbenchError(f"Box {box_id} is not one of your boxes on this image.")


def _add(store: Store, s: BoxSession, op: dict, _suggest) -> None:
    box = store.add_box(_on_screen(s), _class(store, s, op), *_xywh(op), s.annotator, how="drawn")
    s.undo.append(("draw", [(box, None)]))


def _move(store: Store, s: BoxSession, op: dict, _suggest) -> None:
    box = int(op["box_id"])
    before = _version_of(store, s, box)
    store.update_box(box, s.annotator, xywh=_xywh(op))
    s.undo.append(("move", [(box, before)]))


def _label(store: Store, s: BoxSession, op: dict, _suggest) -> None:
    box = int(op["box_id"])
    before = _version_of(store, s, box)
    store.update_box(box, s.annotator, label=_class(store, s, op))
    s.undo.append(("class change", [(box, before)]))


def _delete(store: Store, s: BoxSession, op: dict, _suggest) -> None:
    box = int(op["box_id"])
    before = _version_of(store, s, box)
    store.delete_box(box, s.annotator)
    s.undo.append(("delete", [(box, before)]))


def _copy(store: Store, s: BoxSession, _op: dict, _suggest) -> None:
    """The previous image's boxes (this annotator's) at the same place: the same pixels on an image of the same size
    (frames of a video), the same fractions of the image on another size; clipped to the image."""
    image = _on_screen(s)
    if s.previous is None:
        raise WorkbenchError("No previous image to copy boxes from.")
    row, prev = store.image(image), store.image(s.previous)
    sx, sy = row["width"] / prev["width"], row["height"] / prev["height"]
    scaled = [{**b, "x": b["x"] * sx, "w": b["w"] * sx, "y": b["y"] * sy, "h": b["h"] * sy}
              for b in store.boxes_of(s.previous, s.annotator)]
    rows = [r for b in scaled if (r := _clipped(b, row["width"], row["height"]))]
    if not rows:
        raise WorkbenchError("The previous image has no boxes of yours to copy.")
    ids = store.add_boxes(s.dataset, [{**r, "image_id": image} for r in rows], s.annotator, how="copied")
    s.undo.append(("copy", [(i, None) for i in ids]))
    s.message = f"Copied {len(ids)} box{'es' * (len(ids) != 1)} from the previous image."


def _accept(store: Store, s: BoxSession, op: dict, suggest) -> None:
    """Every suggested box on screen (or the one at op["index"]), recorded as accepted with its confidence."""
    shown = shown_suggestions(store, s, suggest)
    if "index" in op and op["index"] is not None:
        shown = [shown[int(op["index"])]]
    if not shown:
        raise WorkbenchError("No suggested boxes to accept on this image.")
    ids = store.add_boxes(s.dataset, [{**b, "image_id": _on_screen(s)} for b in shown], s.annotator, how="accepted")
    s.undo.append(("accept", [(i, None) for i in ids]))
    s.message = f"Accepted {len(ids)} suggested box{'es' * (len(ids) != 1)}."


def _undo(store: Store, s: BoxSession, _op: dict, _suggest) -> None:
    if not s.undo:
        raise WorkbenchError("Nothing to undo.")
    what, changes = s.undo.pop()
    new = [box for box, before in changes if before is None]
    if new:
        store.delete_boxes(new, s.annotator)  # one transaction for a whole accept or copy
    for box, before in changes:
        if before is not None:
            store.restore_box(box, before, s.annotator)
    s.message = f"Undid the last {what}."


def _done(store: Store, s: BoxSession, op: dict, suggest) -> None:
    store.confirm_boxes(_on_screen(s), s.annotator)
    _next(store, s, op, suggest)


def _next(_store: Store, s: BoxSession, _op: dict, _suggest) -> None:
    if s.pos < len(s.image_ids):
        s.previous = s.image_id
        s.pos += 1


def _prev(_store: Store, s: BoxSession, _op: dict, _suggest) -> None:
    if s.pos > 0:
        s.previous = s.image_id
        s.pos -= 1


_OPS = {"add": _add, "move": _move, "label": _label, "delete": _delete, "copy": _copy, "undo": _undo,
        "accept": _accept, "done": _done, "next": _next, "prev": _prev}


def _on_screen(s: BoxSession) -> int:
    if s.image_id is None:
        raise WorkbenchError("No image on screen: every image has been shown.")
    return s.image_id


def _clipped(b: dict, width: int, height: int) -> dict | None:
    x0, y0 = max(0.0, b["x"]), max(0.0, b["y"])
    x1, y1 = min(float(width), b["x"] + b["w"]), min(float(height), b["y"] + b["h"])
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return {"label": b["label"], "x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0}


def iou(a: dict, b: dict) -> float:
    """Intersection over union of two boxes given as x, y, w, h."""
    ix = max(0.0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    iy = max(0.0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    inter = ix * iy
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


def shown_suggestions(store: Store, s: BoxSession, suggest: SuggestFn | None) -> list[dict]:
    """The suggested boxes for the image on screen (computed once per image), less those already boxed."""
    image = s.image_id
    if image is None or suggest is None:
        return []
    if image not in s.suggested:
        s.suggested[image] = suggest(store.image(image), store.box_classes(s.dataset))
    mine = store.boxes_of(image, s.annotator)
    return [b for b in s.suggested[image]
            if not any(m["label"] == b["label"] and iou(m, b) >= HIDE_IOU for m in mine)]


def screen(store: Store, s: BoxSession, suggest: SuggestFn | None = None) -> dict[str, Any]:
    """What the Boxes mode draws, as plain data: the image, its boxes and suggestions, classes, progress, message."""
    classes = store.box_classes(s.dataset)
    done = store.boxed_count(s.dataset, s.annotator)
    base = {"dataset": s.dataset, "annotator": s.annotator, "classes": classes, "done": done,
            "total": len(s.image_ids), "pos": s.pos, "message": s.message, "suggester": s.suggester,
            "can_copy": s.previous is not None, "can_undo": bool(s.undo)}
    if s.image_id is None:
        return {**base, "image_id": None, "message": s.message or f"All {len(s.image_ids)} images shown."}
    row = store.image(s.image_id)
    index = {c: k for k, c in enumerate(classes)}
    boxes = [{"id": b["box_id"], "cls": index.get(b["label"], 0), **{k: b[k] for k in ("label", "x", "y", "w", "h")},
              "how": b["how"], "confidence": b["confidence"]} for b in store.boxes_of(s.image_id, s.annotator)]
    suggestions = [{"cls": index.get(b["label"], 0), **b} for b in shown_suggestions(store, s, suggest)]
    return {**base, "image_id": s.image_id, "name": row["name"], "path": row["path"], "width": row["width"],
            "height": row["height"], "boxes": boxes, "suggestions": suggestions}
