"""How evaluations read (workbench.evaluate.report): the same rows, order and format for the CLI and the tab."""

from __future__ import annotations

import math

import pytest

from workbench.evaluate.records import Evaluation
from workbench.evaluate.report import (evaluation_text, metrics_lines, metrics_table, operating_point_markdown,
                                       operating_point_table, status_markdown)

METRICS = {"n": 30, "accuracy": 0.9, "precision": 0.91, "recall": 0.89, "f1": 0.8999, "roc_auc": 0.95,
           "eer": 0.1, "eer_threshold": None, "loss": math.nan}
DECISIONS = {"accuracy": 0.9, "precision": 0.8, "recall": 0.7, "f1": 0.75, "fpr": 0.05, "fnr": 0.2}
OP = {"positive": "face", "threshold": 0.4321, "rule": "eer", "n": 40, "split": "val", "fpr": 0.1, "fnr": 0.12,
      "at_argmax": DECISIONS, "at_threshold": {**DECISIONS, "fpr": 0.1, "fnr": 0.1}}


def test_metrics_table_has_the_report_order_labels_and_format():
    table = metrics_table(METRICS)
    assert table["metric"].tolist() == ["images", "accuracy", "precision (macro)", "recall (macro)", "F1 (macro)",
                                        "ROC AUC", "EER", "EER threshold", "log loss"]
    assert table["value"].tolist() == ["30", "0.9000", "0.9100", "0.8900", "0.8999", "0.9500", "0.1000", "n/a",
                                       "n/a"]
    assert metrics_table({"f1": 0.5})["metric"].tolist() == ["F1 (macro)"]  # only what is there


def test_cli_lines_are_the_same_rows_keyed_as_in_the_json():
    lines = metrics_lines(METRICS)
    assert [line.split()[0] for line in lines] == ["accuracy", "precision", "recall", "f1", "roc_auc", "eer",
                                                   "eer_threshold", "loss"]
    assert [line.split()[1] for line in lines] == metrics_table(METRICS)["value"].tolist()[1:]


def test_operating_point_table_and_sentences():
    table = operating_point_table(OP)
    assert table.columns.tolist() == ["metric", "argmax", "threshold 0.4321"]
    assert table["metric"].tolist() == ["accuracy", "precision (macro)", "recall (macro)", "F1 (macro)",
                                        "false-positive rate", "false-negative rate"]
    assert table.iloc[4, 1:].tolist() == [0.05, 0.1]
    assert "P(face) ≥ **0.4321**" in operating_point_markdown(OP) and "`eer` on 40 val images" in \
        operating_point_markdown(OP)
    assert operating_point_markdown(None).startswith("No decision threshold")


@pytest.mark.parametrize("op", [None, OP])
def test_cli_report_holds_heading_metrics_matrix_notes_and_files(op):
    ev = Evaluation(run="r", split="test", checkpoint="best", classes=["a", "b"], n=30, metrics=METRICS,
                    confusion=[[10, 2], [3, 15]], roc={}, notes=["one note"], files=["/x/evaluation_test.json"],
                    operating_point=op)
    text = evaluation_text(ev)
    assert text.startswith("r · best checkpoint · 30 test images\n  accuracy       0.9000")
    assert "true a  10   2" in text and "note: one note" in text and text.endswith("/x/evaluation_test.json")
    assert ("P(face) >= 0.4321, chosen by eer on 40 val images" in text) == (op is not None)
    assert status_markdown(ev) == "**r** · best checkpoint · 30 test images\n- one note"
