"""Experiments tab through the Gradio API: start a run in the background, watch it, overlay, save, refuse bad input."""

import time

import pytest
from gradio_client import Client

from workbench.train import list_runs

from browser.appserver import served

pytestmark = pytest.mark.slow

#            dataset  method  backbone  weights  grouping  size epochs batch seed opt  lr   sched  name  flip  rot crop norm
FORM = ["faces", "feature_extract", "efficientnet_lite0", "offline", "", 32, 2, 64, 0, "adamw", 0.01, "cosine",
        "ui-run", True, 10, 0.8, True]


@pytest.fixture
def client(faces_labelled):
    with served(faces_labelled) as url:
        yield Client(url, verbose=False)


def test_run_trains_in_background_and_shows_in_runs(client):
    msg, _ = client.predict(*FORM, api_name="/do_start")
    assert msg.startswith("Queued job 1")
    # the app answers other requests while the job trains
    table, _, _ = client.predict(api_name="/do_refresh")
    deadline = time.time() + 180
    while time.time() < deadline:
        bar, jobs, _, runs, *_ = client.predict(api_name="/tick")  # the session remembers its job
        if "completed" in bar or "failed" in bar:
            break
        time.sleep(0.5)
    assert "completed" in bar, bar
    assert list_runs() == ["ui-run"]
    for _ in range(10):  # the tick after the job has fully ended (plots saved) brings the Runs table
        if isinstance(runs, dict) and "data" in runs:
            break
        time.sleep(0.5)
        _, _, _, runs, *_ = client.predict(api_name="/tick")
    assert runs["data"][0][0] == "ui-run"  # no Refresh needed
    table, _, datasets = client.predict(api_name="/do_refresh")
    assert table["data"][0][0] == "ui-run"
    plot, methods, by_method = client.predict(["ui-run"], api_name="/do_overlay")
    assert methods["data"][0][0] == "feature_extract"
    files = client.predict(["ui-run"], api_name="/do_save")
    assert sorted(f.rsplit(".", 1)[-1] for f in files) == ["html", "png"]


def test_bad_input_is_refused_with_the_core_message(client):
    bad = list(FORM)
    bad[2] = "resnet-18"
    with pytest.raises(Exception, match="Unknown backbone 'resnet-18'"):
        client.predict(*bad, api_name="/do_start")
    bad = list(FORM)
    bad[4] = "face=all, not face=all"
    with pytest.raises(Exception, match="at least 2 classes"):
        client.predict(*bad, api_name="/do_start")
    msg, _ = client.predict(api_name="/do_cancel")
    assert msg == "No job to cancel."
