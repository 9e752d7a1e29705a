"""`workbench report`: one offline HTML file of a small real comparison (faces, fine-tuning against feature
extraction), each section's numbers read back from its tables and checked against the core's; sections without data
left out; the file fetches nothing (images are data URIs, plotly.js inlined)."""

from __future__ import annotations

import hashlib
import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import main
from workbench.data.demo import ensure_scenes, faces_truth
from workbench.data.scenes import SceneSpec
from workbench.detect.compare import detector_comparison
from workbench.detect.errors import ERRORS, outcome_counts
from workbench.detect.evaluate import load_detection_evaluation, load_matches, per_class_table
from workbench.detect.evaluate import metrics_table as detection_metrics_table
from workbench.data.duplicates import dataset_duplicates
from workbench.evaluate.comparison import Comparison
from workbench.evaluate.evaluate import probs_of
from workbench.evaluate.intervals import metric_intervals
from workbench.evaluate.report import INTERVAL_COLUMN, interval_text, intervals_note, metrics_table
from workbench.labeling.agreement import pairwise_kappa
from workbench.metrics import metric_label
from workbench.report import build_report, open_study
from workbench.report.reproduce import data_hashes
from workbench.report.failures import failures_section
from workbench.review.label_issues import label_errors_of_test_split, run_label_errors
from workbench.review.run_cache import RunCache
from workbench.review.run_errors import run_errors
from workbench.store import ImageRecord, Store
from workbench.train.compare import compare_methods
from workbench.train.config import Augment, Detect, RunConfig
from workbench.train.tasks import train as train_task
from workbench.workspace import Workspace

pytestmark = pytest.mark.slow
RUNS = ["cmp-ft-s0", "cmp-fe-s0"]


@pytest.fixture(scope="module")
def study_home(faces_home):
    """Faces labelled by 'truth', 40 of them also by 'bob' (4 disagreeing), 2 category tags, duplicates looked for,
    and a comparison of both methods on one seed (1 epoch, 32 px)."""
    store, ws = faces_home.store, faces_home.ws
    truth = faces_truth(store)
    other = {"face": "not face", "not face": "face"}
    both = list(truth.items())[::5]
    store.add_labels("faces", [(i, other[c] if k % 10 == 0 else c) for k, (i, c) in enumerate(both)], "bob", "typed")
    for k, (i, _) in enumerate(list(truth.items())[::6]):
        store.set_image_tag(i, "glasses" if k % 2 else "dark", "truth")
    plant_copy(store, "faces", truth)
    dataset_duplicates(store, "faces")
    results = compare_methods(ws, RunConfig("faces", input_size=32, epochs=1, lr=0.01), seeds=1, prefix="cmp",
                              name="cmp-compare")
    assert [r.status for r in results] == ["completed", "completed"], [r.message for r in results]
    return ws


def plant_copy(store: Store, dataset: str, truth: pd.Series) -> None:
    """One exact copy of the set's first image, labelled like it, so the Data section has a duplicate group."""
    first = store.images(dataset).iloc[0]
    copy = Path(first["path"]).with_name("copy-of-" + Path(first["path"]).name)
    shutil.copyfile(first["path"], copy)
    store.add_images(dataset, [ImageRecord(copy.name, str(copy), hashlib.sha256(copy.read_bytes()).hexdigest(),
                                           int(first["width"]), int(first["height"]), first["mode"],
                                           int(store.count_images(dataset)))])
    new_id = int(store.images(dataset).set_index("name").at[copy.name, "image_id"])
    store.add_labels(dataset, [(new_id, truth[int(first["image_id"])])], "truth", "typed")


@pytest.fixture(scope="module")
def page(study_home):
    return build_report(open_study(study_home, "faces", comparison="cmp-compare"))


