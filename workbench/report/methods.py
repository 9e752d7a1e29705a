"""Section 3, Methods: the comparison's table with its intervals, baselines and verdict, and the val curves grouped
by method (mean over seeds, ±1 std band)."""

from __future__ import annotations

from collections import Counter

from workbench.report import document as doc
from workbench.report.study import Study
from workbench.run import Run
from workbench.train.backbones import feature_map_size
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
    check_feature_maps(s, runs)
    s.add(doc.table(methods_table(runs), caption="Final val metrics per method and baseline: mean ± std over seeds."))
    s.add(doc.figure(methods_figure_of(runs), "Val curves by method: mean over seeds, band ±1 std; baselines dashed."))
    return s


def check_feature_maps(s: doc.Section, runs: list[Run]) -> None:
    """warn for each backbone and input size that feature extraction ran on with a 1×1 last feature map: the frozen
    backbone pooled nothing spatial, so the comparison says little about feature extraction at a fitting size."""
    shapes = sorted({(r.config.backbone, r.config.input_size) for r in runs if r.config.method == "feature_extract"})
    for backbone, size in shapes:
        h, w = feature_map_size(backbone, size)
        s.check(h * w > 1, f"feature extraction on a {h}×{w} map ({backbone} at {size} px)",
                f"feature extraction on a 1×1 map ({backbone} at {size} px): its frozen features are one pooled cell; "
                "a larger input size gives them a spatial map")
