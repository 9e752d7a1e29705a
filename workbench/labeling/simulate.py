"""A simulated annotator who knows the true classes, drives the labelling core exactly as the keys do, and is
charged for it on a modelled clock.

Cost (CostModel): the Keystroke-Level Model (Card, Moran & Newell 1980: mental preparation M = 1.35 s, keystroke
K = 0.28 s, point P = 1.1 s, home the hand H = 0.4 s) plus an inspection time per thumbnail on a verify page
(0.3 s). One decision on one image (its class key, or Enter on the suggestion shown) is M + K = 1.63 s, and one
key per image is the baseline every figure is a ratio of. A verify page costs its thumbnails' inspection, M + K
for Enter, and for each wrong thumbnail M plus the moves and keys that fix it (see `CostModel.page`).

Timing (PacedSuggester): the annotator's clock advances by each action's cost, and retrains run beside it at
the app's pace: one starts when the app's worker would start one (RETRAIN_EVERY labels changed since the last
started, none running), reads the labels as they are then, and its suggestions are seen `retrain_s` modelled
seconds later. Every decision is made on the suggestions of the last retrain that has finished, as in the app.

Errors: with `miss`, a wrong suggestion is overlooked (Enter on it, or a wrong thumbnail left on its page) with
that chance (automation bias); keys typed are otherwise right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from workbench.labeling.background import Activity
from workbench.labeling.grid import accept_page, verify_page
from workbench.labeling.klm import HOME, KEY, MENTAL, POINT
from workbench.labeling.session import LabelSession, apply_action, open_session, queue_next, view
from workbench.labeling.suggest import PAGE_SIZE, RETRAIN_EVERY, Suggester, Suggestions
from workbench.store import Store

RETRAIN_S = 5.0   # modelled seconds a retrain takes (fit and predict); the bench prints the measured ones beside
MISS = 0.02       # chance of overlooking a wrong suggestion
FIXES = ("leave-out", "space", "cursor")
# where the modelled seconds go: labels typed before suggestions exist, thumbnails inspected on verify pages, Enter
# on each page, the wrong thumbnails fixed on pages, and images decided one at a time once suggestions exist
# (Enter or a key: uncertain-first, those left out of a page, those under the suggestion floor)
PARTS = ("first", "inspect", "enter", "fix", "single")


@dataclass(frozen=True)
class CostModel:
    """Modelled annotator seconds per action: KLM operators plus an inspection time per verify-page thumbnail."""

    mental: float = MENTAL
    key: float = KEY
    point: float = POINT
    home: float = HOME
    inspect: float = 0.3    # looking at one thumbnail of a verify page, stated (not measured)
    columns: int = 10       # thumbnails per row of a grid page (arrow-key distance)

    @property
    def one_key(self) -> float:
        """One decision on one image: M + K (a class key, or Enter on the suggestion shown)."""
        return self.mental + self.key

    def page(self, n: int, wrong: Sequence[int], fix: str = "leave-out") -> PageCost:
        """A verify page of `n` thumbnails whose positions `wrong` (0-based, reading order) the annotator fixes.

        "leave-out" (the mouse): click each wrong one (M + P + K; hand to the mouse and back, 2H), then Enter;
        the images left out are labelled one by one afterwards, at one decision each (charged there).
        "space" (the keyboard cursor, which starts on the first thumbnail): for each wrong one, in reading order,
        M, then arrow keys (one K per row or column) and Space (K), or a click (P + K; 2H once per page), whichever
        is quicker, leaves it out; it is labelled afterwards as with the mouse.
        "cursor": the same moves, then the image's class key (K) corrects it on the page (a click moves the cursor
        there first): nothing is left out.
        All end with M + K for Enter and include n inspections.
        """
        if fix not in FIXES:
            raise ValueError(f"fix must be one of {FIXES}, not {fix!r}")
        seconds, actions, moves, mouse = n * self.inspect + self.mental + self.key, 1, 0, False
        at = 0
        for pos in sorted(wrong):
            if fix == "leave-out":
                seconds += self.mental + self.point + self.key
                actions, mouse = actions + 1, True
                continue
            d = abs(pos // self.columns - at // self.columns) + abs(pos % self.columns - at % self.columns)
            clicks = 2 if fix == "cursor" else 1       # a click toggles it; "cursor" then types its class key
            by_keys, by_mouse = (d + 1) * self.key, self.point + clicks * self.key
            seconds += self.mental + min(by_keys, by_mouse)
            if by_keys <= by_mouse:
                actions, moves = actions + d + 1, moves + d
            else:
                actions, mouse = actions + clicks, True
            at = pos
        return PageCost(seconds + (2 * self.home if mouse else 0.0), actions, moves)


@dataclass(frozen=True)
class PageCost:
    seconds: float
    actions: int     # keys and clicks
    moves: int       # of which arrow keys


@dataclass(frozen=True)
class Event:
    """One thing the annotator did: when it saw the screen (modelled clock), what it did, the suggestions version
    on screen then (0: none yet) and the seconds it was charged."""

    t: float
    kind: str        # "key", "enter" or "page"
    version: int
    seconds: float


@dataclass(frozen=True)
class Policy:
    """How the simulated annotator works once it has seen enough; each idea can be switched on alone."""

    name: str = "verify pages"
    first: str = "random"         # queue order of the labels typed before suggestions exist
    uncertain: int = 0            # images labelled uncertain-first (one at a time) before the pages
    page_size: int = PAGE_SIZE
    fix: str = "leave-out"        # how a wrong thumbnail on a page is fixed (see CostModel.page)
    every: int = RETRAIN_EVERY
    spreading: bool = False       # suggestions averaged with label spreading (labeling.spreading)
    most_wrong: float | None = None  # pages sized from the expected error rate (suggest.verify_pages)
    least_sure_first: bool = False   # a page shows its least confident images first, where the cursor starts


# the strategies the bench compares, by name; each differs from "verify-pages" in one idea
STRATEGIES = {
    "verify-pages": Policy("verify pages"),
    "uncertain-first": Policy("uncertain-first 100, then verify pages", uncertain=100),
    "keys": Policy("verify pages worked with the keyboard cursor (Space leaves out)", fix="space"),
    "cursor": Policy("verify pages corrected with class keys at the cursor", fix="cursor"),
    "representatives": Policy("cluster representatives typed first, then verify pages", first="representative"),
    "spreading": Policy("verify pages, suggestions with label spreading", spreading=True),
    "pages-25": Policy("verify pages of 25", page_size=25),
    "pages-100": Policy("verify pages of 100", page_size=100),
    "cursor-representatives": Policy("representatives first, pages corrected with class keys",
                                     first="representative", fix="cursor"),
    "cursor-representatives-100": Policy("representatives first, pages of 100 corrected with class keys",
                                         first="representative", fix="cursor", page_size=100),
    "least-sure-first": Policy("representatives first, class keys, pages of 100 shown least sure first",
                               first="representative", fix="cursor", page_size=100, least_sure_first=True),
    "sized": Policy("representatives first, class keys, pages of up to 100 holding about 2 wrong ones",
                    first="representative", fix="cursor", page_size=100, most_wrong=2.0),
}


@dataclass(frozen=True)
class Retrain:
    """One retrain on the modelled clock: when it started and finished, the version it made, its measured time."""

    started: float
    finished: float
    version: int
    measured_s: float


@dataclass
class SimResult:
    strategy: str
    images: int
    cost: CostModel = field(default_factory=CostModel)
    actions: int = 0      # keys and clicks (arrow keys included)
    typed: int = 0        # class keys on one image
    accepted: int = 0     # Enter on a suggestion, one image
    pages: int = 0
    inspected: int = 0    # thumbnails on verify pages
    fixes: int = 0        # wrong thumbnails caught on a page
    moves: int = 0        # arrow keys on pages
    seconds: float = 0.0  # modelled annotator time
    parts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, 0.0))  # seconds by PARTS
    accepted_wrong: int = 0  # wrong suggestions overlooked (Enter on one, or left on an accepted page)
    right: float = 0.0    # final labels equal to the truth, fraction
    log: list[Event] = field(default_factory=list)
    retrains: list[Retrain] = field(default_factory=list)

    @property
    def refresh_s(self) -> list[float]:
        """Measured seconds of each retrain (fit + predict)."""
        return [t.measured_s for t in self.retrains]

    @property
    def actions_per_image(self) -> float:
        return self.actions / max(self.images, 1)

    @property
    def inspected_per_image(self) -> float:
        return self.inspected / max(self.images, 1)

    @property
    def seconds_per_image(self) -> float:
        return self.seconds / max(self.images, 1)

    @property
    def ratio(self) -> float:
        """Modelled seconds over those of one key per image (M + K per image)."""
        return self.seconds_per_image / self.cost.one_key


@dataclass
class Clock:
    """The simulated annotator's clock, in modelled seconds."""

    now: float = 0.0


