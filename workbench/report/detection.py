"""The chosen run when it is a detector: its test evaluation (mAP@0.5 and COCO mAP with bootstrap intervals, AP per
class, precision-recall curves, the operating score) in section 4, and in section 5 its boxes' outcomes per size and
category tag with a gallery of the most confident box errors of each kind. All read from `workbench evaluate`'s
saved detection evaluation (made again only when missing or older than the checkpoint)."""

from __future__ import annotations

import pandas as pd

from workbench.detect import errors as E
from workbench.detect.evaluate import (DetectionEvaluation, evaluate_detector, evaluation_file,
                                       load_detection_evaluation, load_matches, metrics_table, per_class_table,
                                       thumbnails_folder)
from workbench.detect.gallery import error_page
from workbench.evaluate.plots import pr_figure
from workbench.report import document as doc
from workbench.run import Run

SHOWN_BOXES = 8  # per kind of error, most confident first
WORSE = 2.0  # a size or tag whose boxes are missed this many times as often as all boxes is warned about
MIN_MISSED = 3  # ... when it has at least this many missed boxes


def detection_evaluation(run: Run) -> DetectionEvaluation:
    """The run's saved test evaluation, evaluated again when missing or older than its best checkpoint."""
    ev = load_detection_evaluation(run)
    if ev is None or run.newer_checkpoint_than(evaluation_file(run)):
        ev = evaluate_detector(run)
    return ev


def detection_results(s: doc.Section, run: Run) -> None:
    """Section 4's evaluation of a detector: mAP with intervals, AP per class, PR curves, operating score."""
    ev = detection_evaluation(run)
    s.info(f"test evaluation of its {ev.checkpoint} checkpoint on {ev.n} images with {ev.boxes} true boxes")
    for note in ev.notes:
        s.warn(note)
    s.add(doc.heading("Test metrics"),
          doc.table(metrics_table(ev), caption="mAP@0.5 and COCO mAP@[.5:.95] with 95% intervals: bootstrap over "
                                               "the test images (workbench evaluate's)."),
          doc.heading("AP per class"), doc.table(per_class_table(ev)),
          doc.heading("Precision-recall"),
          doc.figure(pr_figure(ev.pr, f"{run.name}: precision-recall at IoU 0.5 (test)"),
                     "COCO's 101-point curve per class; the legend gives each class's AP@0.5."))
    outcomes = ", ".join(f"{n} {kind}" for kind, n in ev.outcomes.items())
    s.add(doc.heading("Operating score"),
          doc.paragraph(f"Boxes scored {ev.score_threshold:g} or more are kept (the best box F1 on the val split). "
                        f"There, on the test images: {outcomes}."))


def detection_failures(s: doc.Section, run: Run) -> None:
    """Section 5 of a detector: outcomes per box size and per category tag, and a gallery per kind of error."""
    detection_evaluation(run)
    matched = load_matches(run)
    tags = run.ws.store.image_tags(run.config.dataset).rename(columns={"tag": "category"})[["image_id", "category"]]
    for by, what in (("size", "box size"), ("tag", "category tag")):
        table = E.outcome_counts(matched, tags, by=by)
        if len(table) < 2:  # only the 'all boxes' row: no tag on any test image
            continue
        s.add(doc.heading(f"Box outcomes per {what}"), doc.table(table, floats="{:.3f}"))
        _warn_missed(s, table, what)
    thumbs = thumbnails_folder(run)
    for outcome in E.ERRORS:
        view = error_page(matched, thumbs, outcome=outcome, page_size=SHOWN_BOXES)
        tiles = [doc.tile(path, caption) for _, path, caption in view.tiles]
        count = int((matched.outcome == outcome).sum())
        more = f" (the {SHOWN_BOXES} most confident shown)" if count > SHOWN_BOXES else ""
        body = doc.tiles(tiles) if tiles else "<p class='muted'>None.</p>"
        s.add(f"<div class='collage'><h3>{doc.esc(f'{outcome} · {count} box' + ('es' if count != 1 else '') + more)}"
              f"</h3>{body}</div>")


def _warn_missed(s: doc.Section, table: pd.DataFrame, what: str) -> None:
    overall = table.iloc[0]["miss rate"]
    body = table.iloc[1:]
    worse = body[(body["miss rate"] >= WORSE * overall) & (body[E.MISSED] >= MIN_MISSED)] if overall > 0 else body[:0]
    s.check(worse.empty, f"no {what} has its boxes missed {WORSE:g}× as often as all boxes",
            "; ".join(f"{r['group']} boxes missed {r['miss rate']:.0%} of the time ({r[E.MISSED]} of "
                      f"{r['true boxes']}; all boxes {overall:.0%})" for _, r in worse.iterrows()))
