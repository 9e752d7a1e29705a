"""Section 3, Methods: the comparison's table with its intervals, baselines and verdict, and the val curves grouped
by method (mean over seeds, ±1 std band)."""

from __future__ import annotations

from collections import Counter

from workbench.report import document as doc
from workbench.report.study import Study
from workbench.train.compare import methods_figure_of
from workbench.train.results import comparison_caveats, methods_table

MIN_SEEDS = 3  # seeds per method below which a mean ± std says little


def methods_section(study: Study) -> doc.Section | None:
    """The methods compared over seeds, when the study has two runs or more."""
    runs = [r for r in study.runs if len(r.history)]
    if len(runs) < 2:
        return None
    s = doc.Section("methods", "Methods")
    seeds = Counter(r.config.method for r in runs)
    fewest = min(seeds.values())
    s.check(fewest >= MIN_SEEDS, f"at least {MIN_SEEDS} seeds per method",
            f"{fewest} seed{'s' if fewest != 1 else ''} per method ("
            + ", ".join(f"{m} {n}" for m, n in sorted(seeds.items())) + ")")
    for caveat in comparison_caveats(runs):
        s.warn(caveat)
    s.add(doc.table(methods_table(runs), caption="Final val metrics per method and baseline: mean ± std over seeds."))
    s.add(doc.figure(methods_figure_of(runs), "Val curves by method: mean over seeds, band ±1 std; baselines dashed."))
    return s
