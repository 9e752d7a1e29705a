"""Error galleries, per-category error rates, run comparison and label-error ranking on synthetic predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.errors import WorkbenchError
from workbench.review import (categories, category_table, compare_by_category, compare_runs, confusion_categories,
                              errors_in, gallery_page)
from workbench.review.categories import confusion_table
from workbench.review.label_issues import find_suspects

CLASSES = ["open", "closed"]


def make_preds(n=400, seed=0, wrong_ids=()):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    pred = y.copy()
    pred[list(wrong_ids)] = 1 - y[list(wrong_ids)]
    return pd.DataFrame({"image_id": np.arange(n), "path": [f"/img/{i}.png" for i in range(n)], "y_true": y,
                         "y_pred": pred, "confidence": rng.uniform(0.5, 1, n)})


def test_category_table_shows_a_category_failing_three_times_as_often():
    glasses = np.arange(0, 100)          # 100 images with glasses, 30 wrong
    wrong = list(range(0, 30)) + list(range(100, 130))   # the 300 others: 30 wrong
    preds = make_preds(wrong_ids=wrong)
    cats = pd.DataFrame({"image_id": glasses, "category": "glasses"})
    table = category_table(preds, cats).set_index("category")
    assert table.loc["all images", "errors"] == 60 and table.loc["all images", "error_rate"] == pytest.approx(0.15)
    g = table.loc["glasses"]
    assert (g.images, g.errors) == (100, 30)
    assert g.error_rate == pytest.approx(0.3) and g.rest_error_rate == pytest.approx(0.1)
    assert g.vs_rest == pytest.approx(3.0)


def test_image_in_several_categories_counts_in_each_once():
    preds = make_preds(n=10, wrong_ids=[0])
    cats = pd.DataFrame({"image_id": [0, 0, 0, 1], "category": ["dark", "dark", "blurry", "dark"]})
    table = category_table(preds, cats).set_index("category")
    assert table.loc["dark", "images"] == 2 and table.loc["dark", "errors"] == 1
    assert table.loc["blurry", "images"] == 1 and table.loc["blurry", "errors"] == 1


def test_confusion_cells_hold_exactly_their_errors():
    preds = make_preds(wrong_ids=[1, 2, 3, 50])
    cats = confusion_categories(preds, CLASSES)
    for cell in cats.category.unique():
        t, p = cell.split(" → ")
        expected = preds[(preds.y_true == CLASSES.index(t)) & (preds.y_pred == CLASSES.index(p))
                         & (preds.y_true != preds.y_pred)].image_id
        assert set(errors_in(preds, cats, cell).image_id) == set(expected)


def test_confusion_cells_count_their_errors_against_their_true_class():
    """A cell holds errors only: its table row counts them against the true class's images (the matrix's row
    share), most errors first; no 'rest' (every cell read "error rate 1, 10x the rest's")."""
    preds = make_preds(n=10, wrong_ids=[0, 1, 2])
    preds["y_true"], preds["y_pred"] = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0, 1, 1, 1, 1]
    table = confusion_table(preds, CLASSES)
    assert table.category.tolist() == ["all images", "open → closed", "closed → open"]
    cell = table.set_index("category").loc["open → closed"]
    assert (cell.images, cell.errors, cell.error_rate) == (5, 2, pytest.approx(0.4))
    assert table.rest_error_rate.isna().all() and table.vs_rest.isna().all()


def test_paging_covers_every_error_once_and_clamps_the_page():
    preds = make_preds(n=4000, wrong_ids=range(0, 4000, 3))
    rows = errors_in(preds, confusion_categories(preds, CLASSES))
    assert rows.confidence.is_monotonic_decreasing  # the most confident mistakes first
    seen, page = [], gallery_page(rows, CLASSES, 0, 100)
    assert page.pages == 14 and page.total == len(rows) == 1334
    for k in range(page.pages):
        seen += gallery_page(rows, CLASSES, k, 100).image_ids
    assert sorted(seen) == sorted(rows.image_id)
    last = gallery_page(rows, CLASSES, 99, 100)
    assert last.page == 13 and len(last.items) == 34 and "Page 14 of 14" in last.label()
    # thumbnails are file paths; only the visible rows are handed to the CAM callback
    handed = []
    page = gallery_page(rows, CLASSES, 2, 50, thumbs=lambda v: handed.append(len(v)) or [f"cam{i}" for i in v.image_id])
    assert handed == [50] and page.items[0][0].startswith("cam")


def test_empty_category_gives_an_empty_page():
    preds = make_preds(n=20, wrong_ids=[3])
    page = gallery_page(errors_in(preds, pd.DataFrame(columns=["image_id", "category"]), "glasses"), CLASSES)
    assert page.empty and page.items == [] and page.pages == 0
    assert "No misclassified" in page.label()
    assert errors_in(make_preds(n=20), confusion_categories(make_preds(n=20), CLASSES)).empty


def test_unknown_grouping_and_incomplete_predictions_are_refused():
    with pytest.raises(WorkbenchError, match="Unknown grouping 'colour'"):
        categories("colour", make_preds(n=5), CLASSES)
    with pytest.raises(WorkbenchError, match="lacks column.*confidence"):
        category_table(make_preds(n=5).drop(columns="confidence"), pd.DataFrame(columns=["image_id", "category"]))


def test_compare_runs_sorts_images_into_the_four_outcomes():
    a = make_preds(n=100, wrong_ids=[1, 2, 3, 4])
    b = make_preds(n=100, wrong_ids=[3, 4, 5])
    cmp = compare_runs(a, b).set_index("image_id")
    assert set(cmp.index[cmp.outcome == "only A wrong"]) == {1, 2}
    assert set(cmp.index[cmp.outcome == "only B wrong"]) == {5}
    assert set(cmp.index[cmp.outcome == "both wrong"]) == {3, 4}
    cats = pd.DataFrame({"image_id": [1, 2, 5, 10], "category": "dark"})
    summary = compare_by_category(cmp.reset_index(), cats).set_index("category")
    assert summary.loc["dark", "only A wrong"] == 2 and summary.loc["dark", "only B wrong"] == 1
    assert summary.loc["all images", "error_rate_a"] == pytest.approx(0.04)


def test_compare_runs_refuses_runs_without_shared_images_or_with_other_classes():
    with pytest.raises(WorkbenchError, match="share no test images"):
        compare_runs(make_preds(n=10), make_preds(n=10).assign(image_id=lambda d: d.image_id + 100))
    other = make_preds(n=10).assign(y_true=lambda d: 1 - d.y_true)
    with pytest.raises(WorkbenchError, match="disagree on the true class of 10"):
        compare_runs(make_preds(n=10), other)


def test_flipped_labels_rank_first_among_suspects():
    rng = np.random.default_rng(1)
    n = 300
    y = rng.integers(0, 3, n)
    features = rng.normal(size=(n, 8)) + 4 * np.eye(3, 8)[y]
    flipped = rng.choice(n, 9, replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + 1) % 3
    suspects = find_suspects(features, noisy, ["a", "b", "c"], np.arange(n) + 1000)
    assert set(flipped + 1000) <= set(suspects.image_id[:12])
    assert (suspects.p_given.diff().dropna() >= -1e-12).all()  # most suspicious (lowest p_given) first
    with pytest.raises(WorkbenchError, match="at least two classes"):
        find_suspects(features[:5], np.zeros(5, int), ["a", "b"], np.arange(5))