class PacedSuggester(Suggester):
    """A Suggester whose retrains run on a modelled clock at the app's pace (see the module's docstring).

    The fit itself runs in the caller's thread when the retrain starts, on the labels of that moment; its
    snapshot is published `retrain_s` modelled seconds later (None: after its measured seconds).
    """

    def __init__(self, store: Store, dataset: str, annotator: str, clock: Clock, retrain_s: float | None = RETRAIN_S,
                 **kwargs):
        super().__init__(store, dataset, annotator, start=False, activity=_always_active(), **kwargs)
        self.clock, self.retrain_s = clock, retrain_s
        self._seen: Suggestions | None = None
        self._running: tuple[float, Suggestions] | None = None   # (finishes at, snapshot)
        self.retrains: list[Retrain] = []

    def latest(self) -> Suggestions | None:
        self._tick()
        return self._seen

    def poke(self, changed: int = 1) -> None:
        with self._lock:
            self._changes += changed
        self._tick()

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def _tick(self) -> None:
        now = self.clock.now
        if self._running is not None and now >= self._running[0]:
            self._seen, self._running = self._running[1], None
        if self._running is None and (self._changes >= self.every or self._latest is None):
            self._ensure_features()
            snap = self._train()
            if snap is not None:
                took = snap.seconds if self.retrain_s is None else self.retrain_s
                self._running = (now + took, snap)
                self.retrains.append(Retrain(now, now + took, snap.version, snap.seconds))


