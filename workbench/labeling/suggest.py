"""Label suggestions: a linear head on cached backbone features, retrained in the background as labels come in.

Once every class has MIN_PER_CLASS labels from an annotator, a head trained on those labels predicts every
image; it retrains in a background thread after every RETRAIN_EVERY new labels. Snapshots (`Suggestions`)
are immutable: a session reads the newest one and never waits for a retrain. On a big set a small CNN on the
images' grey crops (labeling.crop_cnn) is averaged with the head wherever a k-fold check on the labels says it helps.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from workbench.errors import WorkbenchError
from workbench.labeling.background import (EXITING, PROCESS_MIN, Activity, Stopped, Worker, lower_thread_priority,
                                           yield_threads)
from workbench.labeling.features import Features, Progress, dataset_features, no_progress
from workbench.lazy import lazy_import
from workbench.store import Store

# the head is fitted in the background once labels come in: torch is imported then, not when the app opens its pool
torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")
spreading_ = lazy_import("workbench.labeling.spreading")   # scikit-learn, likewise
crop_cnn = lazy_import("workbench.labeling.crop_cnn")       # torch, likewise

MIN_PER_CLASS = 5
RETRAIN_EVERY = 10
WEIGHT_DECAY = 1e-5   # swept 1e-5..1e-1 on faces (10-60 labels) and MNIST-5000 (50-3,000): best or tied at each
PAGE_SIZE = 50        # images per verify page
# Suggestions less sure than this are never offered (not shown, not on a verify page, Enter accepts nothing): the
# model must think its class more likely right than wrong. `workbench app --suggestion-floor` sets another.
SUGGESTION_FLOOR = 0.5
# label spreading averaged with the head (labeling.spreading): measured and left off. On digits it cost 0.572x one
# key per image against 0.520x without (bench/label_efficiency.py, strategy "spreading"); with 5 and 20 labels a
# class the combined suggestions were right on 63.8% and 81.5% of the set against the head's 65.7% and 82.7%
SPREADING = False
# the small CNN on the grey crops (labeling.crop_cnn), averaged with the head where a k-fold check on the labels says
# it helps: checked from CNN_MIN labels on (fewer overfit it), again each time the labels grew CNN_RECHECK-fold
CNN_MIN = 100
CNN_RECHECK = 1.5
CHECK_STEPS = 300   # each fold's CNN in the check (a first fit takes crop_cnn.STEPS)


@dataclass(frozen=True)
class Fitted:
    """What a retrain leaves for the next one to start from: the head, the CNN's weights and its last check."""

    head: torch.nn.Linear
    cnn: dict | None = None     # CropNet weights while the CNN is kept
    cnn_kept: bool = False      # the last check's verdict
    checked_at: int = 0         # labels at the last check (0: never checked)


@dataclass(frozen=True)
class Suggestions:
    """One head's predictions for every image of the dataset (read-only snapshot)."""

    version: int
    classes: tuple[str, ...]
    image_ids: np.ndarray
    probs: np.ndarray          # (N, C)
    trained_on: int
    seconds: float             # time the refresh took (fit + predict)
    floor: float = SUGGESTION_FLOOR  # suggestions less sure than this are not offered

    def of(self, image_id: int, exclude: str | None = None) -> tuple[str, float] | None:
        """(class, confidence) the model finds likeliest for one image, `exclude` (a class the annotator rejected)
        aside; offered as a suggestion only when its confidence reaches `floor` (see `offers`)."""
        row = self._index().get(int(image_id))
        if row is None:
            return None
        p = self.probs[row].copy()
        if exclude in self.classes:
            p[self.classes.index(exclude)] = -1.0
        k = int(p.argmax())
        return self.classes[k], float(self.probs[row, k])

    def offers(self, confidence: float) -> bool:
        """Whether a suggestion this sure is offered (shown, accepted by Enter, put on a verify page)."""
        return confidence >= self.floor

    def _index(self) -> dict[int, int]:
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = {int(i): k for k, i in enumerate(self.image_ids)}
            object.__setattr__(self, "_idx", idx)
        return idx

    def rows(self, image_ids) -> tuple[np.ndarray, np.ndarray]:
        """(ids known to this snapshot, their rows); unknown ids are dropped."""
        idx = self._index()
        known = np.array([int(i) for i in image_ids if int(i) in idx], dtype=np.int64)
        return known, np.array([idx[int(i)] for i in known], dtype=np.int64)


