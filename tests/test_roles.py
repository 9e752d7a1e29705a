"""Roles with --auth: annotators may only label (as themselves) on /label; every other API endpoint refuses them.

Every event of the real app is called over plain HTTP by fn_index (private ones too: the browser calls them so,
and so can anyone logged in)."""

from __future__ import annotations

import argparse
import re

import gradio as gr
import pytest

from browser.api import ApiSession
from browser.appserver import AppProcess, free_port
from workbench.access import ANNOTATOR_BOX_HANDLERS as POLICY_BOX_HANDLERS
from workbench.access import ANNOTATOR_HANDLERS as POLICY_HANDLERS
from workbench.access import Access, Operation
from workbench.cli import app_cmd
from workbench.errors import WorkbenchError
from workbench.labeling.orders import ORDER_TABLE
from workbench.data.demo import ensure_faces
from workbench.store import Store
from workbench.ui.app import build_app
from workbench.ui.guard import guard, operation

REFUSED = "is an annotator"
# the Label tab's handlers an annotator may call, on /label and in the main page's Label tab
ANNOTATOR_HANDLERS = {"on_start", "act", "on_action", "on_more_class", "on_dataset", "on_load",
                      "on_goto", "show_one_image", "on_mode", "on_show", "show_grid_if_open", "on_pick", "select_all",
                      "select_none", "bulk.run", "on_redraw", "on_accept_page", "on_refresh", "open_in_labeller",
                      "show_disputed"}
# the Boxes mode's handlers an annotator may call: open her boxes and draw (adding box classes is an admin's)
ANNOTATOR_BOX_HANDLERS = {"on_boxes_start", "on_box_event", "on_boxes_dataset"}
LANDING = "send_annotators_to_label_page.landing"
DATASET_LIST = ("workbench.ui.pickers", "dataset_choices")  # every page's dataset pickers: names only
SELECT = {"index": 0, "value": None, "selected": True}


def base(api_name: str) -> str:
    return re.sub(r"_\d+$", "", api_name)


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    home = tmp_path_factory.mktemp("team")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        store = Store()
        ensure_faces(store)
        # the same app built here, unguarded: which handler each fn_index of the served app runs
        demo, _ = build_app(store, Access.of([("alice", "pw"), ("boss", "pw")], ["boss"]))
        handlers = {i: operation(f) for i, f in demo.fns.items() if f.fn is not None}
        api_names = {i: f.api_name for i, f in demo.fns.items() if f.fn is not None}
        app = AppProcess(home, auth=["alice:pw", "boss:pw"], args=["--admin", "boss"])
        try:
            yield {"app": app, "store": store, "handlers": handlers, "api_names": api_names}
        finally:
            app.stop()
            store.close()


def page_deps(api: ApiSession, page: str) -> list[dict]:
    ids = set(api.config_cached()["page"][page]["dependencies"])
    return [d for d in api.dependencies() if d["id"] in ids]


def call(api: ApiSession, dep: dict, data: list | None = None):
    return api.call(dep["id"], api.defaults(dep) if data is None else data,
                    SELECT if dep.get("collects_event_data") else None)


def named(api: ApiSession, page: str, name: str, nth: int = 0) -> dict:
    return [d for d in page_deps(api, page) if base(d["api_name"]) == name][nth]


def send(api: ApiSession, page: str, name: str, first: list, nth: int = 0):
    """Call an event with its first inputs given and the rest as an untouched page has them."""
    dep = named(api, page, name, nth)
    data = api.defaults(dep)
    data[:len(first)] = first
    return api.call(dep["id"], data)


