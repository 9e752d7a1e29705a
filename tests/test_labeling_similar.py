"""The "similar" queue order: look-alike images adjacent, stable as labels come in, thumbnails cached."""

from __future__ import annotations

import os

import numpy as np

from workbench.data import thumbnails as T
from workbench.data.demo import faces_truth
from workbench.labeling import build_queue, grid_page


def _same_as_next(order, truth) -> float:
    labels = [truth[i] for i in order]
    return float(np.mean([a == b for a, b in zip(labels, labels[1:])]))


def test_similar_order_puts_faces_next_to_faces(faces):
    truth = dict(faces_truth(faces).items())
    order = build_queue(faces, "faces", "ann", "similar")
    assert sorted(order) == sorted(truth)
    shuffled = [list(truth)[k] for k in np.random.default_rng(0).permutation(len(truth))]
    # neighbours share the true class far more often than in a random order (~0.44 on this set)
    assert _same_as_next(order, truth) > 0.75 > _same_as_next(shuffled, truth) + 0.2


def test_digits_pages_hold_mostly_one_digit(digits):
    truth = digits.resolved_labels("digits")
    order = build_queue(digits, "digits", "ann", "similar")
    assert _same_as_next(order, truth) > 0.7  # ten classes: a random order gives ~0.1
    page = grid_page(digits, "digits", "ann", 0, 60, "similar")
    assert page.total == len(truth) and len(page.items) == 60


def test_labelled_images_leave_the_order_without_reshuffling_the_rest(faces):
    before = build_queue(faces, "faces", "ann", "similar")
    faces.add_labels("faces", [(i, "face") for i in before[:30:3]], "ann")
    after = build_queue(faces, "faces", "ann", "similar")
    assert after == [i for i in before if i not in set(before[:30:3])]


def test_thumbnails_come_from_the_cache_and_unreadable_files_still_get_a_place(faces, monkeypatch):
    first = build_queue(faces, "faces", "ann", "similar")
    with monkeypatch.context() as m:
        m.setattr(T, "load_image", lambda p: (_ for _ in ()).throw(AssertionError("decoded again")))
        assert build_queue(faces, "faces", "ann", "similar") == first
    (faces.home / "datasets" / "faces" / "thumbnails16.npz").unlink()
    os.remove(faces.images("faces").path.iloc[5])  # gone from disk since import
    assert sorted(build_queue(faces, "faces", "ann", "similar")) == sorted(first)


def _images_until_every_class_has(order, truth, need: int) -> int:
    counts: dict = {}
    for n, i in enumerate(order, 1):
        counts[truth[i]] = counts.get(truth[i], 0) + 1
        if len(counts) == truth.nunique() and min(counts.values()) >= need:
            return n
    return len(order) + 1


def test_representatives_first_give_every_class_its_first_labels_sooner_than_random(digits):
    truth = digits.resolved_labels("digits")
    for seed in range(3):
        reps = build_queue(digits, "digits", "ann", "representative", seed=seed)
        rand = build_queue(digits, "digits", "ann", "random", seed=seed)
        assert sorted(reps) == sorted(truth.index)
        assert _images_until_every_class_has(reps, truth, 1) <= 60     # the first round (60 clusters) reaches all ten
        assert _images_until_every_class_has(reps, truth, 5) < _images_until_every_class_has(rand, truth, 5)
    digits.add_label(int(reps[0]), truth[reps[0]], "ann")
    assert build_queue(digits, "digits", "ann", "representative", seed=2) == reps[1:]   # unlabelled ones only
