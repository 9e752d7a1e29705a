"""A plain-HTTP client of a running app, as any logged-in user could write one: log in, list every event
(public or private) from /config, call any of them by fn_index through the queue."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Reply:
    ok: bool
    data: list | None = None
    error: str | None = None


class ApiSession:
    def __init__(self, url: str, user: str | None = None, password: str | None = None, timeout: float = 60):
        self.url = url.rstrip("/") + "/"
        self.http = httpx.Client(base_url=self.url, timeout=timeout, follow_redirects=False)
        self.session_hash = uuid.uuid4().hex[:11]
        if user is not None:
            r = self.http.post("login", data={"username": user, "password": password or ""})
            assert r.status_code == 200, f"login of {user} failed: {r.status_code} {r.text[:200]}"

    def config(self) -> dict:
        r = self.http.get("config")
        r.raise_for_status()
        return r.json()

    def dependencies(self) -> list[dict]:
        """Every event with a backend function: id, api_name, inputs, page, ..."""
        return [d for d in self.config()["dependencies"] if d.get("backend_fn")]

    def defaults(self, dep: dict) -> list[Any]:
        """Each input component's initial value: what a browser would send for an untouched page."""
        comps = {c["id"]: c for c in self.config_cached()["components"]}
        return [comps[i].get("props", {}).get("value") for i in dep["inputs"]]

    def config_cached(self) -> dict:
        if not hasattr(self, "_config"):
            self._config = self.config()
        return self._config

    def call(self, fn_index: int, data: list[Any], event_data: Any = None) -> Reply:
        body = {"data": data, "fn_index": fn_index, "session_hash": self.session_hash, "event_data": event_data,
                "trigger_id": None}
        r = self.http.post("gradio_api/queue/join", json=body)
        if r.status_code != 200:
            return Reply(False, error=f"HTTP {r.status_code}: {r.text[:300]}")
        event_id = r.json()["event_id"]
        with self.http.stream("GET", "gradio_api/queue/data", params={"session_hash": self.session_hash}) as s:
            for line in s.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") != event_id or msg.get("msg") != "process_completed":
                    continue
                out = msg.get("output") or {}
                if msg.get("success"):
                    return Reply(True, data=out.get("data"))
                return Reply(False, error=str(out.get("error")))
        return Reply(False, error="stream closed without a result")

    def call_named(self, api_name: str, data: list[Any]) -> Reply:
        dep = next(d for d in self.dependencies() if d.get("api_name") == api_name)
        return self.call(dep["id"], data)

    def close(self) -> None:
        self.http.close()