def _always_active() -> Activity:
    """The simulated annotator acts without pause, so retrains keep to one torch thread, as the app's do while an
    annotator is active (on a loaded machine two threads made each retrain 10-25 times slower)."""
    a = Activity()
    a.last.value = float("inf")
    return a


def simulate(store: Store, dataset: str, truth: dict[int, str], policy: Policy = Policy(), *,
             annotator: str = "sim", miss: float = MISS, seed: int = 0, cost: CostModel = CostModel(),
             retrain_s: float | None = RETRAIN_S, suggester: PacedSuggester | None = None) -> SimResult:
    """Label every image of `dataset`: typed in `policy.first` order until suggestions are seen, then
    `policy.uncertain` images uncertain-first, then verify pages until none is left, then the images no page took
    (under the suggestion floor) one by one; returns the cost."""
    clock = suggester.clock if suggester is not None else Clock()
    sugg = suggester or PacedSuggester(store, dataset, annotator, clock, retrain_s, every=policy.every,
                                       spreading=policy.spreading)
    r = SimResult(policy.name, images=len(truth), cost=cost)
    sim = _Annotator(store, dataset, annotator, truth, sugg, clock, r, np.random.default_rng(seed), miss)
    s = open_session(store, dataset, annotator, policy.first, seed=seed, suggester=sugg)
    while s.image_id is not None and sugg.latest() is None:
        sim.decide(s, use_suggestion=False)
    if policy.uncertain:
        s = open_session(store, dataset, annotator, "uncertain", seed=seed, suggester=sugg)
        for _ in range(policy.uncertain):
            if s.image_id is None:
                break
            sim.decide(s)
    sim.pages(policy)
    # the images no page took (the model under the suggestion floor for them): one by one, Enter when right
    s = open_session(store, dataset, annotator, "uncertain", seed=seed, suggester=sugg)
    while s.image_id is not None:
        sim.decide(s)
    cur = store.latest_labels(dataset, annotator)
    final = dict(zip(cur["image_id"].astype(int), cur["label"]))
    r.right = float(np.mean([final.get(int(i)) == cls for i, cls in truth.items()]))
    r.retrains = list(sugg.retrains)
    return r


