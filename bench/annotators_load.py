"""Many annotators at once through the app's HTTP API on loopback, on SQLite and on PostgreSQL.

For each engine the real app (`python app.py --no-demo`, 127.0.0.1) serves the digits demo set (1,797 images, its
embeddings already cached as after a first session) from a fresh store, suggestions on. One annotator labels first
(the baseline), then N annotators label at once. Each is a session of its own on gradio's plain HTTP API
(POST /gradio_api/call/label_start, then one /label_action per key, as a browser's keys do) and presses the key of the
true class of the image on screen. All sessions run in one asyncio client, so the load generator takes little of
the CPU the server needs.

Annotators are people: after each answer one looks at the next image for a pause drawn from an exponential
distribution with mean --think seconds (default 0.5 s: two labels a second, a fast keyboard annotator) before the
key. `--think 0` presses the next key the moment the answer arrives: the server's saturation throughput.

    python bench/annotators_load.py [--annotators 16] [--labels 500] [--baseline-labels 200] [--think 0.5]
                                    [--engines sqlite postgresql]

Prints labels/s, p50/p95 per label, lost (acknowledged but not in the store), duplicated (an image labelled twice
by one annotator), unacknowledged answers, the server's CPU per label, and p95 at N annotators over p95 of one
(goal: 0 lost, 0 duplicated, ratio ≤ 3). PostgreSQL: $WORKBENCH_TEST_PG (a fresh database is made in that server),
else a throwaway server is started with .ci/postgres.sh. Bounded: --labels per annotator and --seconds per run;
loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' app launcher: `python app.py` on a free loopback port

from browser.appserver import AppProcess  # noqa: E402

from workbench.data.demo import DIGITS, ensure_digits  # noqa: E402
from workbench.labeling.features import dataset_features  # noqa: E402
from workbench.store import Store  # noqa: E402

ACK = re.compile(r"id='wb-message'>([^<]+?) → ([^<]+)</div>")


KEYS = "1234567890"  # the key of the k-th class, as the Label tab shows them
SHOWN = re.compile(r"data-image-id='(\d*)'")


class Annotator:
    """One annotator's session over gradio's plain HTTP API (POST /gradio_api/call/<name>, then read the result).

    The documented curl-style API with a session hash of its own, so the session's state (the queue) lives
    on the server exactly as for a browser tab; one asyncio client for all annotators keeps the load
    generator's own CPU small beside the server's on a 2-core machine.
    """

    def __init__(self, http, name: str, truth: dict[int, int]):
        self.http, self.name, self.truth = http, name, truth
        self.session = uuid.uuid4().hex[:11]
        self.lat: list[float] = []
        self.acked: dict[str, str] = {}
        self.unacked = 0
        self.shown: int | None = None

    async def call(self, api: str, *data) -> list:
        r = await self.http.post(f"gradio_api/call/{api}", json={"data": list(data), "session_hash": self.session})
        r.raise_for_status()
        event = r.json()["event_id"]
        async with self.http.stream("GET", f"gradio_api/call/{api}/{event}") as resp:
            kind = None
            async for line in resp.aiter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind in ("complete", "error"):
                    if kind == "error":
                        raise RuntimeError(f"{api} failed: {line[6:200]}")
                    return json.loads(line[6:])
        raise RuntimeError(f"{api}: the stream ended without a result")

    async def start(self) -> None:
        out = await self.call("label_start", DIGITS, self.name, "unlabeled", None, 0, True)  # suggestions on
        self._saw(next(x for x in out if isinstance(x, str) and "wb-view" in x))

    async def label_one(self) -> None:
        """The key of the true class of the image on screen (a careful annotator), timed to the next image."""
        key = KEYS[self.truth.get(self.shown, 0) % len(KEYS)]
        t = time.perf_counter()
        html = (await self.call("label_action", key))[-1]
        self.lat.append(time.perf_counter() - t)
        m = ACK.search(html)
        if m:
            self.acked[m.group(1)] = m.group(2)
        else:
            self.unacked += 1
        self._saw(html)

    def _saw(self, html: str) -> None:
        m = SHOWN.search(html)
        self.shown = int(m.group(1)) if m and m.group(1) else None

    def result(self, error: str | None = None) -> dict:
        return {"name": self.name, "lat": self.lat, "acked": self.acked, "unacked": self.unacked,
                **({"error": error} if error else {})}


async def _annotators(url: str, names: list[str], n: int, seconds: float, think: float,
                      truth: dict[int, int]) -> tuple[list[dict], float]:
    import httpx

    limits = httpx.Limits(max_connections=4 * len(names), max_keepalive_connections=4 * len(names))
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        people = [Annotator(http, nm, truth) for nm in names]
        started = await asyncio.gather(*(p.start() for p in people), return_exceptions=True)
        t0 = time.perf_counter()
        end = t0 + seconds
        rng = np.random.default_rng(0)

        async def work(p: Annotator) -> None:
            for _ in range(n):
                if time.perf_counter() > end:
                    break
                await p.label_one()
                if think:  # a person looks at the next image before pressing a key
                    await asyncio.sleep(float(rng.exponential(think)))

        await asyncio.gather(*(work(p) for p, e in zip(people, started) if not isinstance(e, Exception)))
        wall = time.perf_counter() - t0
    return [p.result(repr(e) if isinstance(e, Exception) else None) for p, e in zip(people, started)], wall


def run_annotators(url: str, names: list[str], n: int, seconds: float, think: float,
                   truth: dict[int, int]) -> tuple[list[dict], float]:
    """All annotators start their sessions, then label at once; returns their results and the wall time."""
    return asyncio.run(_annotators(url, names, n, seconds, think, truth))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def true_classes(store: Store) -> dict[int, int]:
    """image id -> index of its true class (the digits set is imported with its labels)."""
    classes = store.classes(DIGITS)
    cur = store.latest_labels(DIGITS)
    return {int(i): classes.index(lab) for i, lab in zip(cur.image_id, cur.label)}


def audit(store: Store, results: list[dict]) -> tuple[int, int]:
    """(lost, duplicated): acknowledged labels missing or different in the store; extra rows per image and annotator."""
    names = store.images(DIGITS).set_index("image_id")["name"]
    cur = store.latest_labels(DIGITS)
    lost = 0
    for r in results:
        mine = cur[cur.annotator == r["name"]]
        got = {names[i]: lab for i, lab in zip(mine.image_id, mine.label)}
        lost += sum(got.get(k) != v for k, v in r["acked"].items())
    who = [r["name"] for r in results]
    rows = store.query("SELECT annotator, image_id, COUNT(*) AS n FROM labels GROUP BY annotator, image_id")
    rows = rows[rows.annotator.isin(who)]
    return lost, int((rows.n - 1).sum())


def report(engine: str, results: list[dict], wall: float, cpu: float, store: Store) -> float:
    """One line of the table; `cpu`: the server's CPU seconds over the run."""
    lat = np.concatenate([r["lat"] for r in results]) * 1000
    lost, dup = audit(store, results)
    unacked = sum(r["unacked"] for r in results)
    for r in results:
        if "error" in r:
            print(f"  {r['name']} could not connect: {r['error']}", flush=True)
    p50, p95 = np.percentile(lat, [50, 95])
    print(f"{engine:<11} {len(results):>10} {len(lat):>7} {len(lat) / wall:>9.1f} {p50:>8.1f} {p95:>8.1f} "
          f"{lost:>5} {dup:>10} {unacked:>8} {1000 * cpu / max(len(lat), 1):>9.1f}", flush=True)
    return float(p95)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on $WORKBENCH_TEST_PG's server (or on a throwaway server), dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server, started = os.environ.get("WORKBENCH_TEST_PG"), None
    if not server:
        env = subprocess.run([str(ROOT / ".ci" / "postgres.sh"), "start"], capture_output=True, text=True, check=True)
        started = re.search(r"PGDIR=(\S+)", env.stdout).group(1)
        server = re.search(r"WORKBENCH_TEST_PG='([^']+)'", env.stdout).group(1)
    name = f"wb_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
        if started:
            subprocess.run([str(ROOT / ".ci" / "postgres.sh"), "stop", started], capture_output=True)


