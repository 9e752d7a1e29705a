"""How an evaluation reads, for the CLI and the Evaluate tab alike: metric rows in the registry's order and format,
the heading line, and the operating point's sentence and table. Text and tables only; nothing is computed here."""

from __future__ import annotations

import pandas as pd

from workbench.evaluate.records import Evaluation
from workbench.metrics import DECISION_METRICS, REGISTRY, REPORT_METRICS, format_metric


def metric_rows(metrics: dict, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(key, formatted value) of each report metric present in `metrics`, in the registry's order."""
    return [(k, format_metric(k, metrics[k])) for k in REPORT_METRICS if k in metrics and k not in skip]


def metrics_table(metrics: dict) -> pd.DataFrame:
    """Metrics as a two-column table (metric label, formatted value): the Evaluate tab's "Test metrics"."""
    rows = metric_rows(metrics)
    return pd.DataFrame({"metric": [REGISTRY[k].label for k, _ in rows], "value": [v for _, v in rows]})


def metrics_lines(metrics: dict) -> list[str]:
    """The CLI's metric lines, keyed as in the JSON (the image count is in the heading)."""
    return [f"  {k:14s} {v}" for k, v in metric_rows(metrics, skip=("n",))]


def heading(ev: Evaluation, markdown: bool = False) -> str:
    """'run · best checkpoint · 30 test images' (the run in bold for markdown)."""
    name = f"**{ev.run}**" if markdown else ev.run
    return f"{name} · {ev.checkpoint} checkpoint · {ev.n} {ev.split} images"


def status_markdown(ev: Evaluation) -> str:
    """The tab's status: the heading, then the evaluation's notes as a list."""
    return heading(ev, markdown=True) + "".join(f"\n- {n}" for n in ev.notes)


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
    parts = [heading(ev), *metrics_lines(ev.metrics),
             "\nConfusion matrix (rows true, columns predicted):\n" + cm.to_string()]
    if ev.operating_point:
        op = ev.operating_point
        parts += ["\n" + operating_point_text(op),
                  operating_point_table(op).to_string(index=False, float_format="%.4f")]
    parts += [f"note: {note}" for note in ev.notes]
    parts.append("\nWrote:\n  " + "\n  ".join(ev.files))
    return "\n".join(parts)
