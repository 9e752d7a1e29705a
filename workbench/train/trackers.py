"""What other tools read of a run: TensorBoard event files beside its history, and MLflow when asked for.

Every run writes TensorBoard events into its own folder (checkpoints/<run>/events.out.tfevents.*), so
`tensorboard --logdir checkpoints/` shows every run: per-epoch train/ and val/ metrics, the learning rate, and the
settings as hparams. With an MLflow tracking URI (`--mlflow`, $WORKBENCH_MLFLOW: a server's http(s):// address or a
sqlite:///FILE store) the run is also logged there: its settings as params, per-epoch metrics, and its files as
artifacts when it ends. Neither needs a network. A tracker that fails says so once and is dropped: the run goes on.

A tracker is three calls (`Tracker`): `start` when the run's folder is made, `epoch` at the end of every epoch with
that epoch's history rows, `finish` with how it ended and the files it wrote. `Trackers` holds the run's trackers
and keeps their failures away from training; `RunFiles` (loop.py, rank 0 only) calls it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from workbench.lazy import lazy_import
from workbench.metrics import DETECTION_METRICS, METRICS
from workbench.train.config import RunConfig

# mlflow is imported only when a run is tracked there: seconds of imports nobody else pays for
entities = lazy_import("mlflow.entities")
tracking = lazy_import("mlflow.tracking")

log = logging.getLogger(__name__)
SPLITS = ("train", "val")
MLFLOW_STATUS = {"completed": "FINISHED", "cancelled": "KILLED", "failed": "FAILED"}
LOGGED = tuple(dict.fromkeys([*METRICS, *DETECTION_METRICS]))  # a classifier's or a detector's history columns


class Tracker(Protocol):
    """Something that records a run as it trains."""

    name: str

    def start(self, cfg: RunConfig, folder: Path) -> None:
        """The run begins: its settings (`cfg`) and folder (checkpoints/<run>/)."""

    def epoch(self, epoch: int, rows: list[dict]) -> None:
        """An epoch ended: its history rows (one per split: metrics, lr, seconds)."""

    def finish(self, status: str, files: list[Path], summary: dict) -> None:
        """The run ended with `status`; `files` are what it wrote (artifacts), `summary` how it went."""


def metric_tag(split: str, metric: str) -> str:
    """The name of a per-epoch metric in TensorBoard and MLflow: 'val/accuracy', 'train/loss'."""
    return f"{split}/{metric}"


def hparam_values(cfg: RunConfig) -> dict[str, str | int | float | bool]:
    """The settings as TensorBoard's hparams take them: an unset one (None) as "none", anything else not a scalar
    as its text (the hparams call refuses both and the run would lose its TensorBoard record)."""
    return {k: "none" if v is None else v if isinstance(v, (str, int, float, bool)) else str(v)
            for k, v in cfg.flat().items()}


class TensorBoard:
    """Event files in the run's own folder: scalars per epoch and split, the learning rate, the settings as hparams."""

    name = "TensorBoard"

    def __init__(self) -> None:
        self.writer: SummaryWriter | None = None

    def start(self, cfg: RunConfig, folder: Path) -> None:
        self.writer = SummaryWriter(log_dir=str(folder), flush_secs=30)
        # hparams in the run's own event file (SummaryWriter.add_hparams would open a sub-run per call); the metric
        # names tie the HParams dashboard to the val scalars logged each epoch
        metrics = {metric_tag("val", m): 0.0 for m in (DETECTION_METRICS if cfg.task == "detection" else METRICS)}
        for part in hparams(hparam_values(cfg), metrics):
            self.writer.file_writer.add_summary(part)

    def epoch(self, epoch: int, rows: list[dict]) -> None:
        for row in rows:
            for m in LOGGED:
                if row.get(m) is not None:
                    self.writer.add_scalar(metric_tag(row["split"], m), float(row[m]), epoch)
        self.writer.add_scalar("lr", float(rows[0]["lr"]), epoch)
        self.writer.flush()  # readable while the run trains

    def finish(self, status: str, files: list[Path], summary: dict) -> None:
        self.writer.add_text("status", f"{status}: {summary.get('message', '')}")
        self.writer.close()


class MLflow:
    """A run in an MLflow tracking store (experiment: the dataset's name): params, per-epoch metrics, artifacts."""

    name = "MLflow"

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.client = None
        self.run_id = ""

    def start(self, cfg: RunConfig, folder: Path) -> None:
        self.client = tracking.MlflowClient(tracking_uri=self.uri)
        experiment = self.client.get_experiment_by_name(cfg.dataset)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(
            cfg.dataset, artifact_location=artifact_location(self.uri, cfg.dataset))
        run = self.client.create_run(experiment_id, run_name=cfg.name,
                                     tags={"workbench.run": cfg.name, "workbench.folder": str(folder)})
        self.run_id = run.info.run_id
        self.client.log_batch(self.run_id, params=[entities.Param(k, str(v)) for k, v in cfg.flat().items()])

    def epoch(self, epoch: int, rows: list[dict]) -> None:
        now = int(time.time() * 1000)
        metrics = [entities.Metric(metric_tag(row["split"], m), float(row[m]), now, epoch)
                   for row in rows for m in LOGGED if row.get(m) is not None]
        self.client.log_batch(self.run_id, metrics=[*metrics, entities.Metric("lr", float(rows[0]["lr"]), now, epoch)])

    def finish(self, status: str, files: list[Path], summary: dict) -> None:
        try:
            for f in files:
                self.client.log_artifact(self.run_id, str(f))
            self.client.log_dict(self.run_id, summary, "summary.json")
        finally:
            self.client.set_terminated(self.run_id, MLFLOW_STATUS.get(status, "FAILED"))


def artifact_location(uri: str, experiment: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a sqlite:/// store's file (MLflow's default would be
    ./mlruns in whatever the working directory is); a server decides for itself (None)."""
    parsed = urlparse(uri)
    if parsed.scheme != "sqlite" or not parsed.path.strip("/"):
        return None
    db = Path(uri.split(":///", 1)[1]).resolve()  # sqlite:///relative.db or sqlite:////absolute.db
    return (db.parent / "mlflow-artifacts" / experiment).as_uri()


class Trackers:
    """The run's trackers, each call guarded: a tracker that raises is logged, named in `warnings`, and dropped."""

    def __init__(self, trackers: list[Tracker]):
        self.active = list(trackers)
        self.warnings: list[str] = []

    @classmethod
    def for_run(cls, mlflow: str | None = None) -> Trackers:
        """TensorBoard always; MLflow when a tracking URI is given."""
        return cls([TensorBoard(), *([MLflow(mlflow)] if mlflow else [])])

    def start(self, cfg: RunConfig, folder: Path) -> None:
        self._each("start", cfg, folder)

    def epoch(self, epoch: int, rows: list[dict]) -> None:
        self._each("epoch", epoch, rows)

    def finish(self, status: str, files: list[Path], summary: dict) -> None:
        self._each("finish", status, [f for f in files if Path(f).is_file()], summary)
        self.active = []

    def _each(self, call: str, *args) -> None:
        for tracker in list(self.active):
            try:
                getattr(tracker, call)(*args)
            except Exception as e:  # noqa: BLE001 (a tracker is an extra: whatever it raises, the run goes on)
                message = f"{tracker.name} tracking failed ({type(e).__name__}: {e}); the run went on without it."
                log.warning(message)
                self.warnings.append(message)
                self.active.remove(tracker)
