"""Section 1, Data: images per class and split, how the labels were made, annotators' agreement, duplicates."""

from __future__ import annotations

import pandas as pd

from workbench import paths
from workbench.data.duplicates import dataset_duplicates
from workbench.evaluate.dataset_check import recorded_images
from workbench.evaluate.leaks import leaked_images, run_leaks
from workbench.evaluate.staleness import run_predictions
from workbench.labeling.agreement import SUGGESTED_SOURCES, disagreements, pairwise_kappa
from workbench.labeling.provenance import provenance_table
from workbench.report import document as doc
from workbench.report.study import Study
from workbench.run import Run

MIN_TEST = 20  # test images per class below which its test metrics move by 5 points or more per image
KAPPA_OK = 0.6  # Landis & Koch: above 0.6, substantial agreement
SHOWN_GROUPS = 6  # duplicate groups shown as images


def data_section(study: Study) -> doc.Section | None:
    """Counts per class and split (the chosen run's recorded split), provenance, kappa, duplicates."""
    store = study.ws.store
    summary = store.summary(study.dataset)
    s = doc.Section("data", "Data")
    boxes = study.chosen is not None and study.chosen.is_detector  # a detector's set: boxes, not image labels
    if boxes:
        s.add(doc.paragraph(f"Dataset {study.dataset}: {summary['images']} images, "
                            f"{len(store.boxed_images(study.dataset))} boxed, "
                            f"{len(store.box_classes(study.dataset))} box classes."))
    else:
        s.add(doc.paragraph(f"Dataset {study.dataset}: {summary['images']} images, {summary['labelled']} labelled, "
                            f"{len(summary['per_class'])} classes."))
    _splits(s, study, summary)
    if not boxes:
        _provenance(s, study)
        _agreement(s, study)
    _duplicates(s, study)
    return s


