"""Section 3, Methods: the comparison (evaluate.comparison: its design, table with 95% intervals and baselines, paired
differences, verdict, warnings) and the val curves grouped by method (mean over seeds, ±1 std band); for two
detection runs or more, their mAP side by side with paired differences on the shared test images (detect.compare)."""

from __future__ import annotations

from workbench.detect.compare import detector_comparison
from workbench.evaluate.comparison import COMPARISON_FILE, Comparison, compare_runs
from workbench.errors import WorkbenchError
from workbench.evaluate.staleness import run_predictions
from workbench.metrics import REGISTRY
from workbench.report import document as doc
from workbench.report.detection import detection_evaluation
from workbench.report.study import Study
from workbench.run import Run
from workbench.train.compare import methods_figure_of
from workbench.train.stems import run_map


def methods_section(study: Study) -> doc.Section | None:
    """The methods compared over seeds, when the study has two runs or more: the comparison saved with them
    (`--comparison`), else the one their saved test evaluations and baselines give."""
    runs = [r for r in study.runs if len(r.history) and not r.is_detector]
    detectors = [r for r in study.runs if len(r.history) and r.is_detector]
    if len(runs) < 2 and len(detectors) < 2:
        return None
    s = doc.Section("methods", "Methods")
    if len(detectors) >= 2:
        detectors_compared(s, detectors)
    if len(runs) < 2:
        return s
    cmp = comparison_of(study, runs)
    for warning in cmp.warnings:  # too few seeds, random weights, unpaired runs, ...
        s.warn(warning)
    if not cmp.warnings:
        s.check(True, f"{len(cmp.design.seeds)} seeds, {cmp.design.kind} design", "")
    check_feature_maps(s, runs)
    for note in cmp.notes:
        s.info(note)
    s.add(doc.paragraph(cmp.design.describe()))
    s.add(doc.table(cmp.shown_table(), caption="Test metrics of the best checkpoints: mean [95% t-interval] over seeds; "
                                               "val: the best epoch's. Baselines are fitted on each seed's split."))
    s.add(doc.heading(f"Paired differences in test {REGISTRY[cmp.metric].label}"),
          doc.table(cmp.shown_pairs(), caption="Row a − row b per seed, on the same test images."))
    s.add(doc.paragraph(f"Verdict: {cmp.verdict}", "verdict"))
    if cmp.baseline_verdict:
        s.add(doc.paragraph(f"Against the baselines: {cmp.baseline_verdict}", "verdict"))
    s.add(doc.figure(methods_figure_of(runs), "Val curves by method: mean over seeds, band ±1 std; baselines dashed."))
    return s


def detectors_compared(s: doc.Section, runs: list[Run]) -> None:
    """The detection runs' mAP with intervals and each one's paired difference from the first, with the verdict."""
    for run in runs:
        detection_evaluation(run)  # saved test predictions: evaluated again when missing or stale
    try:
        cmp = detector_comparison(runs)
    except WorkbenchError as e:  # e.g. different split seeds: no shared test images to pair on
        s.warn(f"detection runs not compared: {e}")
        return
    s.info(f"{len(runs)} detection runs on the {cmp.images} test image{'s' * (cmp.images != 1)} they share, one run "
           "each: the intervals are over images, not over training seeds")
    s.add(doc.heading("Detectors"),
          doc.table(cmp.table, caption="mAP@0.5 and COCO mAP with 95% bootstrap intervals over the test images; Δ: "
                                       "each run minus the first, paired (the same resampled images score both)."),
          doc.paragraph(f"Verdict: {cmp.verdict}", "verdict"))


def comparison_of(study: Study, runs: list[Run]) -> Comparison:
    """The comparison saved in the study's comparison folder, else made from the runs (each evaluated first when
    its saved test evaluation is missing or stale)."""
    folder = study.comparison_folder
    if folder is not None and (folder / COMPARISON_FILE).is_file():
        return Comparison.load(folder)
    for run in runs:
        run_predictions(run)
    return compare_runs(runs)


def check_feature_maps(s: doc.Section, runs: list[Run]) -> None:
    """warn for each backbone and input size that feature extraction ran on with a 1×1 last feature map: the frozen
    backbone pooled nothing spatial, so the comparison says little about feature extraction at a fitting size."""
    configs = {(r.config.backbone, r.config.input_size, r.config.stem): r.config for r in runs
               if r.config.method == "feature_extract"}
    for (backbone, size, _), cfg in sorted(configs.items()):
        hw = run_map(cfg)  # with the run's own stem: "auto" at 32 px is 4×4 (small stem), not the standard 1×1
        if hw is None:
            continue
        h, w = hw
        s.check(h * w > 1, f"feature extraction on a {h}×{w} map ({backbone} at {size} px)",
                f"feature extraction on a 1×1 map ({backbone} at {size} px): its frozen features are one pooled cell; "
                "a larger input size gives them a spatial map")