def test_annotator_is_refused_every_endpoint_but_labelling(team):
    alice = ApiSession(team["app"].url, "alice", "pw")
    deps = alice.dependencies()
    assert len(deps) > 60 and len(page_deps(alice, "label")) > 20  # every tab's events and the /label page's
    handlers = team["handlers"]
    assert {d["id"]: d["api_name"] for d in deps} == team["api_names"]  # the same app: the same fn_index
    allowed, refused = set(), set()
    for dep in deps:
        op = handlers[dep["id"]]
        reply = call(alice, dep)
        should_pass = (op.module == "workbench.ui.label_tab" and op.handler in ANNOTATOR_HANDLERS
                       or op.module == "workbench.ui.label_boxes" and op.handler in ANNOTATOR_BOX_HANDLERS
                       or op.handler == LANDING or (op.module, op.handler) == DATASET_LIST)
        was_refused = not reply.ok and REFUSED in (reply.error or "")
        assert was_refused != should_pass, f"{dep['api_name']} (id {dep['id']}, {op}): {reply}"
        (refused if was_refused else allowed).add(base(dep["api_name"]))
    assert {"label_export", "label_add_classes", "on_settle", "on_add_tags", "on_remove_tag", "import_path",
            "do_start", "evaluate_run", "explain_image", "boxes_add_classes", "live_frame",
            "predict_video", "export_model", "find_duplicates", "tag_duplicates_keep_one", "tag_duplicates_all"} <= refused
    assert {"label_start", "label_action", "run", "label_review", "boxes_start", "boxes_event"} <= allowed
    # the main page's landing check names her role, and the page then sends her to /label
    landing = next(d for d in deps if handlers[d["id"]].handler == LANDING)
    assert call(alice, landing).data == ["annotator"]
    assert call(ApiSession(team["app"].url, "boss", "pw"), landing).data == ["admin"]


def test_annotator_labels_as_herself_whatever_name_she_sends(team):
    alice = ApiSession(team["app"].url, "alice", "pw")
    start = send(alice, "label", "label_start", ["faces", "bob", "unlabeled", None, 0])
    assert start.ok, start.error
    assert start.data[-1] == "alice"  # the session's annotator, shown in the name box
    first = send(alice, "label", "label_action", [None, "label:face"])
    assert first.ok, first.error
    # the grid's bulk label, sent with another annotator's name and no session
    show = send(alice, "label", "on_show", [None, "faces", "bob", "unlabeled", None, 0, 1, 5])
    assert show.ok, show.error
    ids = [tile["id"] for tile in show.data[0]["items"]][:2]
    pick = named(alice, "label", "on_pick")
    for i in ids:  # the selection is held by the server: picked by image id, as a click on a thumbnail does
        assert alice.call(pick["id"], alice.defaults(pick), {"id": i}).ok
    bulk = send(alice, "label", "run", [None, "faces", "bob", None, "not face", None], nth=0)
    assert bulk.ok, bulk.error
    labels = team["store"].latest_labels("faces")
    assert set(labels["annotator"]) == {"alice"} and len(labels) == 3


def test_annotator_draws_boxes_as_herself_and_box_classes_stay_with_admins(team):
    boss, alice = ApiSession(team["app"].url, "boss", "pw"), ApiSession(team["app"].url, "alice", "pw")
    refused = send(alice, "label", "boxes_add_classes", ["faces", "nose", None])
    assert not refused.ok and REFUSED in refused.error
    assert send(boss, "", "boxes_add_classes", ["faces", "face, eye", None]).ok
    start = send(alice, "label", "boxes_start", ["faces", "bob", False])  # sent with bob's name
    assert start.ok, start.error
    event = named(alice, "label", "boxes_event")
    drawn = alice.call(event["id"], [None], {"op": "add", "cls": 1, "x": 2, "y": 3, "w": 10, "h": 8})
    assert drawn.ok, drawn.error
    boxes = team["store"].boxes("faces")
    assert boxes[["annotator", "label", "x", "y", "w", "h", "how"]].values.tolist() == \
        [["alice", "eye", 2.0, 3.0, 10.0, 8.0, "drawn"]]


def test_admin_may_call_admin_endpoints(team):
    boss = ApiSession(team["app"].url, "boss", "pw")
    added = send(boss, "", "label_add_classes", ["faces", "smiling", None])
    assert added.ok, added.error
    assert "smiling" in team["store"].classes("faces")
    export = send(boss, "", "label_export", ["faces", "csv", "all annotators", None, ""])
    assert export.ok and export.data[0]["path"].endswith(".csv"), export
    alice = ApiSession(team["app"].url, "alice", "pw")
    refused = send(alice, "label", "label_export", ["faces", "csv", "all annotators", None, ""])
    assert not refused.ok and REFUSED in refused.error


