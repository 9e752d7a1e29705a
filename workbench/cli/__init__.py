"""`workbench` command line: one module per sub-command, all calling the same core as the app."""

from __future__ import annotations

import argparse
import importlib
import sys

from workbench.cli.db_option import add_db_argument, use_db
from workbench.errors import WorkbenchError

COMMANDS = ["app_cmd", "import_cmd", "export_cmd", "train_cmd", "evaluate_cmd", "demo_cmd", "explain_cmd",
            "export_model_cmd", "predict_cmd"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description="Label, train, evaluate and review image classifiers.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"workbench.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"workbench.cli.{name}":
                raise
            continue  # a command not written yet
        module.register(sub)
    for command in sub.choices.values():
        add_db_argument(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        use_db(args)
        return int(args.func(args) or 0)
    except WorkbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
