"""Around the training loop: compare methods (CLI and table), curve plots, background jobs."""

import re
import threading

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from workbench.cli import main
from workbench.run import list_runs
from workbench.train.config import RunConfig, random_features_caveat
from workbench.evaluate.comparison import Comparison
from workbench.train.baselines import PIXELS, PROBE, SVM
from workbench.train.compare import plan
from workbench.train.results import final_val_metrics, load_baselines
from workbench.train import loop
from workbench.train.jobs import JobManager
from workbench.train.methods import METHODS
from workbench.plots import curves_figure, methods_figure, save_curves

pytestmark = pytest.mark.slow


def _test_ids(ws, run: str) -> list[int]:
    """The image ids a run was evaluated on (its predictions_test.csv)."""
    return sorted(pd.read_csv(ws.run(run).predictions_path("test")).image_id)


def test_feature_extraction_on_random_weights_is_said_before_and_in_the_comparison(ws, faces_labelled, capsys):
    assert random_features_caveat("feature_extract", "offline") is None
    assert random_features_caveat("finetune", "none") is None  # fine-tuning trains the backbone itself
    assert "random weights" in random_features_caveat("feature_extract", "None")
    assert random_features_caveat("finetune", "none", comparing=True).startswith("The comparison's feature extraction")
    rc = main(["train", "faces", "--compare-methods", "--seeds", "1", "--epochs", "1", "--input-size", "16",
               "--backbone", "resnet18", "--weights", "none", "--name", "rnd"])
    got = capsys.readouterr()
    assert rc == 0
    assert got.err.startswith("warning: The comparison's feature extraction runs on random weights")
    # a warning above the table says what it means, and every row built on the untrained backbone says so
    assert "WARNING: Feature extraction on random weights (weights: none)" in got.out
    # resnet18 at 16 px ends on a 2×2 map even with the small stem "auto" picks: the table warns of it too
    assert "WARNING: Feature extraction pools a 2×2 last feature map (resnet18 at 16 px)" in got.out
    table = got.out[got.out.index("Test metrics of the best checkpoints"):]
    for method in ("feature_extract", "finetune", PROBE):
        assert re.search(rf"^\s*{re.escape(method)}\s+resnet18 \(random weights\)", table, re.M), table
    runs = [ws.run(r) for r in list_runs(ws)]
    assert set(final_val_metrics(runs, with_baselines=True).backbone) == {"resnet18 (random weights)", ""}


def test_cli_compare_methods_prints_the_paired_table_and_saves_the_comparison(ws, faces_labelled, capsys):
    rc = main(["train", "faces", "--compare-methods", "--seeds", "2", "--epochs", "1", "--input-size", "32",
               "--lr", "0.01", "--name", "cmp"])
    out = capsys.readouterr().out
    assert rc == 0
    assert sorted(list_runs(ws)) == ["cmp-fe-s0", "cmp-fe-s1", "cmp-ft-s0", "cmp-ft-s1"]
    assert "Paired design: one split (split seed 0), training seeds 0, 1" in out
    assert "WARNING: Only 2 seeds" in out and "Verdict: " in out and "Against the baselines: " in out
    saved = Comparison.load(ws.plots / "cmp-compare")
    assert saved.design.kind == "paired" and saved.design.split_seeds == [0]
    table = saved.shown_table().set_index("method")
    assert list(table.index) == ["feature_extract", "finetune", PIXELS, PROBE, SVM]  # the SVM row among the baselines
    assert (table.seeds == 2).all()
    assert table.loc["finetune", "input size"] == 32 and table.loc["finetune", "epochs"] == 1
    for method in table.index:  # the table printed is the one saved
        assert method in out
    assert table.loc[PIXELS, "backbone"] == "-" and table.loc[PROBE, "weights"] == "offline"
    # paired: every run and every baseline of every seed scored on the same test images, runs on their best checkpoint
    test = _test_ids(ws, "cmp-ft-s0")
    for seed in (0, 1):
        assert ws.run(f"cmp-ft-s{seed}").config.split_seed == 0
        assert _test_ids(ws, f"cmp-ft-s{seed}") == _test_ids(ws, f"cmp-fe-s{seed}") == test
        assert sorted(load_baselines(ws.run(f"cmp-fe-s{seed}"))["test_ids"]) == test
        assert ws.run(f"cmp-fe-s{seed}").evaluation("test").checkpoint == "best"
    ft = [ws.run(f"cmp-ft-s{s}").evaluation("test").metrics["accuracy"] for s in (0, 1)]
    assert table.loc["finetune", "test accuracy"].startswith(f"{np.mean(ft):.3f} [")
    plots = ws.plots / "cmp-compare"
    assert (plots / "curves.html").stat().st_size > 10_000
    assert Image.open(plots / "curves.png").size[0] > 500
    assert pd.read_csv(plots / "methods.csv").shape[0] == 5 and pd.read_csv(plots / "pairs.csv").shape[0] == 7
    assert "±1 std" in (plots / "methods.html").read_text()
    assert (ws.plots / "cmp-ft-s1" / "curves.html").is_file()  # each run's own curves too


