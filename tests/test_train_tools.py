"""Around the training loop: compare methods (CLI and table), curve plots, background jobs."""

import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from workbench import paths
from workbench.cli import main
from workbench.train import RunConfig, list_runs, load_history
from workbench.train.compare import final_val_metrics, methods_table
from workbench.train.jobs import JobManager
from workbench.plots import curves_figure, save_curves

pytestmark = pytest.mark.slow


def test_cli_compare_methods_prints_mean_std_table_and_saves_plots(faces_labelled, capsys):
    rc = main(["train", "faces", "--compare-methods", "--seeds", "2", "--epochs", "2", "--input-size", "32",
               "--lr", "0.01", "--name", "cmp"])
    out = capsys.readouterr().out
    assert rc == 0
    assert sorted(list_runs()) == ["cmp-fe-s0", "cmp-fe-s1", "cmp-ft-s0", "cmp-ft-s1"]
    assert "feature_extract" in out and "finetune" in out and "±" in out
    per_run = final_val_metrics(list_runs())
    fe = per_run[per_run.method == "feature_extract"]
    table = methods_table(list_runs()).set_index("method")
    assert table.loc["feature_extract", "seeds"] == 2
    assert table.loc["feature_extract", "accuracy"] == f"{fe.accuracy.mean():.3f} ± {fe.accuracy.std():.3f}"
    plots = paths.plots_dir() / "cmp-compare"
    assert (plots / "curves.html").stat().st_size > 10_000
    assert Image.open(plots / "curves.png").size[0] > 500
    assert pd.read_csv(plots / "methods.csv").shape[0] == 2
    assert (paths.plots_dir() / "cmp-ft-s1" / "curves.html").is_file()  # each run's own curves too


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


def test_curves_overlay_runs_and_save_html_and_png(home):
    fig = curves_figure({"run-a": _history(), "run-b": _history(0.2)})
    names = {t.name for t in fig.data}
    assert {"run-a (val)", "run-a (train)", "run-b (val)"} <= names
    # five metrics × two splits × two runs
    assert len(fig.data) == 20
    val_loss_b = next(t for t in fig.data if t.name == "run-b (val)" and t.hovertemplate.count("loss"))
    assert np.allclose(val_loss_b.y, [1.2, 0.7, 1 / 3 + 0.2])
    out = save_curves({"run-a": _history(), "run-b": _history(0.2)})
    assert out["html"].parent.parent == paths.plots_dir()
    assert "run-b (val)" in out["html"].read_text()
    img = np.asarray(Image.open(out["png"]).convert("RGB"))
    assert img.std() > 10  # something was drawn


def test_job_runs_in_background_cancels_and_queues(faces_labelled):
    jobs = JobManager(faces_labelled)
    quick = jobs.submit_train(RunConfig("faces", input_size=32, epochs=2, lr=0.01, name="bg-quick"))
    long = jobs.submit_train(RunConfig("faces", input_size=32, epochs=500, name="bg-long"))
    never = jobs.submit_train(RunConfig("faces", input_size=32, epochs=2, name="bg-never"))
    assert long.status == "queued"
    jobs.cancel(never.id)
    assert jobs.wait(quick.id, 120).status == "completed" and quick.progress == 1.0
    assert (paths.plots_dir() / "bg-quick" / "curves.png").is_file() and "Curves saved" in quick.message
    deadline = time.time() + 120
    while long.progress == 0 and time.time() < deadline:  # after its first epoch
        time.sleep(0.2)
    assert long.status == "running" and 0 < long.progress < 1
    assert len(load_history("bg-long")) >= 2  # live curves can read the epochs done so far
    jobs.cancel(long.id)
    assert jobs.wait(long.id, 60).status == "cancelled"
    assert jobs.wait(never.id, 10).status == "cancelled"
    assert "bg-never" not in list_runs()
    assert [j.id for j in jobs.jobs()] == [never.id, long.id, quick.id]

