"""Section 5, Failures: the chosen run's error rate per category tag and per quality category, a gallery of each
category's errors with the Grad-CAM of the predicted class beside each, and the suspected label errors (a detector:
its boxes' outcomes per size and tag and a gallery of its box errors, report.detection)."""

from __future__ import annotations

from typing import Callable

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.report import document as doc
from workbench.report.detection import detection_failures
from workbench.report.study import Study
from workbench.review.cam_thumbs import CamThumbs
from workbench.review.categories import ALL_IMAGES
from workbench.review.file_names import with_file_names
from workbench.review.gallery import caption
from workbench.review.label_issues import label_errors_of_test_split, saved_label_errors
from workbench.review.run_cache import RunCache
from workbench.review.run_errors import RunErrors, run_errors
from workbench.run import Run

GROUPINGS = {"tag": "category tag", "quality": "quality category"}
SHOWN_CATEGORIES = 8  # worst first
SHOWN_ERRORS = 6  # per category, most confident mistakes first
SHOWN_SUSPECTS = 12
SHOWN_PX = 96  # an error and its Grad-CAM, side by side at the same size
WORSE = 2.0  # a category failing this many times as often as the rest is warned about
MIN_ERRORS = 3  # ... when it has at least this many errors (one or two is chance)

Progress = Callable[[float, str], None]


def failures_section(study: Study, progress: Progress) -> doc.Section | None:
    """Errors of the chosen run by category, with Grad-CAM; its suspected label errors."""
    run = study.chosen
    if run is None:
        return None
    s = doc.Section("failures", f"Failures of {run.name}")
    if run.is_detector:
        detection_failures(s, run)
        return s
    cache = RunCache(size=1)
    cams = CamThumbs(cache, run, "gradcam")
    shown_any = False
    for i, (grouping, what) in enumerate(GROUPINGS.items()):
        progress(i / 3, f"errors per {what}, with Grad-CAM")
        errors = run_errors(run, grouping)
        if not errors.category_names:
            continue
        shown_any = True
        s.add(doc.heading(f"Error rate per {what}"), doc.table(_rates(errors.table), floats="{:.3f}"))
        _warn_worse(s, errors.table, what)
        failing = errors.table[(errors.table["category"] != ALL_IMAGES) & (errors.table["errors"] > 0)]
        for category in failing["category"].head(SHOWN_CATEGORIES):
            s.add(gallery(errors, category, cams))
    if not shown_any:  # no tags and no quality categories: the errors themselves
        errors = run_errors(run, "confusion")
        s.add(doc.heading("Errors"), gallery(errors, None, cams))
    if cams.note:
        s.info(cams.note)
    progress(2 / 3, "suspected label errors")
    _suspects(s, run)
    return s


def gallery(errors: RunErrors, category: str | None, cams: CamThumbs) -> str:
    """A category's most confident errors, each image beside its Grad-CAM, with its true and predicted class."""
    wrong = errors.errors(category)
    title = f"{category or ALL_IMAGES} · {len(wrong)} error{'s' if len(wrong) != 1 else ''}"
    if wrong.empty:
        return f"<div class='collage'><h3>{doc.esc(title)}</h3><p class='muted'>No errors.</p></div>"
    rows = wrong.head(SHOWN_ERRORS)
    overlays = cams(rows)
    items = [doc.pair(doc.tile(r.path, size=SHOWN_PX), doc.tile(cam, size=SHOWN_PX) if cam != r.path else "",
                      caption(r, errors.classes))
             for r, cam in zip(rows.itertuples(index=False), overlays)]
    more = f" (the {SHOWN_ERRORS} most confident shown)" if len(wrong) > SHOWN_ERRORS else ""
    return f"<div class='collage'><h3>{doc.esc(title + more)}</h3>{doc.tiles(items)}</div>"


def _rates(table: pd.DataFrame) -> pd.DataFrame:
    return table.rename(columns={"error_rate": "error rate", "rest_error_rate": "rest's error rate",
                                 "vs_rest": "× the rest"})


def _warn_worse(s: doc.Section, table: pd.DataFrame, what: str) -> None:
    body = table[table["category"] != ALL_IMAGES]
    worse = body[(body["vs_rest"] >= WORSE) & (body["errors"] >= MIN_ERRORS)]
    s.check(worse.empty, f"no {what} fails {WORSE:g}× as often as the rest",
            "; ".join(f"{r.category} images fail {r.vs_rest:.1f}× as often as the rest ({r.errors} of {r.images})"
                      for r in worse.itertuples()))


def _suspects(s: doc.Section, run: Run) -> None:
    """The search over every labelled image when one is saved and current (Evaluate tab, `workbench evaluate
    --label-errors`); else, at no cost, the test images ranked on the run's own saved test probabilities."""
    try:
        sus = saved_label_errors(run)
        everything = sus is not None
        if not everything:
            sus = label_errors_of_test_split(run)
    except WorkbenchError as e:
        s.info(f"no label-error search: {e}")
        return
    s.add(doc.heading("Suspected label errors"))
    where = "labelled images" if everything else "test images"
    confident = int(sus["confident_learning"].sum())
    # only cleanlab's are counted as suspects: the others are every image the model gets wrong, listed for review
    s.check(confident == 0, f"no suspected label errors among the {where} by cleanlab's confident learning",
            f"{confident} suspected label error{'s' if confident != 1 else ''} among the {where} by cleanlab's "
            "confident learning; send them back to labelling from the Evaluate tab")
    if len(sus) > confident:
        s.info(f"{len(sus) - confident} more {where} whose label the model's probabilities contradict, ranked "
               "with them below (most suspicious first)")
    if not everything:
        s.info(f"train and val labels not searched: the Evaluate tab's suspected label errors (or workbench evaluate "
               f"{run.name} --label-errors 20) search every labelled image, and the report then shows that search")
    if sus.empty:
        s.add(doc.paragraph("None found.", "muted"))
        return
    sus = with_file_names(run, sus)
    items = [doc.tile(r.path, f"{r.name}\ngiven: {r.given}\nsuggested: {r.suggested} ({r.p_suggested:.0%})")
             for r in sus.head(SHOWN_SUSPECTS).itertuples(index=False)]
    how = ("Out-of-fold probabilities of a linear head on the run's embeddings of every labelled image"
           if everything else "The run's own probabilities on its test images (out of sample: it never trained on them)")
    s.add(doc.paragraph(f"{how}, ranked by cleanlab's self-confidence (most suspicious first)."), doc.tiles(items))