def test_resampled_splits_give_each_seed_its_own_test_images(ws, faces_labelled, capsys):
    rc = main(["train", "faces", "--compare-methods", "--resample-splits", "--seeds", "2", "--epochs", "1",
               "--input-size", "16", "--name", "rs"])
    out = capsys.readouterr().out
    assert rc == 0 and "Repeated hold-out: a new split for each seed (0, 1)" in out
    assert [ws.run(f"rs-ft-s{s}").config.split_seed for s in (0, 1)] == [0, 1]
    s0, s1 = _test_ids(ws, "rs-ft-s0"), _test_ids(ws, "rs-ft-s1")
    assert s0 != s1  # a new split per seed ...
    for seed, ids in ((0, s0), (1, s1)):  # ... within which runs and baselines are still paired
        assert _test_ids(ws, f"rs-fe-s{seed}") == ids == sorted(load_baselines(ws.run(f"rs-fe-s{seed}"))["test_ids"])
    assert Comparison.load(ws.plots / "rs-compare").design.kind == "repeated hold-out"


def test_comparison_runs_are_named_for_what_they_are_and_share_a_split():
    name, runs = plan(RunConfig("faces", backbone="resnet18", weights="none"), 2)
    assert re.fullmatch(r"faces-compare-resnet18-\d{8}-\d{6}", name)
    for cfg, (method, short, seed) in zip(runs, [("finetune", "ft", 0), ("feature_extract", "fe", 0),
                                                 ("finetune", "ft", 1), ("feature_extract", "fe", 1)]):
        assert cfg.method == method and cfg.seed == seed and cfg.split_seed == 0
        assert re.fullmatch(rf"faces-{short}-resnet18-s{seed}-\d{{8}}-\d{{9}}", cfg.name), cfg.name
    assert len({c.name for c in runs}) == 4
    assert [c.name for c in plan(RunConfig("faces"), [3], prefix="mine")[1]] == ["mine-ft-s3", "mine-fe-s3"]
    # seeds count from --seed; the split is the first seed's unless --split-seed says otherwise
    assert [(c.seed, c.split_seed) for c in plan(RunConfig("faces", seed=5), 2)[1]] == [(5, 5)] * 2 + [(6, 5)] * 2
    assert {c.split_seed for c in plan(RunConfig("faces", seed=5, split_seed=9), 2)[1]} == {9}
    assert [c.split_seed for c in plan(RunConfig("faces"), 2, resample=True)[1]] == [0, 0, 1, 1]


def test_method_figure_has_a_mean_line_and_std_band_per_method():
    hist = {"a-ft-s0": _history(), "a-ft-s1": _history(0.2), "a-fe-s0": _history(0.5)}
    per_run = pd.DataFrame(
        [{"run": r, "method": "finetune" if "-ft-" in r else "feature_extract", "backbone": "b", "seed": int(r[-1]),
          "epochs": 3, "loss": 0.0, "accuracy": 0.0, "f1": 0.0, "roc_auc": 0.0, "eer": 0.0} for r in hist]
        + [{"run": "a-fe-s0", "method": PROBE, "backbone": "b", "seed": 0, "epochs": None, "loss": 0.4,
            "accuracy": 0.9, "f1": 0.0, "roc_auc": 0.0, "eer": 0.0}])
    fig = methods_figure(hist, per_run)
    loss = [t for t in fig.data if t.xaxis == "x"]  # the loss panel: band edges and mean per method
    mean = {t.name: np.asarray(t.y) for t in loss if t.showlegend is not None and t.name and "std" not in t.name}
    assert np.allclose(mean["finetune"], [1.1, 0.6, 1 / 3 + 0.1])  # mean of the two seeds
    assert np.allclose(mean["feature_extract"], [1.5, 1.0, 1 / 3 + 0.5])
    assert np.allclose(mean[PROBE], [0.4, 0.4])  # flat across the epochs
    ft = [np.asarray(t.y) for t in loss if t.legendgroup == "finetune" and t.name != "finetune"]
    assert np.allclose(ft[0] - ft[1], 2 * np.std([0.0, 0.2], ddof=1))  # the band is ±1 std over seeds
    assert sum(bool(t.showlegend) for t in fig.data) == 3


def test_cli_reports_bad_input_with_exit_code_2(faces_labelled, capsys):
    assert main(["train", "faces", "--backbone", "resnet-18"]) == 2
    assert "Unknown backbone 'resnet-18'" in capsys.readouterr().err
    assert main(["train", "nosuch"]) == 2
    assert "No dataset named 'nosuch'" in capsys.readouterr().err


def _history(run_shift=0.0):
    rows = []
    for e in (1, 2, 3):
        for split in ("train", "val"):
            rows.append({"epoch": e, "split": split, "loss": 1 / e + run_shift, "accuracy": 0.5 + e / 10,
                         "f1": 0.5, "roc_auc": 0.6, "eer": 0.3})
    return pd.DataFrame(rows)