# -- the policy and the guard in this process ------------------------------------------------------
def test_policy_roles_and_blind():
    label = Operation("label", "workbench.ui.label_tab", "on_start")
    review = Operation("label", "workbench.ui.label_tab", "on_refresh")
    train = Operation("", "workbench.ui.experiments_tab", "do_start")
    open_ = Access()
    assert open_.role("anyone") == "admin" and open_.refusal(None, train) is None
    team = Access(users=frozenset({"alice", "boss"}), admins=frozenset({"boss"}))
    assert team.role("alice") == "annotator" and team.role("boss") == "admin"
    assert team.refusal("alice", label) is None and team.refusal("alice", review) is None
    assert "annotator" in team.refusal("alice", train) and team.refusal("boss", train) is None
    # the Label tab's labelling is the same on the main page; its admin handlers are not
    assert team.refusal("alice", Operation("", "workbench.ui.label_tab", "on_start")) is None
    assert team.refusal("alice", Operation("label", "workbench.ui.label_tab", "on_export"))
    # boxes: drawing as oneself is open, adding box classes is not; a boxes name in another module is not
    assert team.refusal("alice", Operation("label", "workbench.ui.label_boxes", "on_box_event")) is None
    assert team.refusal("alice", Operation("label", "workbench.ui.label_boxes", "on_add_box_classes"))
    assert team.refusal("alice", Operation("", "workbench.ui.datasets_tab", "on_box_event"))
    blind = Access(users=frozenset({"alice", "boss"}), admins=frozenset({"boss"}), blind=True)
    assert "Blind" in blind.refusal("alice", review) and blind.refusal("boss", review) is None
    assert "Blind" in blind.refusal("alice", label, {"order_": "class"})
    assert blind.refusal("alice", label, {"order_": "unlabeled"}) is None
    assert "Blind" in blind.refusal("alice", label, {"order_": "accepted"})  # others' accepted suggestions
    assert team.refusal("alice", label, {"order_": "class"}) is None


@pytest.mark.parametrize("argv, says", [
    (["app", "--admin", "boss"], "need logins"),
    (["app", "--blind"], "need logins"),
    (["app", "--auth", "alice:pw", "--admin", "carol"], "carol"),
    (["app", "--suggestion-floor", "1.5"], "between 0 and 1"),
])
def test_bad_role_options_are_refused_before_starting(home, argv, says):
    parser = argparse.ArgumentParser()
    app_cmd.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    with pytest.raises(WorkbenchError, match=says):
        args.func(args)
    assert not (home / "datasets").exists()  # refused before the store or the demo sets were made