def split_counts(study: Study) -> pd.DataFrame | None:
    """Images per class (rows) and split (columns) as the chosen run recorded them (dataset.json); None without a run."""
    images = (study.chosen.dataset_info.get("images") if study.chosen else None) or []
    if not images:
        return None
    df = pd.DataFrame(images)
    if study.chosen.is_detector:
        return _detection_counts(df)
    counts = pd.crosstab(df["label"], df["split"]).reindex(columns=["train", "val", "test"], fill_value=0)
    counts = counts.reindex(study.chosen.classes or counts.index, fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts.loc["all classes"] = counts.sum()
    return counts.rename_axis(index="class", columns=None).reset_index()


def _detection_counts(df: pd.DataFrame) -> pd.DataFrame:
    """A detector's images and true boxes per split (its dataset.json records each image's box count)."""
    per = df.groupby("split").agg(images=("image_id", "size"), boxes=("boxes", "sum")).T
    counts = per.reindex(columns=["train", "val", "test"], fill_value=0)
    counts["total"] = counts.sum(axis=1)
    return counts.rename_axis(index="count", columns=None).reset_index()


def _splits(s: doc.Section, study: Study, summary: dict) -> None:
    counts = split_counts(study)
    if counts is None:
        per_class = pd.DataFrame({"class": list(summary["per_class"]), "images": list(summary["per_class"].values())})
        s.add(doc.heading("Images per class"), doc.table(per_class))
        return
    where = f"As run {study.chosen.name} recorded its split (checkpoints/{study.chosen.name}/dataset.json)"
    if study.chosen.is_detector:
        s.add(doc.heading("Images and boxes per split"), doc.table(counts, caption=f"{where}."))
        few = int(counts.set_index("count").loc["boxes", "test"])
        s.check(few >= MIN_TEST, f"{few} true boxes in the test split",
                f"few test boxes: {few} (under {MIN_TEST}: each box moves mAP by 5 points or more)")
        return
    s.add(doc.heading("Images per class and split"),
          doc.table(counts, caption=f"{where}; classes are the run's task classes."))
    test = counts[counts["class"] != "all classes"].set_index("class")["test"]
    few = test[test < MIN_TEST]
    s.check(few.empty, f"every class has at least {MIN_TEST} test images",
            "few test images: " + ", ".join(f"{c} {n}" for c, n in few.items())
            + f" (under {MIN_TEST}: each image moves that class's test metrics by 5 points or more)")
    unlabelled = summary["images"] - summary["labelled"]
    if unlabelled:
        s.info(f"{unlabelled} images are not labelled and take no part in training or testing")


def _provenance(s: doc.Section, study: Study) -> None:
    table = provenance_table(study.ws.store, study.dataset)
    if table.empty:
        return
    s.add(doc.heading("How the labels were made"),
          doc.table(table, caption="Each annotator's current label of each image, by how it was made: typed (a key), "
                                   "accepted (a suggestion, Enter), page (a verify page), bulk, imported, review."))
    total = table.iloc[-1]
    suggested = sum(int(total.get(src, 0)) for src in SUGGESTED_SOURCES)
    if suggested:
        s.info(f"{suggested} of {int(total['labels'])} labels ({suggested / total['labels']:.0%}) are accepted "
               "suggestions: agreement without them is shown beside")


def _agreement(s: doc.Section, study: Study) -> None:
    store, ds = study.ws.store, study.dataset
    kappa = pairwise_kappa(store, ds)
    if kappa.empty:
        s.info("one annotator: no agreement to measure")
        return
    own = pairwise_kappa(store, ds, suggested=False)[["annotator_a", "annotator_b", "kappa"]]
    table = kappa.merge(own.rename(columns={"kappa": "kappa without accepted suggestions"}),
                        on=["annotator_a", "annotator_b"], how="left")
    s.add(doc.heading("Annotators and agreement"), doc.table(table, caption="Cohen's kappa per pair of annotators "
                                                                           "over the images both labelled.", floats="{:.3f}"))
    worst = table.dropna(subset=["kappa"]).sort_values("kappa").head(1)
    if len(worst):
        w = worst.iloc[0]
        s.check(w.kappa >= KAPPA_OK, f"annotators agree (lowest kappa {w.kappa:.2f}, {w.annotator_a} and {w.annotator_b})",
                f"kappa {w.kappa:.2f} between {w.annotator_a} and {w.annotator_b} (under {KAPPA_OK}: moderate "
                "agreement or less)")
    split = disagreements(store, ds)
    if len(split):
        settled = int(split["settled"].notna().sum())
        s.check(settled == len(split), f"all {len(split)} disputed images are settled",
                f"{len(split) - settled} of {len(split)} images annotators disagree on are not settled")


def _duplicates(s: doc.Section, study: Study) -> None:
    store = study.ws.store
    folder = paths.dataset_path(store.home, study.dataset)
    if not any(folder.glob("duplicates-*.npz")):  # never looked for: finding them is `workbench duplicates`' job
        s.info(f"duplicates were not looked for (workbench duplicates {study.dataset})")
        return
    found = dataset_duplicates(store, study.dataset)
    s.check(found.n_groups == 0, "no exact or near duplicates",
            f"{found.n_groups} group{'s' if found.n_groups != 1 else ''} of duplicates ({len(found.groups)} images)")
    if not found.n_groups:
        return
    if study.chosen is not None:
        _leaks(s, study.chosen)
    paths_by_id = store.images(study.dataset).set_index("image_id")["path"]
    shown = found.groups[found.groups["group"] <= SHOWN_GROUPS]
    s.add(doc.heading(f"Duplicate groups (the first {min(SHOWN_GROUPS, found.n_groups)} of {found.n_groups})"))
    for number, members in shown.groupby("group", sort=True):
        s.add(doc.tiles([doc.tile(paths_by_id[i], f"#{i}", name) for i, name in zip(members.image_id, members.name)],
                        "collage"))


def _leaks(s: doc.Section, run: Run) -> None:
    """The chosen run's test images with a copy among its train images (evaluate.leaks), and its metrics without them."""
    if run.is_detector:  # no per-image predictions: the leaked test images counted
        _, recorded = recorded_images(run)
        dup = dataset_duplicates(run.ws.store, run.config.dataset)
        n = len(leaked_images(recorded, dup.groups, dup.pairs))
        s.check(n == 0, f"no test image of {run.name} has a duplicate in its train split",
                f"{n} test image{'s' if n != 1 else ''} of {run.name} {'have' if n != 1 else 'has'} a duplicate in train")
        return
    run_predictions(run)  # the saved evaluation, made again only if missing or stale
    leaks = run_leaks(run)
    s.check(leaks.count == 0, f"no test image of {run.name} has a duplicate in its train split",
            f"{leaks.count} test image{'s' if leaks.count != 1 else ''} of {run.name} "
            f"{'have' if leaks.count != 1 else 'has'} a duplicate in train")
    if leaks.count:
        clean = leaks.metrics_clean
        rows = [("all test images", leaks.n, leaks.metrics_all["accuracy"]),
                ("without the leaked ones", leaks.n - leaks.count, clean["accuracy"] if clean else float("nan"))]
        s.add(doc.heading("Leaks"), doc.table(pd.DataFrame(rows, columns=["test images", "images", "accuracy"]),
                                              caption=f"{run.name}'s test accuracy with and without its leaked images."),
              doc.table(leaks.leaked.rename(columns={"train_copies": "copies in train"})))