def fit_head(x: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0,
             start: torch.nn.Linear | None = None) -> torch.nn.Linear:
    """Multinomial logistic regression (weight-decayed) fitted by full-batch L-BFGS; `start` warm-starts it
    (a retrain after a few more labels then converges in a few steps)."""
    torch.manual_seed(seed)
    X, Y = torch.from_numpy(np.array(x, np.float32)), torch.from_numpy(np.array(y, np.int64))
    head = torch.nn.Linear(X.shape[1], n_classes)
    if start is not None and start.weight.shape == head.weight.shape:
        head.load_state_dict(start.state_dict())
    opt = torch.optim.LBFGS(head.parameters(), lr=1, max_iter=100, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(head(X), Y) + WEIGHT_DECAY * head.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return head


def predict(head: torch.nn.Linear, x: np.ndarray) -> np.ndarray:
    """(N, C) class probabilities of the head on features `x`."""
    with torch.no_grad():
        return head(torch.from_numpy(np.array(x, np.float32))).softmax(1).numpy()


def _folds(n: int, folds: int) -> np.ndarray:
    return np.random.default_rng(0).permutation(n) % folds


def pixels_help(x: np.ndarray, rows: np.ndarray, y: np.ndarray, n_classes: int, split: int, folds: int = 3) -> bool:
    """Whether heads on all columns of `x` beat heads on its first `split` (the embedding alone), by `folds`-fold
    accuracy on the labelled rows (ties keep all)."""
    fold = _folds(len(rows), folds)
    right = {}
    for cols in (slice(None), slice(0, split)):
        right[cols.stop] = sum(int((predict(fit_head(x[rows[fold != k]][:, cols], y[fold != k], n_classes),
                                            x[rows[fold == k]][:, cols]).argmax(1) == y[fold == k]).sum())
                               for k in range(folds))
    return right[None] >= right[split]


def cnn_helps(x: np.ndarray, crops: np.ndarray, rows: np.ndarray, y: np.ndarray, n_classes: int,
              folds: int = 3) -> bool:
    """Whether the head's probabilities averaged with a CropNet's beat the head's alone, by `folds`-fold accuracy on
    the labelled rows (a tie leaves the CNN out: it costs time)."""
    fold, alone, both = _folds(len(rows), folds), 0, 0
    for k in range(folds):
        fit, held = rows[fold != k], rows[fold == k]
        p = predict(fit_head(x[fit], y[fold != k], n_classes), x[held])
        q = crop_cnn.cnn_predict(crop_cnn.fit_cnn(crops, fit, y[fold != k], n_classes, steps=CHECK_STEPS),
                                 crops[held], n_classes)
        alone += int((p.argmax(1) == y[fold == k]).sum())
        both += int(((p + q).argmax(1) == y[fold == k]).sum())
    return both > alone


def fit_predict(x: np.ndarray, rows: np.ndarray, y: np.ndarray, n_classes: int,
                start: Fitted | None = None, spreading: bool = False, split: int | None = None,
                crops: np.ndarray | None = None, progress: Progress = no_progress) -> tuple[np.ndarray, Fitted]:
    """One retrain: the head fitted on the labelled rows of `x` (warm-started from `start`), and its
    probabilities for every row (`spreading`: averaged with labels spread over the kNN graph). `split`: the
    columns from there on (the thumbnails') are used only where they help (`pixels_help`). `crops`: a CNN on
    them is averaged in where it helps (`cnn_helps`, checked as the labels grow)."""
    if split is not None and split < x.shape[1] and not pixels_help(x, rows, y, n_classes, split):
        x = x[:, :split]
    head = fit_head(x[rows], y, n_classes, start=start.head if start is not None else None)
    probs = predict(head, x)
    fitted = replace(start, head=head) if start is not None else Fitted(head)
    if crops is not None and len(rows) >= CNN_MIN:
        if not fitted.checked_at or len(rows) >= CNN_RECHECK * fitted.checked_at:
            fitted = replace(fitted, cnn_kept=cnn_helps(x, crops, rows, y, n_classes), checked_at=len(rows))
        cnn = crop_cnn.fit_cnn(crops, rows, y, n_classes, start=fitted.cnn) if fitted.cnn_kept else None
        fitted = replace(fitted, cnn=cnn)
        if cnn is not None:
            probs = (probs + crop_cnn.cnn_predict(cnn, crops, n_classes)) / 2
    if spreading:
        probs = spreading_.combine(probs, spreading_.spread(x, rows, y, n_classes))
    return probs, fitted


def missing_labels(counts: dict[str, int], classes: list[str], need: int = MIN_PER_CLASS) -> dict[str, int]:
    """Labels each class still needs before suggestions start (empty when ready)."""
    return {c: need - counts.get(c, 0) for c in classes if counts.get(c, 0) < need}


# -- queue orders over a snapshot ---------------------------------------------------------------------
def uncertain_first(s: Suggestions, image_ids) -> list[int]:
    """Images by margin between the two most likely classes, smallest first (active learning)."""
    ids, rows = s.rows(image_ids)
    top2 = np.sort(s.probs[rows], axis=1)[:, -2:] if s.probs.shape[1] > 1 else np.ones((len(rows), 2))
    margin = top2[:, 1] - top2[:, 0]
    order = np.lexsort((ids, margin))
    return _then_unknown(ids[order].tolist(), image_ids)


def verify_pages(s: Suggestions, image_ids, size: int = PAGE_SIZE, floor: float | None = None,
                 most_wrong: float | None = None, least_sure_first: bool = False) -> list[tuple[str, list[int]]]:
    """Pages of images suggested as one class, most confident first: (class, ids) per page; images less sure than
    `floor` (default: the snapshot's) are on no page.

    Inside a class images go by confidence; pages of all classes are then ordered by their mean confidence,
    so the easiest pages come first whatever their class. `most_wrong`: a page also ends once the wrong
    thumbnails expected on it (the sum of 1 - confidence) reach this many, so pages are long where the model is
    sure and short where it is not (sized from the expected error rate); `size` stays the most a page holds.
    `least_sure_first`: each page shows its images least confident first, where the keyboard cursor starts.
    """
    ids, rows = s.rows(image_ids)
    p = s.probs[rows]
    best, conf = p.argmax(1), p.max(1)
    sure = conf >= (s.floor if floor is None else floor)
    ids, best, conf = ids[sure], best[sure], conf[sure]
    pages = []
    for k, cls in enumerate(s.classes):
        mine = np.flatnonzero(best == k)
        mine = mine[np.lexsort((ids[mine], -conf[mine]))]
        for start, stop in _page_bounds(1.0 - conf[mine], size, most_wrong):
            part = mine[start:stop][::-1] if least_sure_first else mine[start:stop]
            pages.append((float(conf[part].mean()), k, start, cls, ids[part].tolist()))
    pages.sort(key=lambda t: (-t[0], t[1], t[2]))
    return [(cls, page) for *_, cls, page in pages]


def _page_bounds(wrong: np.ndarray, size: int, most_wrong: float | None) -> list[tuple[int, int]]:
    """(start, stop) of consecutive pages over images whose chances of being wrong are `wrong`: at most `size`
    images each and, with `most_wrong`, ending at the first image that brings the expected wrong ones to it."""
    if most_wrong is None:
        return [(a, min(a + size, len(wrong))) for a in range(0, len(wrong), size)]
    bounds, start, expected = [], 0, 0.0
    for k, w in enumerate(wrong):
        expected += float(w)
        if k + 1 - start >= size or expected >= most_wrong:
            bounds.append((start, k + 1))
            start, expected = k + 1, 0.0
    return bounds + ([(start, len(wrong))] if start < len(wrong) else [])


def confident_first(s: Suggestions, image_ids, size: int = PAGE_SIZE) -> list[int]:
    """The verify pages one after another (one-image mode walks them in the same order), the images under the
    floor after them in the same way (shown without a suggestion)."""
    return _then_unknown([i for _, page in verify_pages(s, image_ids, size, floor=0.0) for i in page], image_ids)


def _then_unknown(ordered: list[int], image_ids) -> list[int]:
    """Images the snapshot does not know (imported since) go last, in file order."""
    seen = set(ordered)
    return ordered + [int(i) for i in image_ids if int(i) not in seen]


# -- the background worker ----------------------------------------------------------------------------
# Interpreter exit while a worker is inside torch (embedding a dataset) aborts the process ("terminate called
# without an active exception"): at exit, workers are told to stop between batches and are waited for.
_WORKERS: "weakref.WeakSet[Suggester]" = weakref.WeakSet()


@atexit.register
def _stop_workers(timeout: float = 30.0) -> None:
    EXITING.set()
    workers = list(_WORKERS)
    for w in workers:
        w._wake.set()
    for w in workers:
        if w._thread.is_alive():
            w._thread.join(timeout)


class Suggester:
    """Suggestions for one annotator on one dataset, kept fresh by a background thread.

    `poke()` after labels are written; it never blocks. The thread computes the dataset's features once
    (cached on disk), then retrains when RETRAIN_EVERY labels changed since the last fit.
    """

    def __init__(self, store: Store, dataset: str, annotator: str, every: int = RETRAIN_EVERY,
                 min_per_class: int = MIN_PER_CLASS, start: bool = True,
                 features: Callable[[str, Progress], Features] | None = None,
                 train_slot: threading.Semaphore | None = None, floor: float = SUGGESTION_FLOOR,
                 activity: Activity | None = None, worker: Worker | None = None, spreading: bool = SPREADING):
        """`features`, `train_slot`, `activity` and `worker` come from a SuggesterPool: the dataset's features
        computed once for all annotators, one retrain at a time in the app, background work on one thread
        while annotators are active, and a big set's retrains in a worker process. Suggestions less sure than
        `floor` are not offered; `spreading`: the head's probabilities averaged with label spreading's."""
        self.store, self.dataset, self.annotator = store, dataset, annotator
        self._features_of = features or (lambda ds, progress: dataset_features(store, ds, progress))
        self._slot = train_slot or threading.Semaphore(1)
        self.activity, self._worker = activity, worker
        self.every, self.min_per_class, self.floor = every, min_per_class, float(floor)
        self.spreading = spreading
        self.status = "suggestions: starting"
        self.error: str | None = None
        self._latest: Suggestions | None = None
        self._features: Features | None = None
        self._head: Fitted | None = None
        self._changes = 0
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"suggest-{dataset}-{annotator}", daemon=True)
        if start:
            _WORKERS.add(self)
            self._wake.set()
            self._thread.start()

    def latest(self) -> Suggestions | None:
        return self._latest

    def poke(self, changed: int = 1) -> None:
        """Labels were written (or undone): retrain once enough have changed. Returns at once."""
        with self._lock:
            self._changes += changed
            if self._changes >= self.every or self._latest is None:
                self._idle.clear()
                self._wake.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker has nothing left to do (tests and the bench; never the UI)."""
        return self._idle.wait(timeout)

    def refresh_now(self) -> Suggestions | None:
        """Train and publish in the calling thread (the bench times this)."""
        self._ensure_features()
        return self._train()

    def _run(self) -> None:
        lower_thread_priority()
        while True:
            self._wake.wait()
            if EXITING.is_set():
                return
            with self._lock:
                self._wake.clear()
            try:
                self._ensure_features()
                with self._slot:
                    self._train()
            except Stopped:
                return
            except Exception as e:  # a broken file or store must not kill suggestions for good: say so, go on
                self.error = self.status = f"suggestions stopped: {type(e).__name__}: {e}"
            with self._lock:
                if not self._wake.is_set():
                    self._idle.set()

    def _ensure_features(self) -> None:
        if self._features is None:
            def progress(frac: float, what: str) -> None:
                if EXITING.is_set():
                    raise Stopped
                if what:
                    self.status = f"suggestions: {what} ({frac:.0%})"
            self._features = self._features_of(self.dataset, progress)

    def _train(self) -> Suggestions | None:
        t0 = time.perf_counter()
        with self._lock:
            self._changes = 0
        classes = self.store.classes(self.dataset)
        cur = self.store.latest_labels(self.dataset, self.annotator)
        cur = cur[cur["image_id"].isin(self._features.image_ids)]
        todo = missing_labels(cur["label"].value_counts().to_dict(), classes, self.min_per_class)
        if not classes or todo:
            self.status = "suggestions start after " + ", ".join(f"{n} more {c}" for c, n in todo.items()) \
                if todo else "suggestions: add classes first"
            return None
        y = cur["label"].map({c: k for k, c in enumerate(classes)}).to_numpy()
        probs, self._head = self._fit(self._features.rows(cur["image_id"]), y, len(classes))
        version = (self._latest.version + 1) if self._latest else 1
        snap = Suggestions(version, tuple(classes), self._features.image_ids, probs, len(cur),
                           time.perf_counter() - t0, self.floor)
        self._latest = snap
        self.status = f"suggestions from {len(cur)} labels (refreshed in {snap.seconds:.1f} s)"
        return snap

    def _fit(self, rows: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, Fitted]:
        """A retrain: in the worker process for a big set, else here on the threads the activity allows."""
        f = self._features
        big = len(f.x) >= PROCESS_MIN
        # the CNN only for a big set: its retrains run in the worker process, where many small torch steps do not
        # hold up the server's threads, and a small set is labelled before the CNN's checks would pay for themselves
        args = (f.x, rows, y, n_classes, self._head, self.spreading, f.embedding_dims, f.crops if big else None)
        if self._worker is not None and big:
            return self._worker.call(fit_predict, *args)
        yield_threads(self.activity)
        return fit_predict(*args)


class SuggesterPool:
    """One Suggester per (dataset, annotator), made on first use (the UI keeps one pool per app).

    A team labelling one set at once shares its work: the dataset's features are computed once (16 annotators
    starting together once embedded the set 16 times over), and one retrain runs at a time. Background work
    yields to keypresses (workbench.labeling.background): the UI calls `activity.touch()` on every action; a big
    set is embedded and retrained in worker processes at the lowest priority.
    """

    def __init__(self, store: Store, floor: float = SUGGESTION_FLOOR):
        """`floor`: suggestions less sure than this are not offered (SUGGESTION_FLOOR)."""
        if not 0.0 <= floor <= 1.0:
            raise WorkbenchError(f"The suggestion floor is a confidence between 0 and 1, not {floor}.")
        self.store, self.floor = store, float(floor)
        self.activity = Activity()
        self._items: dict[tuple[str, str], Suggester] = {}
        self._lock = threading.Lock()
        self._features: dict[str, Features] = {}
        self._feature_locks: dict[str, threading.Lock] = {}
        self._train_slot = threading.Semaphore(1)
        self.embedder = Worker(self.activity)   # started for a big set's embedding, ended after it
        self.trainer = Worker(self.activity)    # started for a big set's first retrain, kept

    def get(self, dataset: str, annotator: str) -> Suggester:
        with self._lock:
            key = (dataset, annotator)
            if key not in self._items:
                self._items[key] = Suggester(self.store, dataset, annotator, features=self.features,
                                             train_slot=self._train_slot, floor=self.floor,
                                             activity=self.activity, worker=self.trainer)
            return self._items[key]

    def features(self, dataset: str, progress: Progress = no_progress) -> Features:
        """The dataset's features, computed by the first caller while the others wait; again after an import."""
        with self._lock:
            lock = self._feature_locks.setdefault(dataset, threading.Lock())
        with lock:
            have = self._features.get(dataset)
            n = self.store.count_images(dataset)
            if have is None or len(have.image_ids) != n:
                have = self._features[dataset] = self._compute(dataset, n >= PROCESS_MIN, progress)
            return have

    def _compute(self, dataset: str, big: bool, progress: Progress) -> Features:
        if not big:
            def yielding(frac: float, what: str) -> None:
                yield_threads(self.activity)
                progress(frac, what)
            return dataset_features(self.store, dataset, yielding)
        try:
            return dataset_features(self.store, dataset, progress, run=self.embedder.call)
        finally:
            self.embedder.close()   # the backbone's memory goes with it
