"""Around the training loop: compare methods (CLI and table), curve plots, background jobs."""

import json
import re
import threading

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from workbench.cli import main
from workbench.run import list_runs
from workbench.train.config import RunConfig, random_features_caveat
from workbench.train.baselines import PIXELS, PROBE
from workbench.train.compare import plan
from workbench.train.results import final_val_metrics, load_baselines, methods_table
from workbench.train import loop
from workbench.train.jobs import JobManager
from workbench.plots import curves_figure, methods_figure, save_curves

pytestmark = pytest.mark.slow


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
    table = got.out[got.out.index("final val metrics"):]
    # every row built on the untrained backbone says so, and a note under the table says what it means
    for method in ("feature_extract", "finetune", PROBE):
        assert re.search(rf"^\s*{re.escape(method)}\s+resnet18 \(random weights\)", table, re.M), table
    assert "note: Feature extraction on random weights (weights: none)" in table
    assert set(methods_table([ws.run(r) for r in list_runs(ws)]).backbone) == {"resnet18 (random weights)", ""}


def test_cli_compare_methods_prints_mean_std_table_and_saves_plots(ws, faces_labelled, capsys):
    rc = main(["train", "faces", "--compare-methods", "--seeds", "2", "--epochs", "2", "--input-size", "32",
               "--lr", "0.01", "--name", "cmp"])
    out = capsys.readouterr().out
    assert rc == 0
    assert sorted(list_runs(ws)) == ["cmp-fe-s0", "cmp-fe-s1", "cmp-ft-s0", "cmp-ft-s1"]
    assert "feature_extract" in out and "finetune" in out and "±" in out
    per_run = final_val_metrics([ws.run(r) for r in list_runs(ws)])
    fe = per_run[per_run.method == "feature_extract"]
    table = methods_table([ws.run(r) for r in list_runs(ws)]).set_index("method")
    assert list(table.index[:2]) == ["feature_extract", "finetune"]
    assert table.loc["feature_extract", "seeds"] == 2
    assert table.loc["feature_extract", "accuracy"] == f"{fe.accuracy.mean():.3f} ± {fe.accuracy.std():.3f}"
    plots = ws.plots / "cmp-compare"
    assert (plots / "curves.html").stat().st_size > 10_000
    assert Image.open(plots / "curves.png").size[0] > 500
    assert "baseline: linear probe" in out and "baseline: logreg on pixels" in out
    assert table.loc[PROBE, "seeds"] == 2 and table.loc[PIXELS, "backbone"] == ""
    assert set(table.index[-2:]) == {PIXELS, PROBE}  # methods first, then the linear baselines
    assert pd.read_csv(plots / "methods.csv").shape[0] == 4
    assert "±1 std" in (plots / "methods.html").read_text()
    assert (ws.plots / "cmp-ft-s1" / "curves.html").is_file()  # each run's own curves too
    for seed in (0, 1):  # the baselines used the seed's own split
        record = load_baselines(ws.run(f"cmp-fe-s{seed}"))
        info = json.loads((ws.run(f"cmp-ft-s{seed}").folder / "dataset.json").read_text())
        assert sorted(record["val_ids"]) == sorted(d["image_id"] for d in info["images"] if d["split"] == "val")


def test_comparison_runs_are_named_for_what_they_are():
    name, runs = plan(RunConfig("faces", backbone="resnet18", weights="none"), 2)
    assert re.fullmatch(r"faces-compare-resnet18-\d{8}-\d{6}", name)
    for cfg, (method, short, seed) in zip(runs, [("finetune", "ft", 0), ("feature_extract", "fe", 0),
                                                 ("finetune", "ft", 1), ("feature_extract", "fe", 1)]):
        assert cfg.method == method and cfg.seed == seed
        assert re.fullmatch(rf"faces-{short}-resnet18-s{seed}-\d{{8}}-\d{{9}}", cfg.name), cfg.name
    assert len({c.name for c in runs}) == 4
    assert [c.name for c in plan(RunConfig("faces"), [3], prefix="mine")[1]] == ["mine-ft-s3", "mine-fe-s3"]


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
    long = jobs.submit_train(RunConfig("faces", input_size=32, epochs=500, name="bg-long"))
    never = jobs.submit_train(RunConfig("faces", input_size=32, epochs=2, name="bg-never"))
    assert long.status == "queued"
    jobs.cancel(never.id)
    assert jobs.wait(quick.id, 120).status == "completed" and quick.progress == 1.0
    assert (ws.plots / "bg-quick" / "curves.png").is_file() and "Curves saved" in quick.message
    assert held.wait(120), "the long job never finished its first epoch"
    assert long.status == "running" and long.progress == 1 / 500 and long.message.startswith("epoch 1/500: val loss")
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
    assert both.message.endswith(f"Curves saved in {ws.plots / 'cmp1-compare'}.")
