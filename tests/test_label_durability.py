"""The real app in a subprocess, driven through gradio_client: SIGKILL loses no acknowledged label, and two
annotators labelling at the same time lose or duplicate nothing."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from gradio_client import Client
from sklearn.metrics import cohen_kappa_score

from browser.appserver import AppProcess
from workbench.labeling import build_queue
from workbench.labeling.keys import class_for_key

pytestmark = pytest.mark.slow


def _start(url: str, annotator: str) -> Client:
    c = Client(url, verbose=False)
    c.predict("faces", annotator, "unlabeled", None, 0, api_name="/label_start")
    return c


def _label(c: Client, key: str) -> None:
    """Send one key; returns when the app has acknowledged it (answered with the next screen)."""
    c.predict(key, api_name="/label_action")


def _expected(store, annotator: str, keys: list[str]) -> dict[str, str]:
    """What acknowledged keys labelled: the k-th key the k-th image of the annotator's queue (file order, every
    image on disk), as the class the key stands for."""
    names = store.images("faces").set_index("image_id")["name"]
    queue, classes = build_queue(store, "faces", annotator), store.classes("faces")
    return {names[i]: class_for_key(key, classes) for i, key in zip(queue, keys)}


def _store_labels(store, annotator):
    names = store.images("faces").set_index("image_id")["name"]
    cur = store.latest_labels("faces", annotator)
    return {names[i]: lab for i, lab in zip(cur.image_id, cur.label)}


def test_sigkill_loses_no_acknowledged_label(faces, home):
    app = AppProcess(home)
    keys = ["1" if i % 3 else "2" for i in range(200)]
    expected = _expected(faces, "alice", keys)  # before any label: her queue is every image, in file order
    acked: list[str] = []
    stop, failures = threading.Event(), []

    def annotate():
        c = _start(app.url, "alice")
        for key in keys:
            if stop.is_set():
                return
            try:
                _label(c, key)
            except Exception as e:  # after the kill: the server died under us, that label was never acknowledged
                failures.append(e)
                return
            acked.append(key)

    t = threading.Thread(target=annotate, daemon=True)
    t.start()
    try:
        while len(acked) < 25:
            t.join(0.05)
            assert t.is_alive(), f"the annotating client stopped early: {failures!r}"
        app.kill()  # mid-stream, while labels are being sent
    finally:
        stop.set()
        t.join(5)  # a client whose server vanished may hang on; what it had acknowledged is recorded
        app.kill()
    n_acked = len(acked)
    got = _store_labels(faces, "alice")
    assert n_acked >= 25
    acknowledged = dict(list(expected.items())[:n_acked])
    assert {k: got.get(k) for k in acknowledged} == acknowledged   # every acknowledged label is there
    assert len(got) - n_acked in (0, 1)                             # at most the one in flight when killed
    app = AppProcess(home)
    try:
        c = _start(app.url, "alice")
        _label(c, "2")   # the restarted app goes on at the first image not labelled
        # classes added from the UI: in the store, and counted on screen at once
        _, viewer, *_ = c.predict("faces", "open, closed", api_name="/label_add_classes")
    finally:
        app.stop()
    after = _store_labels(faces, "alice")
    first_unlabelled = list(expected)[len(got)]
    assert after == {**got, first_unlabelled: "not face"}
    assert faces.classes("faces") == ["face", "not face", "open", "closed"]
    assert "open: 0 · closed: 0" in viewer


def test_two_logged_in_annotators_at_once_lose_and_duplicate_nothing(faces_labelled, home):
    store = faces_labelled
    # boss, the admin, reviews and exports at the end: annotators may not export
    app = AppProcess(home, auth=["alice:pw-a", "bob:pw-b", "boss:pw-boss"], args=["--admin", "boss"])
    keys = {"alice": ["1" if i % 5 else "2" for i in range(60)], "bob": ["1" if i % 4 else "2" for i in range(60)]}
    # before they start, each one's queue is every image in file order: what their 60 keys label
    expected = {name: _expected(store, name, k) for name, k in keys.items()}
    acked = {"alice": 0, "bob": 0}
    errors = []

    def annotate(name):
        try:
            c = Client(app.url, auth=(name, f"pw-{name[0]}"), verbose=False)
            # with auth on, the login names the annotator whatever name is typed
            c.predict("faces", "someone else", "unlabeled", None, 0, api_name="/label_start")
            for key in keys[name]:
                _label(c, key)
                acked[name] += 1
        except Exception as e:  # reported below: a thread's assert would be swallowed
            errors.append(e)

    threads = [threading.Thread(target=annotate, args=(name,)) for name in keys]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors
        c = Client(app.url, auth=("boss", "pw-boss"), verbose=False)
        kappa_table, _, _ = c.predict("faces", api_name="/label_review")
        exported = pd.read_csv(c.predict("faces", "csv", "all annotators", "", api_name="/label_export"),
                               keep_default_na=False)
    finally:
        app.stop()
    assert acked == {"alice": 60, "bob": 60}
    for name in ("alice", "bob"):
        assert _store_labels(store, name) == expected[name] and len(expected[name]) == 60
    assert set(store.latest_labels("faces")["annotator"]) == {"alice", "bob", "truth"}
    mine = exported[exported["annotator"] == "alice"]
    assert dict(zip(mine["filename"], mine["label"])) == expected["alice"] and len(exported) == 60 + 60 + 200
    rows = store.query("SELECT image_id, annotator, COUNT(*) AS n FROM labels GROUP BY image_id, annotator")
    assert rows["n"].max() == 1  # nobody's label was recorded twice
    a, b = expected["alice"], expected["bob"]
    expected = cohen_kappa_score([a[k] for k in sorted(a)], [b[k] for k in sorted(a)])
    table = {(r[0], r[1]): float(r[4]) for r in kappa_table["data"]}
    assert table[("alice", "bob")] == pytest.approx(expected, abs=1e-3)
