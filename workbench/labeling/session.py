"""One annotator's labelling session: the image on screen, next / skip / previous / undo, tags, suggestions.

A session is a small plain dataclass (the UI keeps it in gr.State, one per browser tab). Everything
the annotator does is written to the store, one committed transaction per label or tag, before the
next image is chosen; the session itself only remembers where it is and what to undo.

With a Suggester, the suggestion shown for the image on screen is pinned in the session (`Enter` accepts what
was shown, even if a retrain finished meanwhile), and a retrain re-ranks only the images not yet shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.labeling.keys import class_for_key
from workbench.labeling.next_step import empty_queue_message
from workbench.labeling.queue import SUGGESTED_ORDERS, UNLABELED_ORDERS, build_queue, only_filter
from workbench.labeling.suggest import Suggester
from workbench.store import Store


@dataclass
class LabelSession:
    """Where one annotator is in one dataset: the queue, the images shown (for ←), what to undo, the suggestion."""

    dataset: str
    annotator: str
    order: str = "unlabeled"
    only: str | None = None
    seed: int = 0
    queue: list[int] = field(default_factory=list)
    qpos: int = 0                       # next queue index to take
    trail: list[int] = field(default_factory=list)  # images shown, in order (for ←)
    cursor: int = -1                    # index into trail of the image on screen; len(trail) = queue finished
    # what was done here, newest last, for undo: ("label", image_id, label_id) or ("tag", image_id, tag, was_on)
    done: list[tuple] = field(default_factory=list)
    message: str = ""
    shown: tuple | None = None          # (image_id, class, confidence): the suggestion on screen, pinned
    unsure: int | None = None           # the image on screen whose likeliest class is under the suggestion floor
    floor: float = 0.0                  # the floor of the suggestions this session saw last (for what it says)
    version: int = 0                    # suggestions version the queue was ranked with (0: none)
    rejected: dict[int, str] = field(default_factory=dict)  # left out of a verify page as not this class
    suggest: bool = False               # the screen shows suggestions (the UI passes this session's Suggester)
    # (image_id, store row) of the image on screen, read once when it came on screen: a keypress and the
    # screen after it need its name and path, and reading them again costs a query each
    img: tuple[int, dict] | None = None

    @property
    def image_id(self) -> int | None:
        """The image on screen, or None when the queue is finished."""
        return self.trail[self.cursor] if 0 <= self.cursor < len(self.trail) else None


@dataclass
class LabelView:
    """What the Label tab shows: the image, its current label and tags, progress and a message."""

    dataset: str
    annotator: str
    image_id: int | None
    name: str = ""
    path: str = ""
    label: str | None = None
    tags: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    labelled: int = 0
    total: int = 0
    per_class: dict[str, int] = field(default_factory=dict)
    message: str = ""
    suggestion: str | None = None
    confidence: float | None = None
    suggest_status: str = ""   # the suggester's state (embedding, waiting for labels, refreshed): changes by itself
    no_suggestion: str = ""    # why the image on screen has no suggestion although one was looked for


def open_session(store: Store, dataset: str, annotator: str, order: str = "unlabeled",
                 only: str | None = None, seed: int = 0, suggester: Suggester | None = None) -> LabelSession:
    """Start labelling `dataset` as `annotator`; the first image of the queue is on screen."""
    annotator = (annotator or "").strip()
    if not annotator:
        raise WorkbenchError("Give an annotator name before labelling.")
    if not dataset:
        raise WorkbenchError("Pick a dataset to label.")
    store.dataset_id(dataset)  # raises UnknownDataset with the known names
    s = LabelSession(dataset=dataset, annotator=annotator, order=order, only=only_filter(order, only),
                     seed=int(seed or 0))
    snap = suggester.latest() if suggester else None
    s.queue = build_queue(store, dataset, annotator, order, s.only, s.seed, snap)
    s.version = snap.version if snap else 0
    if order in SUGGESTED_ORDERS and snap is None:
        s.message = "No suggestions yet: file order until they come (label a few of each class)."
    if not store.classes(dataset):
        s.message = "This dataset has no classes yet: add them (e.g. open, closed) before labelling."
    _advance(store, s)
    if s.image_id is None and not s.trail and store.classes(dataset):
        s.message = empty_queue_message(store, dataset, annotator, order, s.only)
    return s


def label(store: Store, s: LabelSession, cls: str | int, classes: list[str] | None = None,
          suggester: Suggester | None = None, source: str = "typed", confidence: float | None = None) -> LabelSession:
    """Label the image on screen with a class, by name or by index (committed before returning); move on.

    `classes`: the dataset's classes when the caller has them already (one query fewer per keypress).
    """
    image_id = s.image_id
    if image_id is None:
        s.message = "No image on screen: the queue is finished (← goes back)."
        return s
    class_name = _class_name(cls, classes if classes is not None else store.classes(s.dataset))
    if class_name is None:
        s.message = f"Unknown class {cls!r}: add it first."
        return s
    img = _shown_image(store, s)
    if img is None or not Path(img["path"]).is_file():
        s.message = f"{img['name'] if img else image_id} is missing on disk and was not labelled; moved on."
        _advance(store, s)
        return s
    label_id = store.add_label(image_id, class_name, s.annotator, source, confidence)
    s.done.append(("label", image_id, label_id))
    s.message = f"{img['name']} → {class_name}"
    if suggester is not None:
        suggester.poke()
    _advance(store, s, suggester)
    return s


def _class_name(cls: str | int, classes: list[str]) -> str | None:
    """A class given by name or by index (a label button's), if the dataset has it."""
    if isinstance(cls, int):
        return classes[cls] if 0 <= cls < len(classes) else None
    return cls if cls in classes else None


def accept(store: Store, s: LabelSession, suggester: Suggester | None = None,
           classes: list[str] | None = None) -> LabelSession:
    """Enter: label the image on screen with the suggestion shown for it (provenance: accepted, its confidence)."""
    if s.image_id is None:
        s.message = "No image on screen: the queue is finished (← goes back)."
        return s
    if s.shown is None or s.shown[0] != s.image_id:
        s.message = (f"Enter accepts nothing here: {unsure_text(s.floor, s.rejected.get(s.image_id))}. "
                     "Type its class's key."
                     if s.unsure == s.image_id else "No suggestion for this image: type its class's key.")
        return s
    _, cls, conf = s.shown
    return label(store, s, cls, classes, suggester, "accepted", conf)


def label_key(store: Store, s: LabelSession, key: str, suggester: Suggester | None = None,
              classes: list[str] | None = None) -> LabelSession:
    """Digit key (see keys.class_keys): label with that class; any other key does nothing."""
    classes = classes if classes is not None else store.classes(s.dataset)
    cls = class_for_key(key, classes)
    return label(store, s, cls, classes, suggester) if cls is not None else s


def skip(store: Store, s: LabelSession, suggester: Suggester | None = None) -> LabelSession:
    """Leave the image unlabeled and move on (it comes back the next time the queue is opened)."""
    if s.image_id is not None:
        s.message = "Skipped."
    _advance(store, s, suggester)
    return s


def queue_next(store: Store, s: LabelSession, image_ids: list[int], rejected: str | None = None) -> LabelSession:
    """Show these images now, one by one (left out of a verify page as not `rejected`: their suggestion is the
    runner-up); the image that was on screen comes back after them."""
    back = [s.image_id] if s.image_id is not None else []
    fresh = [int(i) for i in image_ids]
    s.queue[s.qpos:s.qpos] = fresh + [i for i in back if i not in fresh]
    s.rejected.update({i: rejected for i in fresh} if rejected is not None else {})
    s.cursor = len(s.trail) - 1
    s.message = f"{len(fresh)} image(s) left out of the page: label them." if fresh else s.message
    _advance_queue(store, s)
    return s


def take_left_out(store: Store, s: LabelSession | None, dataset: str, annotator: str, image_ids: list[int],
                  rejected: str, suggester: Suggester | None = None) -> LabelSession:
    """After a verify page: the images left out of it come next, one by one, with their runner-up class
    suggested; in `s`, or in a new "confident" session when `s` is another dataset's or annotator's."""
    if s is None or s.dataset != dataset or s.annotator != annotator:
        s = open_session(store, dataset, annotator, "confident", suggester=suggester)
    s.suggest = True
    return queue_next(store, s, image_ids, rejected=rejected)


def previous(store: Store, s: LabelSession) -> LabelSession:
    """Back to the image shown before this one (to check or change its label)."""
    if s.cursor > 0:
        s.cursor -= 1
        s.message = ""
    else:
        s.message = "This is the first image of the session."
    _show_existing(store, s)
    return s


def undo(store: Store, s: LabelSession, suggester: Suggester | None = None) -> LabelSession:
    """Take back the last label or tag change made in this session and show that image again."""
    if not s.done:
        s.message = "Nothing to undo in this session."
        return s
    kind, image_id, *what = s.done.pop()
    name = store.image(image_id)["name"]
    if kind == "label":
        store.remove_label(what[0])
        s.message = f"Undid the label of {name}."
        if suggester is not None:
            suggester.poke()
    else:
        tag, was_on = what
        if tag not in store.tags(s.dataset):
            s.message = f"Tag {tag!r} was removed from the dataset since; there is nothing to undo on {name}."
            return s
        store.set_image_tag(image_id, tag, s.annotator, was_on)
        s.message = f"Undid {'untagging' if was_on else 'tagging'} {name} {tag!r}."
    if image_id in s.trail:
        s.cursor = len(s.trail) - 1 - s.trail[::-1].index(image_id)
    return s


def toggle_tag(store: Store, s: LabelSession, tag: str | int) -> LabelSession:
    """Put a tag (by name, or by index: a tag button's) on the image on screen, or take it off (committed at
    once); the image stays."""
    if s.image_id is None:
        s.message = "No image on screen to tag."
        return s
    tags = store.tags(s.dataset)
    if isinstance(tag, int):
        tag = tags[tag] if 0 <= tag < len(tags) else str(tag)
    if tag not in tags:
        s.message = f"Unknown tag {tag!r}."
        return s
    on = tag not in store.tags_of(s.image_id, s.annotator)
    store.set_image_tag(s.image_id, tag, s.annotator, on)
    s.done.append(("tag", s.image_id, tag, not on))
    s.message = f"Tag {tag!r} {'on' if on else 'off'}."
    return s


def goto(store: Store, s: LabelSession, image_id: int) -> LabelSession:
    """Show a given image now (sent from another tab to fix its label); ← and → keep working around it."""
    img = store.image(image_id)
    if img["dataset"] != s.dataset:
        raise WorkbenchError(f"Image {image_id} belongs to {img['dataset']!r}, not {s.dataset!r}.")
    pos = min(s.cursor + 1, len(s.trail))
    s.trail.insert(pos, int(image_id))
    s.cursor = pos
    s.img = (int(image_id), img)
    s.message = f"Opened {img['name']} to check its label."
    return s


def open_image(store: Store, s: LabelSession | None, dataset: str, image_id: int, annotator: str) -> LabelSession:
    """Show one image sent from elsewhere (a disputed or misclassified one, to fix its label): in `s`, or in a
    new session of its dataset in the "all" order (as `s`'s annotator, else `annotator`)."""
    if s is None or s.dataset != dataset:
        s = open_session(store, dataset, s.annotator if s else annotator, "all")
    return goto(store, s, int(image_id))


def view(store: Store, s: LabelSession, suggester: Suggester | None = None,
         classes: list[str] | None = None) -> LabelView:
    """Everything the screen shows for this session, read fresh from the store; the suggestion is pinned.

    `classes`: the dataset's classes when the caller has them already.
    """
    classes = classes if classes is not None else store.classes(s.dataset)
    counts = store.label_counts(s.dataset, s.annotator)
    v = LabelView(dataset=s.dataset, annotator=s.annotator, image_id=s.image_id, classes=classes,
                  labelled=sum(counts.values()), total=store.count_images(s.dataset),
                  per_class={c: counts.get(c, 0) for c in classes}, message=s.message)
    if s.image_id is not None:
        img = _shown_image(store, s)
        if img is None:
            raise WorkbenchError(f"No image with id {s.image_id}.")
        v.name, v.path = img["name"], img["path"]
        v.label = store.current_label(s.image_id, s.annotator)
        v.tags = sorted(store.tags_of(s.image_id, s.annotator))
    if suggester is not None:
        v.suggest_status = suggester.status
        _pin_suggestion(s, suggester, v.label is None)
        if s.shown is not None and s.shown[0] == s.image_id:
            v.suggestion, v.confidence = s.shown[1], s.shown[2]
        elif s.unsure is not None and s.unsure == s.image_id:
            why = unsure_text(s.floor, s.rejected.get(s.image_id))
            v.no_suggestion = f"No suggestion: {why}; type its class's key."
    return v


def suggester_status(s: LabelSession | None, suggester: Suggester | None) -> str:
    """The suggester's state for the session's annotator, and whether suggestions wait for the next image (the one
    on screen was shown before any existed, and its suggestion is fixed when shown)."""
    if s is None or suggester is None:
        return ""
    later = s.image_id is not None and s.shown is None and s.unsure is None and suggester.latest() is not None
    return suggester.status + (" · they show from the next image" if later else "")


def unsure_text(floor: float, rejected: str | None = None) -> str:
    """Why an image has no suggestion although suggestions are on; `rejected`: the class of the verify page it was
    left out of (the page showed it as that class, often 100% sure: say that this class is set aside)."""
    if rejected is not None:
        return (f"you left it out of the {rejected!r} page, and the model is less than {floor:.0%} sure of any other "
                "class (the suggestion floor)")
    return f"the model is less than {floor:.0%} sure of this image (the suggestion floor)"


def _pin_suggestion(s: LabelSession, suggester: Suggester, unlabeled: bool) -> None:
    """The suggestion for the image on screen, fixed the first time one exists (unlabeled images only); one under
    the floor is not offered, and that is fixed too (a retrain does not put a suggestion under a waiting key)."""
    if s.image_id is None or not unlabeled:
        s.shown = s.unsure = None
        return
    if s.shown is not None and s.shown[0] == s.image_id or s.unsure == s.image_id:
        return
    snap = suggester.latest()
    got = snap.of(s.image_id, exclude=s.rejected.get(s.image_id)) if snap else None
    s.floor = snap.floor if snap else s.floor
    offered = got is not None and snap.offers(got[1])
    s.shown = (s.image_id, *got) if offered else None
    s.unsure = s.image_id if got is not None and not offered else None


# -- moving through the queue ----------------------------------------------------------------
def _advance(store: Store, s: LabelSession, suggester: Suggester | None = None) -> None:
    """Forward in the trail if the annotator went back; otherwise take the next image of the queue."""
    if s.cursor < len(s.trail) - 1:
        s.cursor += 1
        _show_existing(store, s)
        return
    if suggester is not None and s.order in SUGGESTED_ORDERS:
        _rerank(store, s, suggester)
    _advance_queue(store, s)


def _rerank(store: Store, s: LabelSession, suggester: Suggester) -> None:
    """A newer snapshot re-ranks the images not yet shown; left-out images keep their place in front."""
    snap = suggester.latest()
    if snap is None or snap.version == s.version:
        return
    rest = set(s.queue[s.qpos:])
    first = [i for i in s.queue[s.qpos:] if i in s.rejected]
    shown = set(s.trail) | set(first)
    ranked = build_queue(store, s.dataset, s.annotator, s.order, s.only, s.seed, snap)
    s.queue[s.qpos:] = first + [i for i in ranked if i in rest and i not in shown]
    s.version = snap.version


def _advance_queue(store: Store, s: LabelSession) -> None:
    missing = []
    while s.qpos < len(s.queue):
        image_id = s.queue[s.qpos]
        s.qpos += 1
        # labelled meanwhile (another tab of the same annotator): not shown again
        if s.order in UNLABELED_ORDERS and store.current_label(image_id, s.annotator) is not None:
            continue
        img = _image_or_none(store, image_id)
        if img is None or not Path(img["path"]).is_file():
            missing.append(img["name"] if img else str(image_id))
            continue
        s.trail.append(image_id)
        s.cursor = len(s.trail) - 1
        s.img = (image_id, img)
        break
    else:
        s.cursor = len(s.trail)
        s.message = (s.message + " " if s.message else "") + "End of the queue." + (
            " " + empty_queue_message(store, s.dataset, s.annotator, s.order) if s.order in UNLABELED_ORDERS else "")
    if missing:
        s.message = (s.message + " " if s.message else "") + (
            f"Skipped {len(missing)} image(s) missing on disk: {', '.join(missing[:5])}.")


def _show_existing(store: Store, s: LabelSession) -> None:
    """An image from the trail may have been deleted since; say so rather than fail."""
    if s.image_id is not None:
        img = _shown_image(store, s)
        if img is None or not Path(img["path"]).is_file():
            s.message = "This image is missing on disk; labelling it is refused."


def _shown_image(store: Store, s: LabelSession) -> dict | None:
    """The store row of the image on screen: read once when it came on screen (None: gone from the store)."""
    if s.image_id is None:
        return None
    if s.img is None or s.img[0] != s.image_id:
        img = _image_or_none(store, s.image_id)
        s.img = (s.image_id, img) if img is not None else None
        return img
    return s.img[1]


def _image_or_none(store: Store, image_id: int) -> dict | None:
    try:
        return store.image(image_id)
    except WorkbenchError:
        return None


# -- actions by name ---------------------------------------------------------------------------
def parse_action(text: str) -> tuple[str, str | None]:
    """An API client's action string as (action, target): "label:<class>", "tag:<tag>", "accept" (Enter),
    "skip" (or "next"), "prev", "undo"; anything else is a key ("0".."9" label, others do nothing)."""
    for prefix in ("label:", "tag:"):
        if text.startswith(prefix):
            return prefix[:-1], text[len(prefix):]
    if text in ("skip", "next"):
        return "skip", None
    return (text, None) if text in ("prev", "undo", "accept") else ("key", text)


def do(store: Store, s: LabelSession, action: str, target: str | int | None = None,
       suggester: Suggester | None = None, classes: list[str] | None = None) -> LabelSession:
    """One user action: "label" (target: class name or index), "key" (a digit key), "tag" (tag name or index),
    "accept", "skip", "prev" or "undo"; anything else does nothing."""
    if action == "label":
        return label(store, s, target, classes, suggester)
    if action == "key":
        return label_key(store, s, str(target), suggester, classes)
    if action == "tag":
        return toggle_tag(store, s, target)
    if action == "accept":
        return accept(store, s, suggester, classes)
    if action == "skip":
        return skip(store, s, suggester)
    if action == "prev":
        return previous(store, s)
    return undo(store, s, suggester) if action == "undo" else s


def apply_action(store: Store, s: LabelSession, action: str, suggester: Suggester | None = None) -> LabelSession:
    """One user action by name (see parse_action): what API clients send."""
    return do(store, s, *parse_action(action), suggester)


def step(store: Store, s: LabelSession, action: str, target: str | int | None = None,
         suggester: Suggester | None = None) -> LabelView:
    """One user action (see `do`), then the screen after it: what a keypress costs, the dataset's classes read
    once for both. A refused action leaves its reason as the message."""
    classes = store.classes(s.dataset)
    try:
        do(store, s, action, target, suggester, classes)
    except WorkbenchError as e:
        s.message = str(e)
    return view(store, s, suggester, classes)