@contextmanager
def engine_url(engine: str, home: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{home / 'datasets' / 'workbench.sqlite'}"
    else:
        with postgres_database() as url:
            yield url


def timed_run(engine: str, app: AppProcess, names: list[str], n: int, args: argparse.Namespace,
              truth: dict[int, int], store: Store) -> float:
    """One run of `names` annotators, reported; returns its p95 in ms."""
    cpu = cpu_seconds(app.proc.pid)
    results, wall = run_annotators(app.url, names, n, args.seconds, args.think, truth)
    return report(engine, results, wall, cpu_seconds(app.proc.pid) - cpu, store)


def bench_engine(engine: str, args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory() as tmp, engine_url(engine, Path(tmp)) as url:
        os.environ.update(WORKBENCH_HOME=tmp, WORKBENCH_DB=url)
        store = Store(url)
        ensure_digits(store)
        truth = true_classes(store)
        dataset_features(store, DIGITS)  # embeddings on disk, as after a first session: the run measures labelling
        app = AppProcess(Path(tmp))
        try:
            p95_one = timed_run(engine, app, ["solo"], args.baseline_labels, args, truth, store)
            names = [f"ann{k:02d}" for k in range(args.annotators)]
            p95_many = timed_run(engine, app, names, args.labels, args, truth, store)
        finally:
            app.stop()
            store.close()
    ratio = p95_many / p95_one
    print(f"{engine:<11} p95({args.annotators}) / p95(1) = {ratio:.2f}  (goal ≤ 3)", flush=True)
    return ratio


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--annotators", type=int, default=16)
    p.add_argument("--labels", type=int, default=500, help="labels per annotator in the concurrent run")
    p.add_argument("--baseline-labels", type=int, default=200, help="labels of the one-annotator baseline")
    p.add_argument("--seconds", type=float, default=600, help="a run stops after this long, done or not")
    p.add_argument("--think", type=float, default=0.5,
                   help="mean seconds an annotator looks at an image before the next key (exponential); 0: no pause")
    p.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = p.parse_args()
    print(f"{'engine':<11} {'annotators':>10} {'labels':>7} {'labels/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'lost':>5} {'duplicated':>10} {'unacked':>8} {'server CPU ms/label':>9}", flush=True)
    for engine in args.engines:
        bench_engine(engine, args)


if __name__ == "__main__":
    main()
