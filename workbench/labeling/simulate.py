"""A simulated annotator who knows the true classes and drives the labelling core exactly as the keys do.

Typed keys, Enter on a suggestion, page toggles and page accepts each count as one action. It waits for
each background retrain to finish before its next decision (a person spends longer than a refresh on a page).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workbench.labeling.grid import accept_page, verify_page
from workbench.labeling.session import LabelSession, apply_action, open_session, queue_next, view
from workbench.labeling.suggest import PAGE_SIZE, RETRAIN_EVERY, Suggester
from workbench.store import Store


@dataclass
class SimResult:
    strategy: str
    images: int
    actions: int = 0
    typed: int = 0
    accepted: int = 0
    pages: int = 0
    toggles: int = 0
    accepted_wrong: int = 0     # accepted suggestions or page labels that were wrong (0 unless it misses some)
    refresh_s: list[float] = field(default_factory=list)
    agreement: float = 0.0

    @property
    def actions_per_image(self) -> float:
        return self.actions / max(self.images, 1)


def simulate(store: Store, dataset: str, truth: dict[int, str], strategy: str = "pages", annotator: str = "sim",
             uncertain: int = 0, page_size: int = PAGE_SIZE, every: int = RETRAIN_EVERY, miss: float = 0.0,
             seed: int = 0, suggester: Suggester | None = None) -> SimResult:
    """Label every image of `dataset`: typed in random order until suggestions start, then `uncertain` images
    uncertain-first (Enter on a right suggestion, its key otherwise), then verify pages until none is left, then
    the images left (under the suggestion floor) one by one.

    `miss`: the chance it overlooks a wrong image on a page (automation bias); 0 is a careful annotator.
    """
    sugg = suggester or Suggester(store, dataset, annotator, every=every)
    r = SimResult(strategy, images=len(truth))
    rng = np.random.default_rng(seed)
    s = open_session(store, dataset, annotator, "random", seed=seed, suggester=sugg)
    while s.image_id is not None and _settled(sugg) is None:
        _one(store, s, sugg, truth, r, use_suggestion=False)
    if uncertain:
        s = open_session(store, dataset, annotator, "uncertain", seed=seed, suggester=sugg)
        for _ in range(uncertain):
            if s.image_id is None:
                break
            _one(store, s, sugg, truth, r, use_suggestion=True)
    _pages(store, dataset, annotator, sugg, truth, r, page_size, miss, rng)
    # the images no page took (the model under the suggestion floor for them): one by one, Enter when right
    s = open_session(store, dataset, annotator, "uncertain", seed=seed, suggester=sugg)
    while s.image_id is not None:
        _one(store, s, sugg, truth, r, use_suggestion=True)
    cur = store.latest_labels(dataset, annotator)
    r.agreement = float(np.mean([truth[int(i)] == lab for i, lab in zip(cur["image_id"], cur["label"])]))
    return r


def _settled(sugg: Suggester):
    sugg.wait()
    return sugg.latest()


def _one(store: Store, s: LabelSession, sugg: Suggester, truth: dict, r: SimResult, use_suggestion: bool) -> None:
    """One keypress on the image on screen: Enter when the suggestion shown is right, else the class's key."""
    _settled(sugg)
    shown = _shown(store, s, sugg)
    right = truth[s.image_id]
    if use_suggestion and shown == right:
        apply_action(store, s, "accept", sugg)
        r.accepted += 1
    else:
        apply_action(store, s, f"label:{right}", sugg)
        r.typed += 1
    r.actions += 1


def _shown(store: Store, s: LabelSession, sugg: Suggester) -> str | None:
    return view(store, s, sugg).suggestion


def _pages(store, dataset, annotator, sugg, truth, r: SimResult, size, miss, rng) -> None:
    """Verify pages until every image is labelled: toggle the wrong ones out, Enter, then label the left-outs."""
    fixer = LabelSession(dataset, annotator)
    while True:
        snap = _settled(sugg)
        if snap is not None and snap.version > len(r.refresh_s):
            r.refresh_s.extend([snap.seconds] * (snap.version - len(r.refresh_s)))
        page = verify_page(store, dataset, annotator, 0, size, snap)
        if page.suggested is None or page.items.empty:
            return
        ids = page.items["image_id"].astype(int).tolist()
        wrong = [i for i in ids if truth[i] != page.suggested and rng.random() >= miss]
        r.accepted_wrong += sum(truth[i] != page.suggested for i in ids) - len(wrong)
        accept_page(store, dataset, annotator, page.suggested, list(zip(ids, page.items["confidence"])), wrong)
        r.pages += 1
        r.toggles += len(wrong)
        r.actions += 1 + len(wrong)
        sugg.poke(len(ids) - len(wrong))
        queue_next(store, fixer, wrong, rejected=page.suggested)
        for _ in wrong:
            _one(store, fixer, sugg, truth, r, use_suggestion=True)