@pytest.fixture
def guarded_app():
    """A small app whose events are a plain function, a generator, a coroutine and one taking gr.Request and
    gr.Progress, guarded for boss (admin) and alice (annotator)."""
    def plain(x):
        return x + "!"

    def counting(x):
        for i in range(3):
            yield f"{x}{i}"

    async def later(x):
        return x.upper()

    def whoami(x, request: gr.Request, progress=gr.Progress()):
        progress(0.5)
        return f"{x} by {request.username}"

    def typed(x, name):
        return f"{x} as {name}"

    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        name = gr.Textbox(elem_id="wb-annotator")  # the Label tab's annotator-name box
        for fn in (plain, counting, later, whoami):
            gr.Button().click(fn, box, out, api_name=fn.__name__)
        gr.Button().click(typed, [box, name], out, api_name="typed")
    assert guard(demo, Access(users=frozenset({"alice", "boss"}), admins=frozenset({"boss"}))) == 5
    port = free_port()
    demo.queue().launch(server_port=port, auth=[("alice", "pw"), ("boss", "pw")], prevent_thread_lock=True,
                        quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def test_guard_keeps_generators_coroutines_and_request_injection(guarded_app):
    boss = ApiSession(guarded_app, "boss", "pw")
    assert boss.call_named("plain", ["a"]).data == ["a!"]
    assert boss.call_named("counting", ["a"]).data == ["a2"]  # the last of three yields
    assert boss.call_named("later", ["a"]).data == ["A"]
    assert boss.call_named("whoami", ["a"]).data == ["a by boss"]
    assert boss.call_named("typed", ["a", "bob"]).data == ["a as boss"]  # the login, not the name sent
    alice = ApiSession(guarded_app, "alice", "pw")
    for name in ("plain", "counting", "later", "whoami"):
        reply = alice.call_named(name, ["a"])
        assert not reply.ok and REFUSED in reply.error, (name, reply)


@pytest.mark.parametrize("order", ORDER_TABLE, ids=lambda o: o.name)
@pytest.mark.parametrize("handler", ["on_start", "on_show"])  # a one-image session, a grid page
def test_blind_labelling_refuses_every_order_built_on_others_work(order, handler):
    """Every order, in both views that take one: refused to a blind annotator exactly when it is built on other
    annotators' work (test_labeling_session checks each order's mark against what it shows); admins may."""
    blind = Access(users=frozenset({"alice", "boss"}), admins=frozenset({"boss"}), blind=True)
    op = Operation("label", "workbench.ui.label_tab", handler)
    refusal = blind.refusal("alice", op, {"order_": order.name})
    assert (refusal is not None and "Blind" in refusal) == order.by_others
    assert blind.refusal("boss", op, {"order_": order.name}) is None
    assert Access(users=frozenset({"alice"})).refusal("alice", op, {"order_": order.name}) is None


def test_every_annotator_handler_is_decided_for_blind_labelling():
    """The Review view's handlers show everyone's labels: refused in blind labelling; the others (boxes included:
    a boxing session shows its annotator's own boxes) are not."""
    blind = Access(users=frozenset({"alice"}), blind=True)
    for module, handlers in (("label_tab", POLICY_HANDLERS), ("label_boxes", POLICY_BOX_HANDLERS)):
        for handler, others in handlers.items():
            refusal = blind.refusal("alice", Operation("label", f"workbench.ui.{module}", handler), {})
            assert (refusal is not None) == others, handler
    assert POLICY_HANDLERS["on_refresh"] and POLICY_HANDLERS["open_in_labeller"]
    # the policy's lists are this test's lists
    assert set(POLICY_HANDLERS) == ANNOTATOR_HANDLERS and set(POLICY_BOX_HANDLERS) == ANNOTATOR_BOX_HANDLERS


def test_without_logins_nothing_is_wrapped():
    with gr.Blocks() as demo:
        gr.Button().click(lambda: None)
    assert guard(demo, Access()) == 0


def test_blind_labelling_hides_the_agreement_view_from_annotators(faces):
    faces.add_labels("faces", [(1, "face")], "carol")
    demo, kw = build_app(faces, Access.of([("alice", "pw"), ("boss", "pw")], ["boss"], blind=True))
    port = free_port()
    demo.queue().launch(server_port=port, auth=[("alice", "pw"), ("boss", "pw")], prevent_thread_lock=True,
                        quiet=True, **kw)
    try:
        url = f"http://127.0.0.1:{port}/"
        alice = ApiSession(url, "alice", "pw")
        hidden = send(alice, "label", "label_review", ["faces"])
        assert not hidden.ok and "Blind" in hidden.error
        assert send(alice, "label", "label_start", ["faces", "", "unlabeled", None, 0]).ok
        by_class = send(alice, "label", "label_start", ["faces", "", "class", "face", 0])  # by everyone's labels
        assert not by_class.ok and "Blind" in by_class.error
        accepted = send(alice, "label", "label_start", ["faces", "", "accepted", None, 0])  # others' accepted
        assert not accepted.ok and "Blind" in accepted.error
        grid = send(alice, "label", "on_show", [None, "faces", "", "accepted", None, 0, 1, 5])  # and its grid
        assert not grid.ok and "Blind" in grid.error
        assert send(alice, "label", "on_show", [None, "faces", "", "unlabeled", None, 0, 1, 5]).ok
        boss = ApiSession(url, "boss", "pw")
        shown = send(boss, "", "label_review", ["faces"])
        assert shown.ok, shown.error
    finally:
        demo.close()