class Tables(HTMLParser):
    """The report's sections: their pass/warn lines and their tables as lists of rows of cell texts."""

    def __init__(self, text: str):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.cur: dict | None = None
        self.cell: list[str] | None = None
        self.in_check = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.cur = self.sections.setdefault(a["id"], {"checks": [], "tables": [], "imgs": 0})
        elif self.cur is None:
            return
        elif tag == "table":
            self.cur["tables"].append([])
        elif tag == "tr":
            self.cur["tables"][-1].append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "li" and a.get("class") in ("pass", "warn", "info"):
            self.in_check, self.cell = True, []
        elif tag == "img":
            self.cur["imgs"] += 1

    def handle_endtag(self, tag):
        if self.cur is None or self.cell is None:
            return
        if tag in ("td", "th"):
            self.cur["tables"][-1][-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "li" and self.in_check:
            self.cur["checks"].append("".join(self.cell).strip())
            self.in_check, self.cell = False, None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def frame(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows[1:], columns=rows[0])


def table_with(section: dict, *columns: str) -> pd.DataFrame:
    """The section's first table with these column headers."""
    found = [frame(t) for t in section["tables"] if set(columns) <= set(t[0])]
    assert found, f"no table with {columns} in {[t[0] for t in section['tables']]}"
    return found[0]


def test_every_section_shows_the_cores_numbers(study_home, page):
    ws = study_home
    parts = Tables(page).sections
    assert list(parts) == ["data", "categories", "methods", "chosen", "failures", "reproduce"]
    assert "comparison cmp-compare (2 runs)" in page
    runs = [ws.run(n) for n in RUNS]
    chosen = min(runs, key=lambda r: r.best_val_loss)  # on validation, never test

    # 1. Data: the chosen run's recorded split, provenance, kappa, duplicates
    data = parts["data"]
    split = pd.DataFrame(chosen.dataset_info["images"])
    counts = table_with(data, "class", "train", "val", "test").set_index("class")
    for c in chosen.classes:
        for s in ("train", "val", "test"):
            assert int(counts.loc[c, s]) == ((split.label == c) & (split.split == s)).sum()
    assert int(counts.loc["all classes", "total"]) == 201   # the faces and the planted copy
    made = table_with(data, "annotator", "typed", "bulk").set_index("annotator")
    assert made.loc["bob", "typed"] == "40" and made.loc["truth", "bulk"] == "200"
    kappa = pairwise_kappa(ws.store, "faces").iloc[0]
    shown = table_with(data, "annotator_a", "kappa").iloc[0]
    assert shown["kappa"] == f"{kappa.kappa:.3f}" and shown["agree"] == "36"
    assert any(c.startswith("warn: 4 of 4 images annotators disagree on") for c in data["checks"])
    groups = dataset_duplicates(ws.store, "faces").n_groups
    assert groups >= 1   # the planted copy
    assert any(c.startswith(f"warn: {groups} group") for c in data["checks"])
    # the split keeps a group on one side, so the chosen run has no leak
    assert f"pass: no test image of {chosen.name} has a duplicate in its train split" in data["checks"]

    # 2. Categories: counts per tag, a collage each
    cats = table_with(parts["categories"], "kind", "category", "images")
    tags = ws.store.image_tags("faces").groupby("tag")["image_id"].nunique()
    assert dict(zip(cats[cats.kind == "Category tags"].category, cats[cats.kind == "Category tags"].images.astype(int))) \
        == tags.to_dict()
    assert parts["categories"]["imgs"] >= len(tags) * 2

    # 3. Methods: the comparison saved with the runs (intervals, baselines, pairs, verdict), the seed warning
    cmp = Comparison.load(ws.plot_folder("cmp-compare"))
    methods = table_with(parts["methods"], "method", "seeds")
    core = cmp.shown_table().astype(str)
    assert methods.method.tolist() == core.method.tolist()
    assert methods["test accuracy"].tolist() == core["test accuracy"].tolist()
    assert any(row[0] == "baseline: linear probe" for row in methods.values.tolist())
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert f"Verdict: {cmp.verdict}" in text
    assert any(c.startswith("warn: Only 1 seed: no interval and no verdict") for c in parts["methods"]["checks"])
    # the map the runs were built with: "auto" recorded the small stem at 32 px, a 4×4 map (1×1 is the standard's)
    assert "pass: feature extraction on a 4×4 map (efficientnet_lite0 at 32 px)" in parts["methods"]["checks"]

    # 4. The chosen run: its saved test evaluation, metric by metric
    ev = chosen.evaluation("test")
    shown = table_with(parts["chosen"], "metric", "value", INTERVAL_COLUMN)
    assert shown.to_dict("list") == metrics_table(ev.metrics, 2, ev.intervals).astype(str).to_dict("list")
    # the intervals are evaluate.intervals' on the saved test predictions (not recomputed another way)
    preds = chosen.predictions("test")
    core = metric_intervals(preds["y_true"].to_numpy(), probs_of(preds))
    shown = shown.set_index("metric")[INTERVAL_COLUMN]
    for key in ("accuracy", "f1", "roc_auc", "eer"):
        assert shown[metric_label(key, 2)] == interval_text(key, core[key].to_dict()) != ""
    assert intervals_note(ev.intervals) in html.unescape(page)
    assert f"info: test evaluation of its best checkpoint on {ev.n} images" in parts["chosen"]["checks"]

    # 5. Failures: error rate per category tag as run_errors finds it, suspected label errors counted
    rates = table_with(parts["failures"], "category", "errors", "error rate").set_index("category")
    core_rates = run_errors(chosen, "tag").table.set_index("category")
    for cat, row in core_rates.iterrows():
        assert int(rates.loc[cat, "errors"]) == row.errors and rates.loc[cat, "error rate"] == f"{row.error_rate:.3f}"
    # suspected label errors: at no cost, the test images ranked on the run's saved test probabilities
    assert not list(chosen.folder.glob("label_suspects-*.csv"))  # no model run for them
    sus = label_errors_of_test_split(chosen)
    # only cleanlab's are counted as suspects; the rest of the misclassified are listed as such
    confident, checks = int(sus.confident_learning.sum()), parts["failures"]["checks"]
    assert (any(c.startswith(f"warn: {confident} suspected label error") for c in checks) if confident
            else "pass: no suspected label errors among the test images by cleanlab's confident learning" in checks)
    assert any(c.startswith(f"info: {len(sus) - confident} more test images whose label") for c in checks) \
        or len(sus) == confident
    assert any(c.startswith("info: train and val labels not searched") for c in parts["failures"]["checks"])

    # 6. Reproduce: commands that train each run again (the stem auto chose at 32 px recorded), data hashes
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "workbench train faces --method finetune --input-size 32 --stem small --epochs 1 --lr 0.01 --name cmp-ft-s0" in text
    assert "workbench train faces --input-size 32 --stem small --epochs 1 --lr 0.01 --name cmp-fe-s0" in text
    hashes = table_with(parts["reproduce"], "run", "data sha256").set_index("run")
    core_hashes = data_hashes(runs).set_index("run")
    assert hashes["data sha256"].to_dict() == core_hashes["data sha256"].to_dict()
    assert "pass: every run's images, labels and splits are as they were when it trained" in parts["reproduce"]["checks"]


def test_the_page_fetches_nothing(page):
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)  # plotly.js names its own site in links
    assert not re.search(r"""(src|href)\s*=\s*['"]?\s*(https?:)?//""", markup, re.I)
    assert not re.search(r"@import|url\(", markup, re.I)
    assert "<script src" not in page.replace('"', "'")
    images = re.findall(r"<img [^>]*src='([^']*)'", page)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert page.count("<script type='text/javascript'>") == 1 and "Plotly" in page  # plotly.js inlined once


