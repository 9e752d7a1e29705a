"""How an evaluation reads, for the CLI and the Evaluate tab alike: metric rows in the registry's order and format,
the heading line, and the operating point's sentence and table. Text and tables only; nothing is computed here."""

from __future__ import annotations

import pandas as pd

from workbench.evaluate.records import Evaluation
from workbench.metrics import DECISION_METRICS, REGISTRY, REPORT_METRICS, format_metric, metric_label

INTERVAL_COLUMN = "95% interval"


def metric_rows(metrics: dict, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(key, formatted value) of each report metric present in `metrics`, in the registry's order."""
    return [(k, format_metric(k, metrics[k])) for k in REPORT_METRICS if k in metrics and k not in skip]


def interval_text(key: str, interval: dict | None) -> str:
    """'0.8950–0.9350' in the metric's format, or '' when the metric has no interval."""
    if not interval:
        return ""
    return f"{format_metric(key, interval['low'])}–{format_metric(key, interval['high'])}"


def metrics_table(metrics: dict, n_classes: int = 2, intervals: dict | None = None) -> pd.DataFrame:
    """Metrics as a table (metric label, formatted value, its 95% interval if any): the Evaluate tab's "Test
    metrics". With more than two classes ROC AUC and EER are labelled as the one-vs-rest means they are."""
    rows = metric_rows(metrics)
    return pd.DataFrame({"metric": [metric_label(k, n_classes) for k, _ in rows], "value": [v for _, v in rows],
                         INTERVAL_COLUMN: [interval_text(k, (intervals or {}).get(k)) for k, _ in rows]})


def intervals_note(intervals: dict | None) -> str:
    """How the intervals were made, in one line (under the tab's table and the CLI's metrics); '' without any."""
    by_method: dict[str, list[str]] = {}
    for k, v in (intervals or {}).items():
        by_method.setdefault(v["method"], []).append(REGISTRY[k].title if k in REGISTRY else k)
    if not by_method:
        return ""
    return "95% intervals: " + "; ".join(f"{', '.join(names)} by {how}" for how, names in by_method.items()) + "."


def metrics_lines(metrics: dict, n_classes: int = 2, intervals: dict | None = None) -> list[str]:
    """The CLI's metric lines, keyed as in the JSON (the image count is in the heading), each with its 95%
    interval and, where the label says more than the key (a one-vs-rest mean), the label."""
    lines = []
    for k, v in metric_rows(metrics, skip=("n",)):
        ci = interval_text(k, (intervals or {}).get(k))
        label = metric_label(k, n_classes)
        lines.append(f"  {k:14s} {v}" + (f"  95% CI {ci}" if ci else "") +
                     (f"  ({label})" if label.startswith("mean one-vs-rest") else ""))
    return lines


def heading(ev: Evaluation, markdown: bool = False) -> str:
    """'run · best checkpoint · 30 test images' (the run in bold for markdown)."""
    name = f"**{ev.run}**" if markdown else ev.run
    return f"{name} · {ev.checkpoint} checkpoint · {ev.n} {ev.split} images"


def status_markdown(ev: Evaluation) -> str:
    """The tab's status: the heading, how the intervals were made, then the evaluation's notes as a list."""
    how = f"  \n{intervals_note(ev.intervals)}" if ev.intervals else ""
    return heading(ev, markdown=True) + how + "".join(f"\n- {n}" for n in ev.notes)


def operating_point_table(op: dict) -> pd.DataFrame:
    """Metric rows, one column at argmax and one at the threshold: what the Evaluate tab and the CLI print."""
    return pd.DataFrame({"metric": [REGISTRY[k].label for k in DECISION_METRICS],
                         "argmax": [op["at_argmax"][k] for k in DECISION_METRICS],
                         f"threshold {op['threshold']:.4f}": [op["at_threshold"][k] for k in DECISION_METRICS]})


def operating_point_text(op: dict) -> str:
    """The CLI's sentence on a binary run's decision threshold, before its table."""
    return (f"Decision threshold: P({op['positive']}) >= {op['threshold']:.4f}, chosen by {op['rule']} on "
            f"{op['n']} {op['split']} images; metrics at argmax and at the threshold:")


def operating_point_markdown(op: dict | None) -> str:
    """The tab's sentence on the decision threshold (with where it was chosen and its error rates there)."""
    if op is None:
        return ("No decision threshold: multi-class runs decide by the most probable class; a binary run gets one "
                "(at the EER on its validation split) when it is evaluated.")
    return (f"Decide **{op['positive']}** when P({op['positive']}) ≥ **{op['threshold']:.4f}**, chosen by "
            f"`{op['rule']}` on {op['n']} {op['split']} images (there: FPR {op['fpr']:.3f}, FNR {op['fnr']:.3f}). "
            "Test metrics at argmax and at this threshold:")


def evaluation_text(ev: Evaluation) -> str:
    """The CLI's whole report of one evaluation: heading, metrics, confusion matrix, operating point, notes, files."""
    cm = pd.DataFrame(ev.confusion, index=[f"true {c}" for c in ev.classes], columns=ev.classes)
    parts = [heading(ev), *metrics_lines(ev.metrics, len(ev.classes), ev.intervals)]
    if ev.intervals:
        parts.append("  " + intervals_note(ev.intervals))
    parts.append("\nConfusion matrix (rows true, columns predicted):\n" + cm.to_string())
    if ev.operating_point:
        op = ev.operating_point
        parts += ["\n" + operating_point_text(op),
                  operating_point_table(op).to_string(index=False, float_format="%.4f")]
    parts += [f"note: {note}" for note in ev.notes]
    parts.append("\nWrote:\n  " + "\n  ".join(ev.files))
    return "\n".join(parts)
