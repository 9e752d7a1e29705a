"""Background work that yields to keypresses: embedding a set and retraining suggestions, off the server's threads.

A server thread doing torch work holds the interpreter lock between operations, so keypresses served by other
threads wait for it, niced or not (a niced thread holding the lock is the slowest to hand it back). For a big set
(PROCESS_MIN images or more) the work therefore runs in a worker process of its own, at the lowest CPU priority
(nice 19). Wherever it runs, it uses one torch thread while an annotator has pressed a key in the last ACTIVE_S
seconds (Activity, shared with the worker), and every core otherwise.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
import traceback
from functools import cache
from typing import Any, Callable

from workbench.lazy import lazy_import

torch = lazy_import("torch")  # the app's first page imports this module (labelling's queue); torch when work starts

ACTIVE_S = 3.0        # an annotator who acted this recently is active: background work keeps to one thread
PROCESS_MIN = 1000    # sets this big are embedded and retrained in a worker process (starting one costs seconds)
LOWEST = 19           # the worker process's nice value
_CTX = mp.get_context("spawn")   # a forked server would copy its threads' locks; spawn starts clean


class Activity:
    """When an annotator last acted (time.time()), in shared memory so a worker process sees it too."""

    def __init__(self) -> None:
        self.last = _CTX.Value("d", 0.0, lock=False)

    def touch(self) -> None:
        """An annotator acted (a key, a click on a page)."""
        self.last.value = time.time()

    def active(self) -> bool:
        return time.time() - self.last.value < ACTIVE_S


@cache
def all_threads() -> int:
    """Torch's threads as it started (before background work set any), read when first asked."""
    return torch.get_num_threads()


def threads_for(last_key: float) -> int:
    """Torch threads for background work: one while annotators are active, all otherwise."""
    active = time.time() - last_key < ACTIVE_S  # judged now: the first call below may import torch (seconds)
    every = all_threads()  # read before this call's set_num_threads
    return 1 if active else every


def yield_threads(activity: Activity | None) -> int:
    """Set this thread's torch threads by the activity (per thread: other threads keep theirs); returns them."""
    n = threads_for(activity.last.value if activity is not None else 0.0)
    torch.set_num_threads(n)
    return n


def lower_thread_priority() -> None:
    """Nice the calling thread (Linux nices threads one by one): keypresses in the server's threads come first."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


EXITING = threading.Event()   # set at interpreter exit: background work stops between steps


class Stopped(Exception):
    """The process is exiting: background work stops between steps."""


Progress = Callable[[float, str], None]


class Worker:
    """A worker process at the lowest priority that runs one call at a time: `call(fn, *args)` returns
    fn(*args, progress=...) computed there. `fn` must be importable (a module-level function); its progress
    messages reach `progress` here. At interpreter exit (EXITING) a call raises Stopped and the process ends."""

    def __init__(self, activity: Activity | None = None):
        self.activity = activity or Activity()
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Any = None
        self.reports: list[tuple[int, int]] = []   # (torch threads, nice) the worker ran each step with

    def call(self, fn: Callable, *args, progress: Progress | None = None) -> Any:
        with self._lock:
            self._ensure()
            self._conn.send((fn, args))
            try:
                return self._wait(progress)
            except BaseException:
                self.close()   # mid-call: the process is in an unknown state
                raise

    def _ensure(self) -> None:
        if self._proc is None or not self._proc.is_alive():
            mine, theirs = _CTX.Pipe()
            self._proc = _CTX.Process(target=_serve, args=(theirs, self.activity.last), daemon=True,
                                      name="workbench-background")
            self._proc.start()
            theirs.close()
            self._conn = mine

    def _wait(self, progress: Progress | None) -> Any:
        while True:
            if EXITING.is_set():
                raise Stopped
            if not self._conn.poll(0.2):
                if not self._proc.is_alive():
                    raise RuntimeError(f"the background worker ended (exit code {self._proc.exitcode})")
                continue
            kind, *what = self._conn.recv()
            if kind == "progress":
                frac, text, threads, nice = what
                self.reports.append((threads, nice))
                if progress is not None:
                    progress(frac, text)
            elif kind == "error":
                raise RuntimeError(f"in the background worker: {what[0]}")
            else:
                return what[0]

    def close(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
        self._proc = None


def _serve(conn, last_key) -> None:
    """The worker process: lowest priority; each call's steps run on threads_for(the last keypress)."""
    try:
        os.nice(LOWEST)
    except OSError:
        pass
    while True:
        try:
            fn, args = conn.recv()
        except EOFError:
            return

        def progress(frac: float, text: str) -> None:
            n = threads_for(last_key.value)
            torch.set_num_threads(n)
            conn.send(("progress", frac, text, n, os.getpriority(os.PRIO_PROCESS, 0)))

        try:
            progress(0.0, "")
            conn.send(("result", fn(*args, progress=progress)))
        except Exception as e:  # reported to the caller, which shows it as the suggestions' status
            conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"))
