"""The modelled cost of labelling boxes (labeling.box_cost), checked against hand-counted cases."""

from __future__ import annotations

import pytest

from workbench.labeling.box_cost import KEY, CostModel, cheapest_floor, image_cost, match, summarize

M = CostModel()
FACE = {"label": "face", "x": 10, "y": 10, "w": 100, "h": 100}
EYE = {"label": "eye", "x": 300, "y": 40, "w": 30, "h": 20}


def test_no_suggestions_costs_the_same_as_drawing_every_box():
    c = image_cost([FACE, EYE], [])
    assert c.suggested == c.draw_all == pytest.approx(2 * (7.0 + KEY) + 1.63)


def test_hand_counted_image_with_a_good_a_wrong_class_a_false_and_a_missed_box():
    good = {**FACE, "x": 12}  # IoU 0.96 with the face
    wrong_class = {**EYE, "label": "face"}
    false = {"label": "face", "x": 500, "y": 500, "w": 40, "h": 40}
    truth = [FACE, EYE, {"label": "eye", "x": 200, "y": 200, "w": 20, "h": 20}]  # the last one nobody suggests
    c = image_cost(truth, [false, good, wrong_class])
    assert (c.accepted, c.reclassed, c.rejected, c.drawn) == (1, 1, 1, 1)
    # 3 looked at (1.35 each), Enter (0.28) then the false one deleted (point 1.1 + key 0.28; cheaper than clicking
    # the 2 kept ones), the wrong class fixed (1.38), 1 drawn (7 + 0.28), done 1.63
    assert c.suggested == pytest.approx(3 * 1.35 + 0.28 + 1.38 + 1.38 + 7.28 + 1.63)
    assert c.draw_all == pytest.approx(3 * 7.28 + 1.63)
    # the earlier count: 3 verified (1.63 each), 2 fixed, 1 drawn, done
    old = image_cost(truth, [false, good, wrong_class], CostModel(key_per_box=True))
    assert old.suggested == pytest.approx(3 * 1.63 + 2 * 1.38 + 7.28 + 1.63)


def test_false_suggestions_are_left_unrecorded_when_clicking_the_good_ones_is_cheaper():
    false = [{"label": "face", "x": 400 + 50 * k, "y": 500, "w": 40, "h": 40} for k in range(3)]
    c = image_cost([FACE], [FACE, *false])
    assert c.rejected == 3 and c.suggested == pytest.approx(4 * 1.35 + 1.38 + 1.63)  # one click, not 3 deletes
    nothing_fits = image_cost([FACE], false)
    assert nothing_fits.suggested == pytest.approx(3 * 1.35 + 7.28 + 1.63)  # looked at, nothing pressed, drawn
    copied = image_cost([FACE], [FACE, *false], CostModel(click_one=False))  # c copies all: 3 deletes
    assert copied.suggested == pytest.approx(4 * 1.35 + 0.28 + 3 * 1.38 + 1.63)


def test_a_loose_suggestion_is_deleted_and_the_box_drawn():
    loose = {**FACE, "w": 150, "h": 150}  # IoU 0.44 < 0.7
    c = image_cost([FACE], [loose])
    assert (c.accepted, c.rejected, c.drawn) == (0, 1, 1)
    assert c.suggested > c.draw_all  # a bad suggester costs more than none


def test_matching_is_one_to_one_best_first():
    twin = {**FACE, "x": 11}
    assert match([FACE], [twin, FACE], 0.5) == [(0, 1)]


def test_summary_ratio_and_its_interval():
    costs = [image_cost([FACE], [FACE]), image_cost([FACE, EYE], []), image_cost([EYE], [EYE])]
    s = summarize(costs, boxes=4)
    assert s.ratio == pytest.approx(sum(c.suggested for c in costs) / sum(c.draw_all for c in costs))
    assert s.low <= s.ratio <= s.high and s.accepted == 2 and s.drawn == 2


def test_the_cheapest_floor_drops_the_low_scored_false_boxes_and_keeps_the_good_ones():
    good = {**FACE, "confidence": 0.8}
    false = {"label": "eye", "x": 500, "y": 500, "w": 40, "h": 40, "confidence": 0.3}
    truth = {1: [FACE], 2: [FACE, EYE]}
    offered = {1: [good, false], 2: [good, {**EYE, "confidence": 0.6}]}
    floor, ratio = cheapest_floor(truth, offered, floors=(0.05, 0.35, 0.65, 0.9))
    assert floor == 0.35  # 0.05 keeps the false box; 0.65 loses the eye; 0.9 every box
    spent = image_cost([FACE], [good]).suggested + image_cost([FACE, EYE], offered[2]).suggested
    assert ratio == pytest.approx(spent / (image_cost([FACE], []).draw_all + image_cost([FACE, EYE], []).draw_all))
