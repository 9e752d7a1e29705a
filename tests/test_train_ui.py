"""Experiments tab through the Gradio API: start a run in the background, watch it, overlay, save, refuse bad input."""

import time

import pytest
from gradio_client import Client

from workbench.run import list_runs
from workbench.train.config import settings
from workbench.ui.experiments_tab import FORM_ROWS

from browser.appserver import served

pytestmark = pytest.mark.slow

# the form's inputs by setting name: what this test sets; every other input keeps its default (RunConfig's)
FORM = {"dataset": "faces", "input_size": 32, "epochs": 2, "lr": 0.01, "name": "ui-run"}


@pytest.fixture
def client(faces_labelled):
    with served(faces_labelled) as url:
        yield Client(url, verbose=False)


def test_run_trains_in_background_and_shows_in_runs(ws, client):
    msg, _ = client.predict(**FORM, api_name="/do_start")
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
    assert list_runs(ws) == ["ui-run"]
    for _ in range(10):  # the tick after the job has fully ended (plots saved) brings the Runs table
        if isinstance(runs, dict) and "data" in runs:
            break
        time.sleep(0.5)
        _, _, _, runs, *_ = client.predict(api_name="/tick")
    assert runs["data"][0][0] == "ui-run"  # no Refresh needed
    table, _, datasets = client.predict(api_name="/do_refresh")
    assert table["data"][0][0] == "ui-run"
    plot, verdict, methods, pairs, by_method = client.predict(["ui-run"], api_name="/do_overlay")
    assert methods["data"][0][0] == "feature_extract"
    assert "Only 1 seed" in verdict and "ui-run has no test evaluation" in verdict  # a plain run: never evaluated
    files = client.predict(["ui-run"], api_name="/do_save")
    assert sorted(f.rsplit(".", 1)[-1] for f in files) == ["html", "png"]


def test_bad_input_is_refused_with_the_core_message(client):
    with pytest.raises(Exception, match="Unknown backbone 'resnet-18'"):
        client.predict(**{**FORM, "backbone": "resnet-18"}, api_name="/do_start")
    with pytest.raises(Exception, match="at least 2 classes"):
        client.predict(**{**FORM, "grouping": "face=all, not face=all"}, api_name="/do_start")
    msg, _ = client.predict(api_name="/do_cancel")
    assert msg == "No job to cancel."


def test_form_inputs_are_run_config_settings_with_their_defaults(client):
    form = {s.name: s.default for s in settings() if s.form}
    for endpoint, extra in (("/do_start", []), ("/do_compare", ["seeds", "resample"])):
        params = client.view_api(print_info=False, return_format="dict")["named_endpoints"][endpoint]["parameters"]
        assert [p["parameter_name"] for p in params] == extra + [name for row in FORM_ROWS for name in row]
        defaults = {p["parameter_name"]: p["parameter_default"] for p in params}
        assert {k: defaults[k] for k in form if k != "dataset"} == {k: v for k, v in form.items() if k != "dataset"}


def test_a_comparison_shows_its_design_table_pairs_and_verdict_when_it_ends(ws, client):
    form = {**FORM, "name": "cmp", "input_size": 16, "epochs": 1}
    msg, _ = client.predict(seeds=1, resample=False, **form, api_name="/do_compare")
    assert msg.startswith("Queued job 1: compare methods cmp-compare × 1 seeds, split seed 0")
    deadline = time.time() + 600
    while time.time() < deadline:
        *_, verdict, methods, pairs, by_method = client.predict(api_name="/tick")
        if isinstance(methods, dict) and methods.get("data"):
            break
        time.sleep(1)
    assert "Paired design: one split (split seed 0)" in verdict and "Only 1 seed" in verdict
    assert "**Verdict.**" in verdict and "no interval, so no verdict" in verdict
    assert [row[0] for row in methods["data"]] == ["feature_extract", "finetune", "baseline: logreg on pixels",
                                                   "baseline: linear probe", "baseline: RBF SVM on pixels"]
    assert methods["headers"][6] == "test accuracy" and pairs["headers"][:4] == ["a", "b", "seeds", "a − b"]
    assert len(pairs["data"]) == 7
    # picking the same runs shows the same comparison, computed from what the runs saved
    picked = client.predict(sorted(list_runs(ws)), api_name="/do_overlay")
    assert picked[2]["data"] == methods["data"]


def test_the_form_warns_of_feature_extraction_on_random_weights_and_leaves_augmentations_settable(faces):
    import gradio as gr

    from workbench.train.config import AUGMENTATIONS
    from workbench.ui import experiments_tab as tab

    with gr.Blocks() as demo:
        ctx = tab.UIContext(store=faces)
        form = tab.form_layout(faces)
        tab.wire(ctx, form, tab.jobs_layout(ctx.jobs), tab.runs_layout(ctx.ws))
    assert form.caveat.value == ""  # the defaults: feature extraction on the bundled pretrained weights
    assert "random weights" in tab.caveat_changed("feature_extract", "none")
    assert tab.caveat_changed("finetune", "none").startswith("⚠️ Compare methods: ")  # its feature extraction half
    assert tab.caveat_changed("finetune", "offline") == ""
    # the warning follows both inputs
    triggers = {(t[0], t[1]) for d in demo.config["dependencies"] if d["outputs"] == [form.caveat._id]
                for t in d["targets"]}
    assert triggers == {(form.inputs["method"]._id, "change"), (form.inputs["weights"]._id, "change")}
    # random flip and the other augmentations can be set whatever the method (Compare methods fine-tunes with them)
    assert all(form.inputs[name].interactive is not False for name in AUGMENTATIONS)
    assert "fine-tuning only" in form.inputs["flip"].info


def test_the_bar_follows_a_start_at_once_not_the_next_tick(faces_labelled):
    """Start run and Compare methods redraw the job bar as soon as the job is queued (it read "No job running." until
    the 2 s timer's next tick, 10-20 s late on a loaded machine)."""
    from workbench.ui.app import build_app

    demo, _ = build_app(faces_labelled)
    deps = demo.config["dependencies"]
    bar = next(c._id for c in demo.blocks.values() if getattr(c, "elem_id", None) == "wb-exp-progress")
    for api in ("do_start", "do_compare"):
        start = next(d["id"] for d in deps if d["api_name"] == api)
        assert any(d["trigger_after"] == start and d["trigger_only_on_success"] and bar in d["outputs"] for d in deps)

