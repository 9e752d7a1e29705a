"""The modelled cost of labelling boxes, with and without suggested boxes: a simulated annotator who knows the true
boxes works through each image as the Boxes mode lets them.

Times (field notes): drawing a box ≈ 7 s (extreme clicking, Papadopoulos et al. 2017); Keystroke-Level Model
operators: mental M 1.35 s, key or click K 0.28 s, pointing P 1.1 s. Per image, with suggestions:
  - every suggested box is looked at and judged: M each;
  - those on a true box (IoU >= accept_iou) are recorded, as the Boxes mode allows, the cheaper way: Enter accepts
    every suggestion shown (K), then each false one is deleted (P + K); or each kept one is clicked (P + K) and the
    false ones, never recorded, are left. With none to keep, nothing is pressed;
  - a kept one of the wrong class is selected and given its class key: P + K;
  - each true box no suggestion matches is drawn: draw (and given its class by key: K);
  - then the image is recorded as done (n): M + K, as in drawing every box.
Drawing every box costs (draw + K) per true box plus M + K per image. Everything the annotator does is counted.
`CostModel(key_per_box=True)` is the earlier, dearer count: a key per suggestion (M + K ≈ 1.6 s to verify one) and a
delete for every false one.

A detector's suggestions depend on the score floor they are shown at; `cheapest_floor` picks the floor that costs
least on given images (a run's val split: choosing it on the images the ratio is reported on would flatter it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from workbench.labeling.boxes import iou
from workbench.labeling.klm import KEY, MENTAL, POINT


@dataclass(frozen=True)
class CostModel:
    """Seconds per action, and how well a suggestion must fit a true box to be accepted as it is."""

    draw: float = 7.0
    look: float = MENTAL  # judging one suggested box
    accept: float = KEY  # Enter: every suggested box shown accepted at once
    fix: float = POINT + KEY  # select a box and press a key (a class key, or Delete); or click one suggestion
    done: float = MENTAL + KEY  # deciding the image is finished and pressing n
    accept_iou: float = 0.7
    key_per_box: bool = False  # the earlier count: a key per suggestion, a delete per false one
    click_one: bool = True  # a suggestion can be accepted alone by clicking it (copied boxes cannot: c copies all)

    def recording(self, kept: int, false: int) -> float:
        """Seconds to record the `kept` suggestions that sit on true boxes and none of the `false` ones (the
        cheaper of Enter then deleting the false ones, and clicking each kept one)."""
        if self.key_per_box:
            return (kept + false) * self.accept + false * self.fix
        if not kept:
            return 0.0
        all_then_delete = self.accept + false * self.fix
        return min(all_then_delete, kept * self.fix) if self.click_one else all_then_delete


FLOORS = tuple(round(0.05 * k, 2) for k in range(1, 20))  # score floors tried: 0.05 .. 0.95


@dataclass
class ImageCost:
    """One image's modelled seconds both ways, and what the annotator did with the suggestions."""

    draw_all: float
    suggested: float
    accepted: int = 0
    reclassed: int = 0
    rejected: int = 0
    drawn: int = 0


def match(truth: list[dict], suggested: list[dict], min_iou: float) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs (truth index, suggestion index) by IoU, best first, at least min_iou."""
    pairs = sorted(((iou(t, s), i, j) for i, t in enumerate(truth) for j, s in enumerate(suggested)), reverse=True)
    used_t, used_s, out = set(), set(), []
    for overlap, i, j in pairs:
        if overlap < min_iou:
            break
        if i not in used_t and j not in used_s:
            used_t.add(i)
            used_s.add(j)
            out.append((i, j))
    return out


def image_cost(truth: list[dict], suggested: list[dict], model: CostModel = CostModel()) -> ImageCost:
    """The seconds one image costs with these suggestions (boxes as dicts with label, x, y, w, h)."""
    pairs = match(truth, suggested, model.accept_iou)
    same = sum(truth[i]["label"] == suggested[j]["label"] for i, j in pairs)
    other = len(pairs) - same
    rejected = len(suggested) - len(pairs)
    drawn = len(truth) - len(pairs)
    cost = (len(suggested) * model.look + model.recording(len(pairs), rejected) + other * model.fix
            + drawn * (model.draw + KEY) + model.done)
    return ImageCost(draw_all=len(truth) * (model.draw + KEY) + model.done, suggested=cost, accepted=same,
                     reclassed=other, rejected=rejected, drawn=drawn)


@dataclass
class CostSummary:
    """A set's modelled cost with suggestions as a fraction of drawing every box, with a 95% bootstrap interval
    over images (paired: both costs of each image resampled together)."""

    images: int
    boxes: int
    draw_all_s: float
    suggested_s: float
    ratio: float
    low: float
    high: float
    accepted: int
    reclassed: int
    rejected: int
    drawn: int


def summarize(costs: list[ImageCost], boxes: int, seed: int = 0) -> CostSummary:
    """Totals over images, the ratio suggested / draw-all and its 95% paired bootstrap interval."""
    a = np.array([c.suggested for c in costs], dtype=float)
    b = np.array([c.draw_all for c in costs], dtype=float)
    ratio = float(a.sum() / b.sum())
    if len(costs) > 1 and np.ptp(a / b) > 0:
        ci = stats.bootstrap((a, b), lambda x, y: x.sum() / y.sum(), paired=True, vectorized=False,
                             n_resamples=2000, random_state=seed, method="percentile").confidence_interval
        low, high = float(ci.low), float(ci.high)
    else:
        low = high = ratio
    return CostSummary(images=len(costs), boxes=boxes, draw_all_s=float(b.sum()), suggested_s=float(a.sum()),
                       ratio=ratio, low=low, high=high, accepted=sum(c.accepted for c in costs),
                       reclassed=sum(c.reclassed for c in costs), rejected=sum(c.rejected for c in costs),
                       drawn=sum(c.drawn for c in costs))


def above(boxes: list[dict], floor: float) -> list[dict]:
    """The suggestions with confidence at least `floor` (one without a confidence, a cascade's, stays)."""
    return [b for b in boxes if b.get("confidence") is None or b["confidence"] >= floor]


def cheapest_floor(truth: dict[int, list[dict]], offered: dict[int, list[dict]], model: CostModel = CostModel(),
                   floors: tuple[float, ...] = FLOORS) -> tuple[float, float]:
    """(the score floor of `floors` at which the suggestions `offered` cost least on the images of `truth`, that
    cost as a fraction of drawing every box); the lowest such floor on a tie. An image not offered gets none."""
    if not truth:
        raise ValueError("cheapest_floor needs images with true boxes to choose on.")
    draw_all = sum(image_cost(t, [], model).draw_all for t in truth.values())
    costs = [sum(image_cost(t, above(offered.get(i, []), f), model).suggested for i, t in truth.items())
             for f in floors]
    best = int(np.argmin(costs))
    return floors[best], costs[best] / draw_all
