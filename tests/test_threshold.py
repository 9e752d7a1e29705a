"""Operating point: a decision threshold chosen on the validation split (EER, or a target FPR/FNR), stored with
the run, and binary test metrics at that threshold beside those at argmax."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_curve

from faces_run import RUN
from samples import D3_RUN
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.evaluate.dataset_check import split_images
from workbench.evaluate.evaluate import evaluate_run, probs_of
from workbench.evaluate.threshold import Threshold, choose_threshold, operating_point, run_threshold
from workbench.metrics import operating_threshold
from workbench.train.predict import predict
from workbench.train.runs import load_run



def _rates(y, s, t):
    return np.mean(s[y == 0] >= t), np.mean(s[y == 1] < t)  # FPR, FNR of "positive when s >= t"


@pytest.fixture
def overlapping():
    """Two overlapping score distributions: 400 negatives around 0.35, 200 positives around 0.65."""
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(400, int), np.ones(200, int)]
    return y, np.clip(np.r_[rng.normal(0.35, 0.12, 400), rng.normal(0.65, 0.12, 200)], 0, 1)


def test_eer_threshold_is_where_false_positive_and_negative_rates_meet(overlapping):
    y, s = overlapping
    t = operating_threshold(y, s, "eer")
    fpr, fnr = _rates(y, s, t)
    gaps = [abs(np.subtract(*_rates(y, s, u))) for u in np.unique(s)]  # every candidate threshold, brute force
    assert abs(fpr - fnr) == pytest.approx(min(gaps), abs=1 / 200)
    assert abs(fpr - fnr) < 0.02 and 0.05 < fpr < 0.2  # overlapping classes: a real, balanced error


@pytest.mark.parametrize("target", [0.0, 0.01, 0.05, 0.2])
def test_fpr_target_is_met_with_as_many_positives_found_as_possible(overlapping, target):
    y, s = overlapping
    t = operating_threshold(y, s, f"fpr={target}")
    fpr, fnr = _rates(y, s, t)
    assert fpr <= target
    lower = s[s < t].max()  # the next threshold down would break the target
    assert _rates(y, s, lower)[0] > target


@pytest.mark.parametrize("target", [0.0, 0.05, 0.3])
def test_fnr_target_is_met_with_as_few_false_positives_as_possible(overlapping, target):
    y, s = overlapping
    t = operating_threshold(y, s, f"fnr={target}")
    assert _rates(y, s, t)[1] <= target
    weakest = s[s >= t].min()  # calling even that one negative would break the target
    assert _rates(y, s, np.nextafter(weakest, 1))[1] > target
    assert t == pytest.approx((weakest + s[s < t].max()) / 2)  # midway between neighbouring scores


def test_fpr_zero_on_separable_scores_keeps_threshold_finite_and_calls_no_negative_positive():
    y = np.array([0, 0, 0, 1, 1])
    s = np.array([0.9, 0.2, 0.1, 0.95, 0.99])  # the top negative outranks nothing but two positives
    t = operating_threshold(y, s, "fpr=0")
    assert np.isfinite(t) and _rates(y, s, t) == (0.0, 0.0)
    t_none = operating_threshold(np.array([0, 1]), np.array([0.9, 0.1]), "fpr=0")  # only "call nothing" qualifies
    assert np.isfinite(t_none) and t_none > 0.9


@pytest.mark.parametrize("rule", ["", "median", "fpr", "fpr=abc", "fpr=1.5", "tpr=0.1", "fnr=-0.1"])
def test_bad_rules_are_refused_with_what_is_accepted(rule, overlapping):
    with pytest.raises(ValueError, match="eer, fpr=RATE or fnr=RATE"):
        operating_threshold(*overlapping, rule)


def test_metrics_at_a_threshold_differ_from_argmax_where_scores_fall_between():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p1 = np.array([0.1, 0.2, 0.55, 0.6, 0.58, 0.7, 0.8, 0.9])  # two negatives above 0.5, one positive below 0.65
    preds = pd.DataFrame({"y_true": y, "p_0": 1 - p1, "p_1": p1, "y_pred": (p1 > 0.5).astype(int)})
    t = Threshold(run="r", rule="fpr=0", threshold=0.65, positive="b", split="val", n=8, fpr=0, fnr=0)
    op = operating_point(preds, t)
    assert op["at_argmax"]["fpr"] == 0.5 and op["at_argmax"]["fnr"] == 0.0
    assert op["at_threshold"]["fpr"] == 0.0 and op["at_threshold"]["fnr"] == 0.25
    assert op["at_threshold"]["accuracy"] == pytest.approx(accuracy_score(y, p1 >= 0.65))
    assert op["at_threshold"]["f1"] == pytest.approx(f1_score(y, p1 >= 0.65, average="macro"))
    assert op["at_threshold"]["confusion"] == [[4, 0], [1, 3]]


# -- on a real run ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_store(faces_run_home):
    return faces_run_home.store


def test_threshold_chosen_on_validation_predictions_is_stored_and_reloaded(ws, run_store):
    loaded = load_run(ws.run(RUN))
    val, _ = split_images(loaded, run_store, "val")
    p1 = predict(loaded, val["path"].tolist())[:, 1]
    t = choose_threshold(ws.run(RUN), "fnr=0.1")
    assert t.split == "val" and t.n == len(val) == 30 and t.positive == "not face"
    assert t.threshold == pytest.approx(operating_threshold(val["y"], p1, "fnr=0.1"))
    assert t.fnr <= 0.1 and t.fnr == pytest.approx(np.mean(p1[val["y"] == 1] < t.threshold))
    stored = json.loads(ws.run(RUN).threshold_path.read_text())
    assert stored["rule"] == "fnr=0.1" and stored["threshold"] == t.threshold
    assert ws.run(RUN).threshold == t
    assert [f for f in os.listdir(ws.run(RUN).threshold_path.parent) if f.endswith(".tmp")] == []  # written atomically


def test_evaluation_reports_test_metrics_at_the_threshold_and_at_argmax(ws, run_store):
    ev = evaluate_run(ws.run(RUN), threshold="fpr=0.05")
    op = ev.operating_point
    preds = ws.run(RUN).predictions()
    y, p1 = preds["y_true"].to_numpy(), probs_of(preds)[:, 1]
    assert op["rule"] == "fpr=0.05" and op["threshold"] == ws.run(RUN).threshold.threshold
    assert op["at_threshold"]["accuracy"] == pytest.approx(accuracy_score(y, p1 >= op["threshold"]))
    assert op["at_threshold"]["f1"] == pytest.approx(f1_score(y, p1 >= op["threshold"], average="macro"))
    assert op["at_argmax"]["accuracy"] == pytest.approx(ev.metrics["accuracy"])
    assert op["at_argmax"]["confusion"] == ev.confusion
    fpr, tpr, _ = roc_curve(y, p1, drop_intermediate=False)  # the test split's rates at the threshold lie on its ROC curve
    assert any(np.isclose(f, op["at_threshold"]["fpr"]) and np.isclose(1 - t, op["at_threshold"]["fnr"])
               for f, t in zip(fpr, tpr))
    saved = json.loads(open(ev.files[-1]).read())
    assert saved["operating_point"]["threshold"] == op["threshold"]


def test_the_evaluate_tab_shows_its_operating_point_panel_for_a_binary_run_only(ws, run_store):
    from workbench.evaluate.operating_point import has_threshold
    from workbench.ui.operating_point import show_operating_point

    assert has_threshold(ws.run(RUN))
    panel, text, _ = show_operating_point(ws, RUN)
    assert panel.visible is True and text  # its threshold, or what to do to get one
    assert show_operating_point(ws, None)[0].visible is False  # no run picked: nothing to decide


def test_stored_rule_is_reused_and_a_retrained_checkpoint_gets_a_new_threshold(ws, run_store):
    first = choose_threshold(ws.run(RUN), "fpr=0.1")
    assert run_threshold(ws.run(RUN)) == first  # nothing recomputed
    earlier = (load_run(ws.run(RUN)).run_dir / "best.pt").stat().st_mtime_ns - 10**9
    os.utime(ws.run(RUN).threshold_path, ns=(earlier, earlier))  # as if the run was trained again after it was chosen
    assert ws.run(RUN).threshold is None
    again = run_threshold(ws.run(RUN))
    assert again.rule == "fpr=0.1" and ws.run(RUN).threshold == again


def test_cli_evaluate_with_threshold_prints_both_operating_points(ws, run_store, capsys):
    assert main(["evaluate", RUN, "--threshold", "eer"]) == 0
    out = capsys.readouterr().out
    t = ws.run(RUN).threshold
    assert t.rule == "eer"
    assert f"P(not face) >= {t.threshold:.4f}, chosen by eer on 30 val images" in out
    assert "false-positive rate" in out and f"threshold {t.threshold:.4f}" in out
    assert main(["evaluate", RUN, "--threshold", "fpr=two"]) == 2
    assert "not understood" in capsys.readouterr().err
    assert ws.run(RUN).threshold == t  # a bad rule changes nothing


def test_multiclass_runs_are_refused_a_threshold(d3_run):
    run = d3_run.ws.run(D3_RUN)
    with pytest.raises(WorkbenchError, match="3 classes: a decision threshold is for binary runs"):
        choose_threshold(run, "eer")
    assert main(["evaluate", D3_RUN, "--threshold", "eer"]) == 2
    ev = evaluate_run(run)  # no threshold asked: evaluated by argmax, as before
    assert ev.operating_point is None and not run.threshold_path.exists()


def test_evaluate_tab_operating_point_panel_chooses_and_shows_the_threshold(ws, run_store):
    from gradio_client import Client

    from browser.appserver import served
    from workbench.evaluate.operating_point import current_operating_point

    with served(run_store) as url:
        client = Client(url, verbose=False)
        text, table = client.predict(RUN, "FNR = 0", api_name="/choose_threshold")
        t = ws.run(RUN).threshold
        assert t.rule == "fnr=0" and t.fnr == 0.0
        assert f"P(not face) ≥ **{t.threshold:.4f}**" in text and "`fnr=0` on 30 val images" in text
        rows = {r[0]: r[1:] for r in table["value"]["data"]}
        op = current_operating_point(ws.run(RUN))
        assert rows["false-negative rate"] == pytest.approx([op["at_argmax"]["fnr"], op["at_threshold"]["fnr"]],
                                                           abs=1e-4)
        assert ws.run(RUN).evaluation().operating_point["rule"] == "fnr=0"  # the saved evaluation agrees
        with pytest.raises(Exception, match="not understood"):
            client.predict(RUN, "fnr=lots", api_name="/choose_threshold")
        assert ws.run(RUN).threshold == t