@dataclass
class _Annotator:
    """The simulated person: looks at the screen the core renders, acts, and is charged on the clock."""

    store: Store
    dataset: str
    annotator: str
    truth: dict[int, str]
    sugg: PacedSuggester
    clock: Clock
    r: SimResult
    rng: np.random.Generator
    miss: float

    def spend(self, kind: str, version: int, actions: int, **parts: float) -> None:
        """Charge one action: its seconds by PARTS."""
        seconds = sum(parts.values())
        self.r.log.append(Event(self.clock.now, kind, version, seconds))
        self.clock.now += seconds
        self.r.seconds += seconds
        for part, t in parts.items():
            self.r.parts[part] += t
        self.r.actions += actions

    def decide(self, s: LabelSession, use_suggestion: bool = True) -> None:
        """One image on screen: Enter when the suggestion shown is right (or overlooked), else its class's key."""
        shown = view(self.store, s, self.sugg).suggestion if use_suggestion else None
        version = self._version()
        right = self.truth[s.image_id]
        enter = shown is not None and (shown == right or self.rng.random() < self.miss)
        part = "single" if use_suggestion else "first"
        self.spend("enter" if enter else "key", version, 1, **{part: self.r.cost.one_key})
        if enter:
            self.r.accepted += 1
            self.r.accepted_wrong += shown != right
            apply_action(self.store, s, "accept", self.sugg)
        else:
            self.r.typed += 1
            apply_action(self.store, s, f"label:{right}", self.sugg)

    def pages(self, policy: Policy) -> None:
        """Verify pages until every image is labelled: fix the wrong thumbnails seen, Enter, label the left-outs."""
        fixer = LabelSession(self.dataset, self.annotator, suggest=True)
        while True:
            snap = self.sugg.latest()
            if snap is None:  # suggestions never started (a class with too few images): all typed already
                return
            page = verify_page(self.store, self.dataset, self.annotator, 0, policy.page_size, snap, policy.most_wrong,
                               policy.least_sure_first)
            if page.suggested is None or page.items.empty:
                return
            ids = page.items["image_id"].astype(int).tolist()
            wrong = [k for k, i in enumerate(ids) if self.truth[i] != page.suggested]
            seen = [k for k in wrong if self.rng.random() >= self.miss]
            paid = self.r.cost.page(len(ids), seen, policy.fix)
            looked, enter = len(ids) * self.r.cost.inspect, self.r.cost.mental + self.r.cost.key
            self.spend("page", snap.version, paid.actions, inspect=looked, enter=enter,
                       fix=max(paid.seconds - looked - enter, 0.0))
            self.r.pages += 1
            self.r.inspected += len(ids)
            self.r.fixes += len(seen)
            self.r.moves += paid.moves
            self.r.accepted_wrong += len(wrong) - len(seen)
            out = [ids[k] for k in seen]
            corrected = {i: self.truth[i] for i in out} if policy.fix == "cursor" else None
            n = accept_page(self.store, self.dataset, self.annotator, page.suggested,
                            list(zip(ids, page.items["confidence"])), out, corrected)
            self.sugg.poke(n)
            if corrected is None:
                queue_next(self.store, fixer, out, rejected=page.suggested)
                for _ in out:
                    self.decide(fixer)

    def _version(self) -> int:
        snap = self.sugg.latest()
        return snap.version if snap is not None else 0
