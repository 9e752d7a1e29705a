"""`--mlflow URI`, taken by the commands that train (`train`, `app`): also log runs to an MLflow tracking store."""

from __future__ import annotations

import argparse


def add_mlflow_argument(parser: argparse.ArgumentParser) -> None:
    """Give a sub-command the --mlflow option (the workspace reads it: cli.main)."""
    parser.add_argument("--mlflow", metavar="URI",
                        help="also log each run (settings, per-epoch metrics, files) to this MLflow tracking store: "
                             "sqlite:///mlflow.db or a server's http://HOST:PORT (also $WORKBENCH_MLFLOW); runs "
                             "always write TensorBoard files beside their history")
