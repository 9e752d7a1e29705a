"""Leaks (issue 20): a run trained before splits kept duplicates together is told how many test images have a copy
among its train images, exactly, and its metrics without them; a run trained now has none."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from test_splits import COPIES, copies  # noqa: F401  (the fixture: MNIST digits with planted copies, dataset "tree")
from workbench.cli import main
from workbench.data import splits as data_splits
from workbench.data.duplicates import Duplicates
from workbench.evaluate.evaluate import evaluate_run
from workbench.evaluate.leaks import run_leaks
from workbench.train.config import RunConfig
from workbench.train.loop import train
from workbench.workspace import Workspace

PLANTED = [{f"d_{i:03d}.png", *(f"c_{i:03d}_{k}.jpg" for k in range(n))} for i, n in COPIES.items()]
PLANTED.append({"d_099.png", "exact_099.png"})


def no_near_duplicates(store, dataset, threshold=None):
    """What splits saw before this release: no near duplicates (files with equal bytes only)."""
    empty = pd.DataFrame(columns=["a", "b", "kind", "distance", "a_id", "b_id"])
    no_groups = pd.DataFrame(columns=["image_id", "name", "group"])
    return Duplicates(dataset, 0.0, len(store.images(dataset)), empty, no_groups)




@pytest.fixture(scope="module")
def old_run(copies):  # noqa: F811
    ws = Workspace.around(copies)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data_splits, "dataset_duplicates", no_near_duplicates)
        for seed in range(20):  # the first seed whose split put planted copies on both sides of train and test
            sp = data_splits.splits(copies, "tree", seed=seed)
            if count_leaks(copies, sp.set_index("image_id")["split"]) >= 2:
                break
        cfg = RunConfig("tree", method="feature_extract", input_size=32, epochs=1, seed=seed, name="old")
        train(ws, cfg, plots=False)
    return ws.run("old")


def count_leaks(store, sides: pd.Series) -> int:
    images = store.images("tree")
    names = images.set_index(images["name"].str.split("/").str[-1])["image_id"]
    n = 0
    for group in PLANTED:
        where = [sides.get(names[f]) for f in group]
        n += sum(s == "test" for s in where) if "train" in where else 0
    return n


def test_the_leak_report_counts_planted_leaks_exactly(old_run):
    recorded = pd.DataFrame(old_run.dataset_info["images"]).set_index("image_id")["split"]
    expected = count_leaks(old_run.ws.store, recorded)
    assert expected >= 2
    evaluate_run(old_run)
    leaks = run_leaks(old_run)
    assert leaks.count == expected
    assert set(leaks.leaked["kind"]) <= {"exact", "near"}
    assert leaks.metrics_clean["n"] == leaks.n - expected == leaks.metrics_all["n"] - expected


def test_evaluate_prints_the_leaks_and_the_metrics_without_them(old_run, capsys):
    assert main(["evaluate", "old"]) == 0
    out = capsys.readouterr().out
    assert f"Leaks: {run_leaks(old_run).count} of " in out and "Without them" in out
    assert main(["evaluate", "old", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["leaks"]["count"] == run_leaks(old_run).count


def test_the_evaluate_tab_says_the_leaks_under_the_run_status(old_run):
    from workbench.ui.evaluate_tab import evaluate  # gradio: only this test needs the tab

    status = evaluate(old_run.ws, "old")[0]
    leaks = run_leaks(old_run)
    assert f"**Leaks: {leaks.count} of {leaks.n} test images" in status
    clean = leaks.metrics_clean["accuracy"]
    assert f"Without them ({leaks.n - leaks.count} images): accuracy {clean:.3f}" in status


def test_a_run_trained_now_has_no_leaks(copies):  # noqa: F811
    ws = Workspace.around(copies)
    train(ws, RunConfig("tree", method="feature_extract", input_size=32, epochs=1, seed=0, name="new"), plots=False)
    evaluate_run(ws.run("new"))
    assert run_leaks(ws.run("new")).count == 0