def few(store: Store) -> str:
    """A dataset of 3 unlabelled images, no tags, no runs."""
    store.create_dataset("few", classes=["a", "b"], tags=())
    faces = store.images("faces").head(3)
    store.add_images("few", [ImageRecord(f"{i}.png", p, sha, 25, 25, "L", i)
                             for i, (p, sha) in enumerate(zip(faces.path, faces.sha256))])
    return "few"


def test_sections_without_data_are_left_out(study_home):
    few(study_home.store)
    parts = Tables(build_report(open_study(study_home, "few"))).sections
    assert list(parts) == ["data", "reproduce"]  # no runs, no tags, too few images for quality categories
    assert "info: duplicates were not looked for (workbench duplicates few)" in parts["data"]["checks"]


def test_cli_writes_the_report_and_refuses_mistakes(study_home, tmp_path, capsys):
    out = tmp_path / "sub" / "ft.html"
    assert main(["report", "faces", "--runs", "cmp-ft-s0", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"report of faces (1 run) written to {out}" in said
    assert "  warn: Data: few test images: face " in said  # the report's warnings, each with its section
    parts = Tables(out.read_text()).sections
    assert "methods" not in parts and "The chosen run: cmp-ft-s0" in out.read_text()
    assert main(["report", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["report", few(study_home.store), "--runs", "cmp-ft-s0"]) == 2
    assert "trained on another dataset than 'few'" in capsys.readouterr().err
    assert main(["report", "faces", "--comparison", "nothing"]) == 2
    assert "No comparison named 'nothing'" in capsys.readouterr().err


def test_failures_show_the_search_over_every_label_once_it_is_saved(study_home):
    study = open_study(study_home, "faces", comparison="cmp-compare")
    every = run_label_errors(study.chosen, RunCache())  # the Evaluate tab's search, saved beside the run
    checks = [c.text for c in failures_section(study, lambda f, m: None).checks]
    where = "among the labelled images"
    confident = int(every.confident_learning.sum())
    assert (f"{confident} suspected label error" in " ".join(checks) if confident
            else f"no suspected label errors {where} by cleanlab's confident learning" in checks)
    assert not any(c.startswith("train and val labels not searched") for c in checks)


def test_a_detection_run_is_reported_with_its_own_evaluation_and_box_errors(home, store):
    """A tiny detector on composed scenes (1 epoch, 64 px): its chosen-run section shows workbench evaluate's mAP with
    intervals and AP per class, its failures its box outcomes and galleries; sections that do not apply are left out."""
    ws = Workspace.around(store, home)
    ensure_scenes(store, spec=SceneSpec(n=30, size=(160, 120), per_image=(2, 3), scale=(20, 40), seed=0))
    result = train_task(ws, RunConfig("scenes", method="finetune", epochs=1, batch_size=8, detect=Detect("fcos", 64),
                                      augment=Augment(flip=False, rotation=0, crop_scale=0.8), name="det"))
    assert result.status == "completed", result.message
    page = build_report(open_study(ws, "scenes"))
    parts = Tables(page).sections
    assert {"data", "chosen", "failures", "reproduce"} <= set(parts) and "methods" not in parts
    run = ws.run("det")
    ev = load_detection_evaluation(run)  # the report evaluated it (none was saved), as workbench evaluate does
    assert table_with(parts["chosen"], "metric", "value").to_dict("list") == \
        detection_metrics_table(ev).astype(str).to_dict("list")
    assert table_with(parts["chosen"], "class", "AP@0.5").to_dict("list") == \
        per_class_table(ev).astype(str).to_dict("list")
    assert f"info: test evaluation of its best checkpoint on {ev.n} images with {ev.boxes} true boxes" \
        in parts["chosen"]["checks"]
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "Precision-recall" in text and "detect.detector" in text and "input_size" not in text

    split = pd.DataFrame(run.dataset_info["images"])
    counts = table_with(parts["data"], "count", "train", "test").set_index("count")
    assert int(counts.loc["boxes", "test"]) == split.loc[split.split == "test", "boxes"].sum()
    assert int(counts.loc["images", "total"]) == len(split)
    assert f"Dataset scenes: 30 images, 30 boxed, {len(store.box_classes('scenes'))} box classes." in text
    assert not any("annotator" in c for c in parts["data"]["checks"])  # label agreement: not a box set's question

    matched = load_matches(run)
    sizes = table_with(parts["failures"], "group", "true boxes", "missed").set_index("group")
    for _, row in outcome_counts(matched, by="size").iterrows():
        assert int(sizes.loc[row["group"], "missed"]) == row["missed"]
        assert int(sizes.loc[row["group"], "true boxes"]) == row["true boxes"]
    errors = int(matched.outcome.isin(ERRORS).sum())
    assert errors and parts["failures"]["imgs"] == sum(min(8, int((matched.outcome == o).sum())) for o in ERRORS)
    assert "workbench train scenes" in text
    assert "pass: every run's images, labels and splits are as they were when it trained" in parts["reproduce"]["checks"]

    # a second detector: Methods compares the two on the test images they share, paired, with a verdict
    result = train_task(ws, RunConfig("scenes", method="finetune", epochs=1, batch_size=8, detect=Detect("fcos", 96),
                                      augment=Augment(flip=False, rotation=0, crop_scale=0.8), name="det2"))
    assert result.status == "completed", result.message
    page = build_report(open_study(ws, "scenes"))
    parts, text = Tables(page).sections, html.unescape(re.sub(r"<[^>]+>", "", page))
    cmp = detector_comparison([run, ws.run("det2")])
    shown = table_with(parts["methods"], "run", "mAP@0.5", "Δ mAP@0.5 vs det")
    assert shown["run"].tolist() == ["det", "det2"]
    assert shown["Δ mAP@0.5 vs det"].tolist()[1] == cmp.table["Δ mAP@0.5 vs det"].tolist()[1]
    assert shown["mAP@0.5 95% CI"].tolist() == cmp.table["mAP@0.5 95% CI"].tolist()
    assert len(cmp.differences) == 2 and all(d.says() in text for d in cmp.differences)


def test_report_button_with_only_a_saved_comparison_reports_it_on_its_dataset(study_home):
    from workbench.ui.report_panel import write_report as button

    said, path = button(study_home, None, None, "cmp-compare", progress=lambda *a, **k: None)
    assert said.startswith("**Report of faces**, comparison cmp-compare (2 runs): 6 sections")
    assert "comparison cmp-compare (2 runs)" in Path(path).read_text()


def test_a_multi_class_runs_training_curves_say_one_vs_rest(d3_run):
    """The chosen run's curves titled a 3-class run's panels "ROC AUC" and "EER", where its metrics table and the
    Experiments tab's curves say they are one-vs-rest means."""
    from samples import D3, D3_RUN
    from workbench.report.chosen import chosen_section

    body = "".join(chosen_section(open_study(d3_run.ws, D3, runs=[D3_RUN])).body)
    assert "Mean one-vs-rest ROC AUC" in body and "Mean one-vs-rest EER" in body
