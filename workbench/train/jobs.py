"""Background training jobs: one worker thread runs queued jobs in turn; each can be cancelled and
reports progress, so the app stays responsive (and labelling goes on) while a run trains."""

from __future__ import annotations

import itertools
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.train.config import RunConfig
from workbench.workspace import Workspace

# training imports torch: the app holds its job queue from the start and imports it with the first job submitted
compare = lazy_import("workbench.train.compare")
tasks = lazy_import("workbench.train.tasks")  # a classifier's loop or a detector's, as the set asks


@dataclass
class Job:
    """What the UI shows about one job. status: queued, running, completed, cancelled, failed."""

    id: int
    title: str
    status: str = "queued"
    progress: float = 0.0
    message: str = "waiting for the runs before it"
    runs: list[str] = field(default_factory=list)
    comparison: str | None = None  # plots_checkpoints/<comparison>/ of a compare-methods job
    result: Any = None
    created: float = field(default_factory=time.time)
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


class JobManager:
    """Queue of training jobs run one at a time on a daemon thread (two runs at once only halve each other's speed)."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name="workbench-train", daemon=True)
        self._worker.start()

    # -- submitting ---------------------------------------------------------------------------------
    def submit_train(self, cfg: RunConfig) -> Job:
        """Queue one training run; it is checked now (once), so mistakes show at once, and trains on the labels
        as they were when it was submitted."""
        task = tasks.precheck(self.ws, cfg)
        job = self._new(f"train {cfg.name}")
        job.runs.append(cfg.name)
        self._queue.put((job, lambda progress: tasks.train(self.ws, cfg, progress, job.cancel, task=task)))
        return job

    def submit_compare(self, base: RunConfig, seeds: int, prefix: str | None = None, resample: bool = False) -> Job:
        """Queue fine-tuning and feature extraction × `seeds` seeds plus the baselines (names: compare.plan), on one
        split or, with `resample`, a split per seed."""
        if seeds < 1:
            raise WorkbenchError("Compare methods needs at least 1 seed.")
        name, runs = compare.plan(base, seeds, prefix, resample)
        task = compare.check_plan(self.ws, runs)
        design = "a split per seed" if resample else f"split seed {runs[0].split_seed}"
        job = self._new(f"compare methods {name} × {seeds} seeds, {design}")
        job.comparison = name
        self._queue.put((job, lambda progress: compare.compare_methods(self.ws, base, seeds, progress, job.cancel,
                                                                       on_run_start=lambda r: _add_run(job, r),
                                                                       planned=runs, task=task, name=name)))
        return job

    # -- looking and cancelling ------------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.id, reverse=True)

    def table(self) -> pd.DataFrame:
        """Jobs newest first: id, what, status, progress %, latest message."""
        return pd.DataFrame([{"job": j.id, "what": j.title, "status": j.status, "progress": f"{j.progress:.0%}",
                              "message": j.message} for j in self.jobs()],
                            columns=["job", "what", "status", "progress", "message"])

    def finished(self) -> list[Job]:
        """Jobs that have ended (completed, cancelled or failed), newest first."""
        return [j for j in self.jobs() if j.done.is_set()]

    def active(self) -> Job | None:
        """The running job, else the oldest queued one, else None."""
        jobs = [j for j in self.jobs() if j.active]
        running = [j for j in jobs if j.status == "running"]
        return (running or jobs[::-1] or [None])[0]

    def get(self, job_id: int) -> Job:
        with self._lock:
            if int(job_id) not in self._jobs:
                raise WorkbenchError(f"No job {job_id}.")
            return self._jobs[int(job_id)]

    def cancel(self, job_id: int) -> Job:
        """Ask a job to stop: a queued one never starts, a running one stops after the current batch."""
        job = self.get(job_id)
        job.cancel.set()
        if job.status == "queued":
            job.message = "cancel requested before start"
        elif job.status == "running":
            job.message = "cancelling after the current batch..."
        return job

    def wait(self, job_id: int, timeout: float | None = None) -> Job:
        job = self.get(job_id)
        job.done.wait(timeout)
        return job

    # -- the worker -------------------------------------------------------------------------------------
    def _new(self, title: str) -> Job:
        with self._lock:
            job = Job(next(self._ids), title)
            self._jobs[job.id] = job
            return job

    def _work(self) -> None:
        while True:
            job, fn = self._queue.get()
            self._run(job, fn)

    def _run(self, job: Job, fn: Callable) -> None:
        if job.cancel.is_set():
            job.status, job.message = "cancelled", "cancelled before it started"
            job.done.set()
            return
        job.status, job.message = "running", "starting"

        def progress(frac: float, msg: str) -> None:
            job.progress, job.message = max(0.0, min(1.0, frac)), msg

        try:
            job.result = fn(progress)
            results = job.result if isinstance(job.result, list) else [job.result]
            statuses = {r.status for r in results}
            job.status = "cancelled" if "cancelled" in statuses else "failed" if "failed" in statuses else "completed"
            job.message = "; ".join(f"{r.run}: {r.message}" for r in results)
            curves = compare.curves_folder(self.ws, results, job.comparison)  # train() and compare_methods wrote them
            if curves:
                job.message += f" Curves saved in {curves}."
            if job.status == "completed":
                job.progress = 1.0
        except WorkbenchError as e:
            job.status, job.message = "failed", str(e)
        except Exception as e:  # a bug must not kill the worker thread that later jobs need
            job.status, job.message = "failed", f"{type(e).__name__}: {e}"
            traceback.print_exc()
        finally:
            job.done.set()


def _add_run(job: Job, run: str) -> None:
    job.runs.append(run)