def test_curves_overlay_runs_and_save_html_and_png(ws, home):
    fig = curves_figure({"run-a": _history(), "run-b": _history(0.2)})
    names = {t.name for t in fig.data}
    assert {"run-a (val)", "run-a (train)", "run-b (val)"} <= names
    # five metrics × two splits × two runs
    assert len(fig.data) == 20
    val_loss_b = next(t for t in fig.data if t.name == "run-b (val)" and t.hovertemplate.count("loss"))
    assert np.allclose(val_loss_b.y, [1.2, 0.7, 1 / 3 + 0.2])
    # one epoch draws no line: train and val still differ, by their markers (they were two same-coloured dots)
    one = curves_figure({"run-a": _history().query("epoch == 1")})
    symbols = {t.name: t.marker.symbol for t in one.data}
    assert symbols["run-a (val)"] != symbols["run-a (train)"]
    out = save_curves({"run-a": _history(), "run-b": _history(0.2)}, ws.plots)
    assert out["html"].parent.parent == ws.plots
    assert "run-b (val)" in out["html"].read_text()
    img = np.asarray(Image.open(out["png"]).convert("RGB"))
    assert img.std() > 10  # something was drawn


def test_job_runs_in_background_cancels_and_queues(ws, faces_labelled, monkeypatch):
    # the long job is held at the end of its first epoch until the test has looked at it: no timing involved
    held, release = threading.Event(), threading.Event()
    real_train = loop.train

    def train_held_after_epoch_1(ws, cfg, progress, cancel, **kw):
        def hold(frac, msg):
            progress(frac, msg)
            if cfg.name == "bg-long" and msg.startswith("epoch 1/"):
                held.set()
                release.wait(120)

        return real_train(ws, cfg, hold, cancel, **kw)

    monkeypatch.setattr(loop, "train", train_held_after_epoch_1)
    jobs = JobManager(ws)
    quick = jobs.submit_train(RunConfig("faces", input_size=32, epochs=2, lr=0.01, name="bg-quick"))
    long_cfg = RunConfig("faces", input_size=32, epochs=500, name="bg-long")
    long = jobs.submit_train(long_cfg)
    never = jobs.submit_train(RunConfig("faces", input_size=32, epochs=2, name="bg-never"))
    assert long.status == "queued"
    jobs.cancel(never.id)
    assert jobs.wait(quick.id, 120).status == "completed" and quick.progress == 1.0
    assert (ws.plots / "bg-quick" / "curves.png").is_file() and "Curves saved" in quick.message
    assert held.wait(120), "the long job never finished its first epoch"
    share = METHODS[long_cfg.method].setup_share  # the embedding fills the bar's first share, the epochs the rest
    assert long.status == "running" and long.progress == pytest.approx(share + (1 - share) / 500)
    assert long.message.startswith("epoch 1/500: val loss")
    assert len(ws.run("bg-long").history) == 2  # live curves can read the epochs done so far
    jobs.cancel(long.id)
    release.set()
    assert jobs.wait(long.id, 60).status == "cancelled"
    assert long.message == "bg-long: Cancelled after 1 complete epoch(s)." + f" Curves saved in {ws.plots / 'bg-long'}."
    assert jobs.wait(never.id, 10).status == "cancelled"
    assert "bg-never" not in list_runs(ws)
    assert [j.id for j in jobs.jobs()] == [never.id, long.id, quick.id]


def test_jobs_check_each_run_once_and_each_run_draws_its_own_curves(ws, faces_labelled, monkeypatch):
    from workbench.train import compare as compare_module

    checked = []

    def counted(ws, cfg):
        checked.append(cfg.name)
        return real_precheck(ws, cfg)

    real_precheck = loop.precheck
    for module in (loop, compare_module):
        monkeypatch.setattr(module, "precheck", counted)
    jobs = JobManager(ws)
    one = jobs.submit_train(RunConfig("faces", input_size=32, epochs=1, name="once"))
    assert jobs.wait(one.id, 120).status == "completed"
    assert checked == ["once"]  # at submit; the queued run trains on what was checked then
    assert one.result.curves == ws.plots / "once" and (one.result.curves / "curves.png").is_file()
    checked.clear()
    both = jobs.submit_compare(RunConfig("faces", input_size=32, epochs=1), 1, prefix="cmp1")
    assert jobs.wait(both.id, 300).status == "completed"
    assert checked == ["cmp1-ft-s0", "cmp1-fe-s0"]  # the first with the plan at submit, the second when it starts
    assert all((ws.plots / run / "curves.html").is_file() for run in checked)
    assert (ws.plots / "cmp1-compare" / "methods.csv").is_file()
    assert Comparison.load(ws.plots / "cmp1-compare").warnings[0].startswith("Only 1 seed")
    assert both.message.endswith(f"Curves saved in {ws.plots / 'cmp1-compare'}.")
