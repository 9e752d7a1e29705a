"""Boxes are never lost: the real app in a subprocess, an annotator drawing and moving boxes over HTTP as the Boxes
mode's canvas sends them, SIGKILL mid-stream; every acknowledged change is in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading

import pytest

from browser.api import ApiSession
from browser.appserver import AppProcess

pytestmark = pytest.mark.slow


def _session(url: str) -> tuple[ApiSession, int]:
    api = ApiSession(url)
    start = next(d for d in api.dependencies() if d["api_name"] == "boxes_start")
    event = next(d for d in api.dependencies() if d["api_name"] == "boxes_event")
    reply = api.call(start["id"], ["faces", "alice", False, 0.5])
    assert reply.ok, reply.error
    return api, event["id"]


def _ops(n: int) -> list[dict]:
    """Draw a 3×3 box, then every third operation moves the box just drawn one pixel right (25×25 faces)."""
    ops = []
    for i in range(n):
        if i % 3 == 2:
            ops.append({"op": "move", "x": None})  # filled in with the drawn box's id and place
        else:
            ops.append({"op": "add", "cls": i % 2, "x": float(i % 20), "y": float((i // 20) % 20), "w": 3.0, "h": 3.0})
    return ops


def test_sigkill_loses_no_acknowledged_box(faces, home):
    faces.add_box_classes("faces", ["face", "eye"])
    app = AppProcess(home)
    acked: dict[int, tuple] = {}  # box id -> (label index, x, y, w, h) as acknowledged last
    in_flight: dict[int, tuple] = {}  # the move sent and not yet acknowledged: the kill may land after its commit
    count, stop, failures = [0], threading.Event(), []

    def draw():
        api, event = _session(app.url)
        last = None
        for op in _ops(300):
            if stop.is_set():
                return
            if op["op"] == "move":
                box_id, (k, x, y, w, h) = last
                op = {"op": "move", "box_id": box_id, "x": x + 1, "y": y, "w": w, "h": h}
            in_flight.clear()
            if op["op"] == "move":
                in_flight[op["box_id"]] = (last[1][0], op["x"], op["y"], op["w"], op["h"])
            try:
                reply = api.call(event, [None], op)
            except Exception as e:  # the server died under us: this change was never acknowledged
                failures.append(e)
                return
            if not reply.ok:
                failures.append(reply.error)
                return
            screen = json.loads(reply.data[-1])
            assert screen["message"] == "", screen["message"]
            if op["op"] == "add":
                last = (screen["selected"], (op["cls"], op["x"], op["y"], op["w"], op["h"]))
                acked[last[0]] = last[1]
            else:
                acked[op["box_id"]] = (last[1][0], op["x"], op["y"], op["w"], op["h"])
            count[0] += 1

    t = threading.Thread(target=draw, daemon=True)
    t.start()
    try:
        while count[0] < 30:
            t.join(0.05)
            assert t.is_alive(), f"the drawing client stopped early: {failures!r}"
        app.kill()
    finally:
        stop.set()
        t.join(5)
        app.kill()
    classes = faces.box_classes("faces")
    got = {int(b.box_id): (classes.index(b.label), b.x, b.y, b.w, b.h) for b in faces.boxes("faces").itertuples()}
    assert len(acked) >= 20
    # every acknowledged box where it was last put, or where the one change in flight when killed put it
    assert {k: got.get(k) for k in acked} == {k: in_flight[k] if k in in_flight and got.get(k) == in_flight[k] else v
                                              for k, v in acked.items()}
    assert len(set(got) - set(acked)) <= 1  # at most the one in flight when killed
    # the restarted app goes on at the first image she has not boxed, and keeps what she drew
    app = AppProcess(home)
    try:
        api, event = _session(app.url)
        screen = json.loads(api.call(event, [None], {"op": "add", "cls": 0, "x": 20, "y": 20, "w": 4, "h": 4}).data[-1])
    finally:
        app.stop()
    first = faces.images("faces").image_id[0]
    assert set(faces.boxes("faces").image_id) == {first, screen["image_id"]} and screen["image_id"] != first
    assert len(screen["boxes"]) == 1 and len(faces.boxes("faces")) == len(got) + 1
