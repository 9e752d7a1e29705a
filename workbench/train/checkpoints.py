"""best.pt / last.pt written in the background, so an epoch never waits on the disk.

Why: a resnet18 checkpoint is 45 MB with an fsync; written twice per epoch in the loop it cost 6 of the
13 s of a 20-epoch feature-extraction run whose epochs take 50 ms. Here the loop hands over a snapshot
and goes on; requests for the same file coalesce (only the newest is written) and a state saved as
both best and last is serialised once, the second name being a hard link. Every file is replaced
atomically, so what is on disk is always a complete checkpoint; close() waits until the newest
state of each file is there.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from workbench.atomic import atomic_path
from workbench.train.weights import atomic_save


class CheckpointError(RuntimeError):
    """A checkpoint file could not be written (disk full, permissions)."""


class CheckpointWriter:
    """Background writer of a run's checkpoint files; use as a context manager or call close()."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self._pending: dict[str, dict] = {}
        self._cv = threading.Condition()
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name=f"checkpoints:{self.run_dir.name}", daemon=True)
        self._thread.start()

    def save(self, snapshot: dict, *names: str) -> None:
        """Queue a state dict for each file name (e.g. "best.pt", "last.pt"); see `snapshot` for making one."""
        with self._cv:
            self._raise_error()
            for name in names:
                self._pending[name] = snapshot
            self._cv.notify()

    def close(self) -> None:
        """Wait until every queued file is on disk; re-raise a failed write."""
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join()
        with self._cv:
            self._raise_error()

    def __enter__(self) -> CheckpointWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise CheckpointError(f"Writing a checkpoint in {self.run_dir} failed: {self._error}") from self._error

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._closed:
                    self._cv.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, {}
            try:
                written: dict[int, Path] = {}
                for name, state in batch.items():
                    path = self.run_dir / name
                    if id(state) in written:
                        _atomic_link(written[id(state)], path)
                    else:
                        atomic_save(state, path)
                        written[id(state)] = path
            except BaseException as e:  # disk full, permissions: the run hears of it at its next save or close
                with self._cv:
                    self._error = e
                    self._pending.clear()
                return


def snapshot(state_dict: dict, reuse: dict | None = None) -> dict:
    """A CPU copy of a state dict that training will not change under the writer; tensors named in
    `reuse` (e.g. a frozen backbone copied once) are taken from there instead of copied again."""
    reuse = reuse or {}
    return {k: reuse[k] if k in reuse else v.detach().to("cpu", copy=True) for k, v in state_dict.items()}


def _atomic_link(src: Path, dst: Path) -> None:
    """dst becomes the same file as src (a hard link, or a copy where links are not supported), atomically."""
    with atomic_path(dst) as tmp:
        tmp.unlink()  # atomic_path made an empty file there; the link takes its name
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
