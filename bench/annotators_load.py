"""Many annotators at once through the app's HTTP API on loopback, on SQLite and on PostgreSQL.

For each engine the real app (`python app.py --no-demo`, 127.0.0.1) serves the digits demo set (1,797 images) from
a fresh store; one annotator labels first (the baseline), then N annotators in N client processes label at
once, each through gradio_client exactly as a browser's keys do (/label_start, then one /label_action per key).

    python bench/annotators_load.py [--annotators 16] [--labels 500] [--baseline-labels 200] [--engines sqlite postgresql]

Prints labels/s, p50/p95 per label, lost (acknowledged but not in the store) and duplicated (an image labelled
twice by one annotator), and p95 at N annotators over p95 of one (goal: 0 lost, 0 duplicated, ratio ≤ 3).
PostgreSQL: $WORKBENCH_TEST_PG (a fresh database is made in that server), else a throwaway server is started with
.ci/postgres.sh. Bounded: --labels per annotator and --seconds per run; loopback only.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
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
from workbench.store import Store  # noqa: E402

ACK = re.compile(r"id='wb-message'>([^<]+?) → ([^<]+)</div>")


def annotate(url: str, name: str, n: int, seconds: float, start, out) -> None:
    """One annotator's client process: n keys as fast as the app answers; latencies and acknowledgements."""
    try:
        c = connect(url, name)
    except Exception as e:  # counted as a failed client, not as labels
        start.wait()  # the others are not left waiting
        out.put({"name": name, "lat": [], "acked": {}, "unacked": 0, "error": repr(e)})
        return
    start.wait()
    lat, acked, unacked = [], {}, 0
    end = time.perf_counter() + seconds
    for i in range(n):
        if time.perf_counter() > end:
            break
        t = time.perf_counter()
        html = c.predict(str((i * 7) % 10), api_name="/label_action")
        lat.append(time.perf_counter() - t)
        m = ACK.search(html)
        if m:
            acked[m.group(1)] = m.group(2)
        else:
            unacked += 1
    out.put({"name": name, "lat": lat, "acked": acked, "unacked": unacked})


def connect(url: str, name: str, tries: int = 5):
    """A client with a started session; retried, as 16 clients connecting on a loaded machine may time out."""
    from gradio_client import Client

    for attempt in range(tries):
        try:
            c = Client(url, verbose=False, httpx_kwargs={"timeout": 60})
            c.predict(DIGITS, name, "unlabeled", None, 0, api_name="/label_start")
            return c
        except Exception:
            if attempt == tries - 1:
                raise
            time.sleep(2 * (attempt + 1))


def run_annotators(url: str, names: list[str], n: int, seconds: float) -> tuple[list[dict], float]:
    """All annotators start together (after each has connected); returns their results and the wall time."""
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(len(names) + 1), ctx.Queue()
    procs = [ctx.Process(target=annotate, args=(url, nm, n, seconds, start, out), daemon=True) for nm in names]
    for p in procs:
        p.start()
    start.wait(timeout=300)
    t0 = time.perf_counter()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join(30)
    return results, wall


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


def report(engine: str, results: list[dict], wall: float, store: Store) -> float:
    lat = np.concatenate([r["lat"] for r in results]) * 1000
    lost, dup = audit(store, results)
    unacked = sum(r["unacked"] for r in results)
    for r in results:
        if "error" in r:
            print(f"  {r['name']} could not connect: {r['error']}", flush=True)
    p50, p95 = np.percentile(lat, [50, 95])
    print(f"{engine:<11} {len(results):>10} {len(lat):>7} {len(lat) / wall:>9.1f} {p50:>8.1f} {p95:>8.1f} "
          f"{lost:>5} {dup:>10} {unacked:>8}", flush=True)
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


def bench_engine(engine: str, args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory() as tmp, engine_url(engine, Path(tmp)) as url:
        os.environ.update(WORKBENCH_HOME=tmp, WORKBENCH_DB=url)
        store = Store(url)
        ensure_digits(store)
        app = AppProcess(Path(tmp))
        try:
            one, wall = run_annotators(app.url, ["solo"], args.baseline_labels, args.seconds)
            p95_one = report(engine, one, wall, store)
            names = [f"ann{k:02d}" for k in range(args.annotators)]
            many, wall = run_annotators(app.url, names, args.labels, args.seconds)
            p95_many = report(engine, many, wall, store)
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
    p.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = p.parse_args()
    print(f"{'engine':<11} {'annotators':>10} {'labels':>7} {'labels/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'lost':>5} {'duplicated':>10} {'unacked':>8}", flush=True)
    for engine in args.engines:
        bench_engine(engine, args)


if __name__ == "__main__":
    main()
