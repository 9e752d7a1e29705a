"""Training: run configs, timm backbones and their weights, the training loop, runs on disk, background jobs."""

from workbench.train.config import Augment, RunConfig
from workbench.train.loop import RunResult, train
from workbench.train.predict import predict
from workbench.train.runs import LoadedRun, list_runs, load_history, load_run

__all__ = ["Augment", "RunConfig", "RunResult", "train", "predict", "LoadedRun", "list_runs", "load_history", "load_run"]
