"""Evaluation and review on one short real training run (faces demo set, conftest's `faces_run_home`).

After training, six labels are flipped (three test, three train images): the model learned the true
labels, so the flipped test images become its errors and all six should look like label errors.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import (accuracy_score, confusion_matrix, log_loss, precision_recall_fscore_support, roc_auc_score,
                             roc_curve)

from workbench.cli import main
from workbench.data.demo import faces_truth
from workbench.data.imageio import load_image
from workbench.data.splits import splits
from workbench.evaluate.dataset_check import DatasetChanged
from workbench.evaluate.evaluate import evaluate_run, probs_of
from workbench.evaluate.plots import CORNER
from workbench.explain.cam import explain_images
from workbench.explain.methods import METHODS
from workbench.review import categories, category_table, errors_in, gallery_page
from workbench.review.label_issues import run_label_errors, suspected_label_errors
from workbench.review.run_cache import RunCache
from workbench.review.run_errors import run_errors
from workbench.store import Store
from workbench.train.predict import predict
from workbench.train.runs import load_run
from workbench.workspace import Workspace

from browser.appserver import CHROMIUM_ARGS, served
from faces_run import INPUT_SIZE, RUN


@pytest.fixture(scope="module")
def trained(faces_run_home):
    """The shared faces run (conftest), then three test and three train labels flipped, and six images tagged."""
    home, store, ws = faces_run_home.home, faces_run_home.store, faces_run_home.ws
    truth = faces_truth(store)
    split = splits(store, "faces", seed=0).set_index("image_id")["split"]
    other = {"face": "not face", "not face": "face"}
    flipped = {s: [int(i) for i in split[split == s].index[:3]] for s in ("test", "train")}
    for i in flipped["test"] + flipped["train"]:
        store.add_label(i, other[truth[i]], "reviewer")  # 1:1 tie with "truth", latest wins
    test_ids = [int(i) for i in split[split == "test"].index]
    tagged = flipped["test"][:2] + [i for i in test_ids if i not in flipped["test"]][:3] + flipped["train"][:1]
    for i in tagged:
        store.set_image_tag(i, "glasses", "reviewer")
    evaluation = evaluate_run(ws.run(RUN))
    return {"home": home, "store": store, "flipped": flipped, "tagged": tagged, "evaluation": evaluation}


def test_metrics_equal_sklearn_on_the_same_predictions(ws, trained):
    ev = trained["evaluation"]
    preds = ws.run(RUN).predictions()
    probs = probs_of(preds)
    loaded = load_run(ws.run(RUN))
    # the saved predictions are the model's on exactly the run's test images
    recorded = json.loads((loaded.run_dir / "dataset.json").read_text())["images"]
    assert sorted(preds.image_id) == sorted(r["image_id"] for r in recorded if r["split"] == "test")
    np.testing.assert_allclose(probs, predict(loaded, preds.path.tolist()), atol=1e-6)
    y, pred = preds.y_true.to_numpy(), probs.argmax(1)
    p, r, f1, _ = precision_recall_fscore_support(y, pred, average="macro", zero_division=0)
    m = ev.metrics
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((p, r, f1))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, probs[:, 1]))
    assert m["loss"] == pytest.approx(log_loss(y, probs / probs.sum(1, keepdims=True)), rel=1e-4)
    assert ev.confusion == confusion_matrix(y, pred).tolist()
    # flipped test labels count as errors: the model is scored against current labels
    assert m["accuracy"] <= 1 - 3 / len(y) + 1e-9
    assert 0 <= m["eer"] <= 0.5 and 0 <= m["eer_threshold"] <= 1
    saved = json.loads((trained["home"] / "checkpoints" / RUN / "evaluation_test.json").read_text())
    assert saved["metrics"]["f1"] == pytest.approx(f1)
    plots = trained["home"] / "plots_checkpoints" / RUN
    assert (plots / "confusion_test.html").stat().st_size > 1000 and (plots / "roc_test.html").exists()
    for png in ("confusion_test.png", "roc_test.png"):
        with Image.open(plots / png) as im:
            assert im.format == "PNG" and min(im.size) > 200


def test_cam_maps_have_the_input_size_and_are_not_constant(ws, trained):
    loaded = load_run(ws.run(RUN))
    preds = ws.run(RUN).predictions()
    images = [load_image(p) for p in preds.path[:6]]
    for method in METHODS:
        maps = explain_images(loaded, images, preds.y_pred[:6].tolist(), method)
        assert maps.shape == (6, INPUT_SIZE, INPUT_SIZE), method
        assert (maps.std(axis=(1, 2)) > 0.05).all(), method
        assert 0 <= maps.min() and maps.max() <= 1
        assert not np.allclose(maps[0], maps[1]), method


def test_tag_gallery_holds_exactly_the_misclassified_images_with_that_tag(ws, trained):
    store, ev = trained["store"], trained["evaluation"]
    preds = ws.run(RUN).predictions()
    cats = categories("tag", preds, ev.classes, store, "faces")
    wrong = set(preds.loc[preds.y_true != preds.y_pred, "image_id"])
    tagged = set(store.image_tags("faces").query("tag == 'glasses'").image_id)
    expected = wrong & tagged
    assert set(trained["flipped"]["test"][:2]) <= expected  # the case is not vacuous
    page = gallery_page(errors_in(preds, cats, "glasses"), ev.classes, page=0, page_size=100)
    assert set(page.image_ids) == expected and len(page.image_ids) == len(expected)
    assert all("true:" in c and "pred:" in c for _, c in page.items)
    table = category_table(preds, cats).set_index("category")
    assert table.loc["glasses", "errors"] == len(expected)
    assert table.loc["glasses", "images"] == len(tagged & set(preds.image_id))
    # a category nobody tagged: an empty page, not an error
    empty = gallery_page(errors_in(preds, cats, "odd angle"), ev.classes)
    assert empty.empty and empty.items == [] and "No misclassified" in empty.label()


def test_quality_and_confusion_galleries_hold_exactly_their_errors(ws, trained):
    from workbench.data.quality import CATEGORIES, dataset_quality

    store, ev = trained["store"], trained["evaluation"]
    preds = ws.run(RUN).predictions()
    wrong = set(preds.loc[preds.y_true != preds.y_pred, "image_id"])
    quality = dataset_quality(store, "faces").categories
    cats = categories("quality", preds, ev.classes, store, "faces")
    assert set(cats.category) <= set(CATEGORIES) and len(cats)
    table = category_table(preds, cats).set_index("category")
    for cat in set(cats.category):
        ids = set(quality.loc[quality.category == cat, "image_id"]) & set(preds.image_id)
        assert set(errors_in(preds, cats, cat).image_id) == wrong & ids
        assert table.loc[cat, "images"] == len(ids) and table.loc[cat, "errors"] == len(wrong & ids)
    cells = categories("confusion", preds, ev.classes)
    off_diagonal = {c for c in cells.category if c.split(" → ")[0] != c.split(" → ")[1]}
    assert set().union(*(set(errors_in(preds, cells, c).image_id) for c in off_diagonal)) == wrong
    # the table beside the confusion gallery: each cell's errors against its true class (the matrix's row share),
    # with no rest to compare with (every cell read "error rate 1, 10x the rest's")
    table = run_errors(ws.run(RUN), "confusion").table.set_index("category")
    held = [c for c in off_diagonal if len(errors_in(preds, cells, c))]
    assert sorted(table.index[1:]) == sorted(held) and table.vs_rest.isna().all()
    for c in held:
        true_class = ev.classes.index(c.split(" → ")[0])
        n_true, n_errors = int((preds.y_true == true_class).sum()), len(errors_in(preds, cells, c))
        assert (table.loc[c, "images"], table.loc[c, "errors"]) == (n_true, n_errors)
        assert table.loc[c, "error_rate"] == pytest.approx(n_errors / n_true)


def test_flipped_labels_are_among_the_suspected_label_errors(ws, trained):
    counts = []   # the Evaluate tab's bar follows the embedding (it sat at 10% for the whole search)
    suspects = suspected_label_errors(load_run(ws.run(RUN)), trained["store"], done=lambda n, total: counts.append(
        (n, total)))
    labelled = len(trained["store"].resolved_labels("faces"))
    assert len(counts) >= 2 and counts[-1] == (labelled, labelled) and [n for n, _ in counts] == sorted(
        {n for n, _ in counts})
    flipped = trained["flipped"]["test"] + trained["flipped"]["train"]
    assert set(flipped) <= set(suspects.image_id)
    # ranked: the flipped ones come first, ahead of the (few) genuine doubts
    assert set(suspects.image_id[:len(flipped) + 3]) >= set(flipped)
    row = suspects.set_index("image_id").loc[flipped[0]]
    assert row.given != row.suggested and row.p_given < 0.5


def test_run_compared_with_itself_has_only_shared_errors_per_tag(ws, trained):
    from workbench.review.views import compare_view

    preds = ws.run(RUN).predictions()
    wrong = set(preds.loc[preds.y_true != preds.y_pred, "image_id"])
    v = compare_view(ws.run(RUN), ws.run(RUN), "tag", "both wrong")
    table = v.table.set_index("category")
    assert set(v.shown.image_id) == wrong
    assert table.loc["all images", "both wrong"] == len(wrong) and table.loc["all images", "only A wrong"] == 0
    tagged_wrong = wrong & set(trained["tagged"])
    assert table.loc["glasses", "both wrong"] == len(tagged_wrong & set(preds.image_id))
    assert compare_view(ws.run(RUN), ws.run(RUN), "tag", "only B wrong").shown.empty


def test_cli_evaluate_prints_metrics_and_names_an_unknown_run(trained, capsys):
    assert main(["evaluate", RUN, "--by", "tag"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "glasses" in out and "evaluation_test.json" in out
    assert main(["evaluate", "no-such-run"]) == 2
    assert "No run named 'no-such-run'" in capsys.readouterr().err


@pytest.fixture
def changed_copy(trained, tmp_path, monkeypatch):
    """A copy of the trained home that a test may change without touching the shared one."""
    trained["store"].close()
    home = tmp_path / "copy"
    shutil.copytree(trained["home"], home)
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.chdir(home)
    store = Store()
    yield home, store
    store.close()


def test_evaluating_after_test_images_were_removed_says_so_and_keeps_the_old_evaluation(changed_copy):
    home, store = changed_copy
    ws = Workspace.around(store, home)
    before = (home / "checkpoints" / RUN / "evaluation_test.json").read_text()
    test_ids = splits(store, "faces").query("split == 'test'").image_id[:2].tolist()
    with store.transaction():
        for i in test_ids:
            store.execute("DELETE FROM images WHERE id=?", [int(i)])
    with pytest.raises(DatasetChanged, match=r"2 of its 30 test images are gone"):
        evaluate_run(ws.run(RUN))
    assert (home / "checkpoints" / RUN / "evaluation_test.json").read_text() == before
    assert main(["evaluate", RUN]) == 2


def test_evaluating_after_a_class_was_renamed_says_which(changed_copy):
    home, store = changed_copy
    ws = Workspace.around(store, home)
    store.execute("UPDATE classes SET name='nonface' WHERE name='not face'")
    with pytest.raises(DatasetChanged, match=r"not face.*gone.*nonface.*new") as err:
        evaluate_run(ws.run(RUN))
    assert "images are gone" not in str(err.value)  # only what really changed is named


def test_evaluate_tab_through_the_gradio_api(ws, trained):
    from gradio_client import Client

    with served(trained["store"]) as url:
        client = Client(url, verbose=False)
        status, metrics, confusion, roc = client.predict(RUN, api_name="/evaluate_run")
        assert "30 test images" in status
        _assert_shows_the_evaluation(ws, metrics, confusion, roc, ws.run(RUN).evaluation().classes)
        items, label, table, _, page = client.predict(RUN, "tag", "glasses", 1, True, "gradcam",
                                                      api_name="/error_gallery")
        preds = ws.run(RUN).predictions()
        tagged = set(trained["store"].image_tags("faces").query("tag == 'glasses'").image_id)
        expected = set(preds.loc[preds.y_true != preds.y_pred, "image_id"]) & tagged
        assert {tile["id"] for tile in items["items"]} == expected and page == 1
        # each thumbnail's caption names its file, true and predicted class, each on a line of its own
        names = trained["store"].images("faces").set_index("image_id")["name"]
        assert all(len(t["caption"].split("\n")) == 3 and t["caption"].split("\n")[0] == names[t["id"]]
                   and t["caption"].split("\n")[1].startswith("true: ")
                   and t["caption"].split("\n")[2].startswith("pred: ") for t in items["items"])
        assert "glasses" in [row[0] for row in table["data"]]
        original, overlay_file, caption = client.predict(RUN, sorted(expected)[0], "face", "eigencam", "",
                                                         api_name="/explain_image")
        assert "CAM of 'face'" in caption and "eigencam" in caption
        with Image.open(overlay_file) as im:
            assert min(im.size) >= 300
        with pytest.raises(Exception, match="No layer 'nope'.*Valid layer names"):
            client.predict(RUN, sorted(expected)[0], "", "gradcam", "nope", api_name="/explain_image")
        suspects = client.predict(RUN, api_name="/suspected_label_errors")
        ids = [row[suspects["headers"].index("image_id")] for row in suspects["data"]]
        assert set(trained["flipped"]["test"]) <= set(ids)
        shown = [row[suspects["headers"].index("name")] for row in suspects["data"]]  # file names beside the ids
        assert shown == [names[i] for i in ids]
        # probabilities to 3 significant digits, however small (rounded to places, the most suspicious read 0)
        saved = run_label_errors(ws.run(RUN), RunCache()).set_index("image_id")["p_given"]
        assert [float(row[suspects["headers"].index("p_given")]) for row in suspects["data"]] == pytest.approx(
            [saved[i] for i in ids], rel=5e-3)


def _assert_shows_the_evaluation(ws, metrics: dict, confusion: dict, roc: dict, classes: list[str]) -> None:
    """What the tab shows equals sklearn on the saved predictions: metric values, matrix cells, ROC points."""
    preds = ws.run(RUN).predictions()
    y, probs = preds.y_true.to_numpy(), probs_of(preds)
    shown = {row[0]: row[1] for row in metrics["data"]}
    assert shown["images"] == "30" and shown["accuracy"] == f"{accuracy_score(y, probs.argmax(1)):.4f}"
    assert shown["ROC AUC"] == f"{roc_auc_score(y, probs[:, 1]):.4f}"
    assert confusion["headers"] == [CORNER, *classes] and [row[0] for row in confusion["data"]] == classes
    counts = [[int(cell.split(" · ")[0]) for cell in row[1:]] for row in confusion["data"]]
    assert counts == confusion_matrix(y, probs.argmax(1), labels=[0, 1]).tolist()
    curve = json.loads(roc["plot"])["data"][0]
    fpr, tpr, _ = roc_curve(y, probs[:, 1])
    np.testing.assert_allclose(curve["x"], fpr)
    np.testing.assert_allclose(curve["y"], tpr)
    assert curve["name"] == f"{classes[1]} (AUC {roc_auc_score(y, probs[:, 1]):.3f})"


@pytest.mark.browser
def test_suspected_label_error_opens_in_the_label_tab(ws, trained):
    from playwright.sync_api import sync_playwright

    with served(trained["store"]) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(url)
            page.get_by_role("tab", name="Label").click()
            page.locator("#wb-annotator textarea, #wb-annotator input").first.fill("reviewer")
            page.get_by_role("tab", name="Evaluate").click()
            # the newest run is selected on load, with its saved evaluation shown
            page.wait_for_function("() => (document.querySelector('#wb-eval-metrics')?.innerText || '')"
                                   ".includes('accuracy')")
            page.get_by_text("Suspected label errors", exact=True).click()
            page.get_by_role("button", name="Find suspected label errors").click()
            page.wait_for_function("() => document.querySelectorAll('#wb-eval-suspects .body-cell').length > 0")
            cells = page.locator("#wb-eval-suspects .body-cell")  # row-major: rank, image_id, given, ...
            top = int(cells.nth(1).inner_text())
            cells.nth(1).click()
            page.wait_for_function(f"() => [...document.querySelectorAll('input[type=number]')]"
                                   f".some(i => i.value === '{top}')")
            page.locator("#wb-eval-open-label").click()
            page.wait_for_function(f"() => {{ const v = document.querySelector('#wb-label-view [data-image-id]');"
                                   f" return v && v.dataset.imageId === '{top}' && v.offsetParent !== null; }}")
            browser.close()
        assert top == int(suspected_label_errors(load_run(ws.run(RUN)), trained["store"]).image_id.iloc[0])


def test_gallery_follows_labels_corrected_after_evaluation(changed_copy):
    from workbench.evaluate.staleness import run_predictions

    home, store = changed_copy
    ws = Workspace.around(store, home)
    preds, classes = run_predictions(ws.run(RUN))
    row = preds[preds.y_true == preds.y_pred].iloc[0]
    store.add_label(int(row.image_id), classes[1 - int(row.y_true)], "second-opinion")
    store.add_label(int(row.image_id), classes[1 - int(row.y_true)], "third-opinion")
    again, _ = run_predictions(ws.run(RUN))
    fixed = again.set_index("image_id").loc[int(row.image_id)]
    assert fixed.y_true == 1 - int(row.y_true) and fixed.y_true != fixed.y_pred


def test_tab_handlers_turn_pages_and_map_a_matrix_cell_to_its_category(ws, trained):
    import gradio as gr

    from workbench.ui.evaluate_tab import _turned, pick_cell

    assert [_turned(3, t) for t in ("first", "previous", "next", "stay")] == [1, 2, 4, 3]
    assert _turned(None, "previous") == 1 and _turned(1, "previous") == 1
    classes = trained["evaluation"].classes
    grouping, category = pick_cell(ws, RUN, gr.SelectData(None, {"index": [1, 1], "value": ""}))  # row 1, column 1
    assert grouping == "confusion" and category.value == f"{classes[1]} → {classes[0]}"  # column 0: true class
    assert pick_cell(ws, RUN, gr.SelectData(None, {"index": [0, 0], "value": ""})) == (gr.skip(), gr.skip())


def test_an_evaluation_older_than_the_checkpoint_is_stale_and_made_again(changed_copy):
    import os

    from workbench.evaluate.staleness import is_stale, run_predictions

    home, store = changed_copy
    ws = Workspace.around(store, home)
    ev, preds = ws.run(RUN).evaluation(), ws.run(RUN).predictions()
    assert not is_stale(ws.run(RUN), ev, preds)
    assert is_stale(ws.run(RUN), None, preds) and is_stale(ws.run(RUN), ev, None)
    saved = home / "checkpoints" / RUN / "evaluation_test.json"
    earlier = (home / "checkpoints" / RUN / "best.pt").stat().st_mtime_ns - 10**9
    os.utime(saved, ns=(earlier, earlier))  # as if the run was trained again after it was evaluated
    assert is_stale(ws.run(RUN), ev, preds)
    run_predictions(ws.run(RUN))  # evaluates again
    assert saved.stat().st_mtime_ns > earlier and not is_stale(ws.run(RUN), ws.run(RUN).evaluation(), ws.run(RUN).predictions())
