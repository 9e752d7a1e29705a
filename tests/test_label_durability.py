"""The real app in a subprocess, driven through gradio_client: SIGKILL loses no acknowledged label, and two
annotators labelling at the same time lose or duplicate nothing."""

from __future__ import annotations

import re
import threading

import pandas as pd
import pytest
from gradio_client import Client
from sklearn.metrics import cohen_kappa_score

from browser.appserver import AppProcess

pytestmark = pytest.mark.slow
ACK = re.compile(r"id='wb-message'>([^<]+?) → ([^<]+)</div>")


def _start(url: str, annotator: str) -> Client:
    c = Client(url, verbose=False)
    c.predict("faces", annotator, "unlabeled", None, 0, api_name="/label_start")
    return c


def _label(c: Client, key: str) -> tuple[str, str] | None:
    """Send one key; the (file name, class) the app acknowledged, if it labelled something."""
    html = c.predict(key, api_name="/label_action")
    m = ACK.search(html)
    return (m.group(1), m.group(2)) if m else None


def _store_labels(store, annotator):
    names = store.images("faces").set_index("image_id")["name"]
    cur = store.latest_labels("faces", annotator)
    return {names[i]: lab for i, lab in zip(cur.image_id, cur.label)}


def test_sigkill_loses_no_acknowledged_label(faces, home):
    app = AppProcess(home)
    acked: dict[str, str] = {}
    stop, failures = threading.Event(), []

    def annotate():
        c = _start(app.url, "alice")
        i = 0
        while not stop.is_set():
            try:
                got = _label(c, "1" if i % 3 else "2")
            except Exception as e:  # after the kill: the server died under us, that label was never acknowledged
                failures.append(e)
                return
            if got:
                acked[got[0]] = got[1]
            i += 1

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
    app = AppProcess(home)
    try:
        c = _start(app.url, "alice")
        html = c.predict("prev", api_name="/label_action")
        shown = int(re.search(r"id='wb-progress-count'>(\d+)<", html).group(1))
        # classes added from the UI: in the store, and counted on screen at once
        _, viewer, *_ = c.predict("faces", "open, closed", api_name="/label_add_classes")
    finally:
        app.stop()
    assert faces.classes("faces") == ["face", "not face", "open", "closed"]
    assert "open: 0 · closed: 0" in viewer
    got = _store_labels(faces, "alice")
    assert n_acked >= 25
    assert {k: got.get(k) for k in acked} == acked          # every acknowledged label is there
    assert len(got) - n_acked in (0, 1)                     # at most the one in flight when killed
    assert shown == len(got)                                # and the restarted app counts them


def test_two_logged_in_annotators_at_once_lose_and_duplicate_nothing(faces_labelled, home):
    store = faces_labelled
    # boss, the admin, reviews and exports at the end: annotators may not export
    app = AppProcess(home, auth=["alice:pw-a", "bob:pw-b", "boss:pw-boss"], args=["--admin", "boss"])
    acked = {"alice": {}, "bob": {}}
    errors = []

    def annotate(name, pattern):
        try:
            c = Client(app.url, auth=(name, f"pw-{name[0]}"), verbose=False)
            # with auth on, the login names the annotator whatever name is typed
            c.predict("faces", "someone else", "unlabeled", None, 0, api_name="/label_start")
            for i in range(60):
                got = _label(c, pattern(i))
                acked[name][got[0]] = got[1]
        except Exception as e:  # reported below: a thread's assert would be swallowed
            errors.append(e)

    threads = [threading.Thread(target=annotate, args=("alice", lambda i: "1" if i % 5 else "2")),
               threading.Thread(target=annotate, args=("bob", lambda i: "1" if i % 4 else "2"))]
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
    for name in ("alice", "bob"):
        assert _store_labels(store, name) == acked[name] and len(acked[name]) == 60
    assert set(store.latest_labels("faces")["annotator"]) == {"alice", "bob", "truth"}
    mine = exported[exported["annotator"] == "alice"]
    assert dict(zip(mine["filename"], mine["label"])) == acked["alice"] and len(exported) == 60 + 60 + 200
    rows = store.query("SELECT image_id, annotator, COUNT(*) AS n FROM labels GROUP BY image_id, annotator")
    assert rows["n"].max() == 1  # nobody's label was recorded twice
    a, b = acked["alice"], acked["bob"]
    expected = cohen_kappa_score([a[k] for k in sorted(a)], [b[k] for k in sorted(a)])
    table = {(r[0], r[1]): float(r[4]) for r in kappa_table["data"]}
    assert table[("alice", "bob")] == pytest.approx(expected, abs=1e-3)
