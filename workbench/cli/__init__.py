"""`workbench` command line: one module per sub-command, all calling the same core as the app."""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

# Every command, imported normally: a renamed or broken command module is an ImportError here, at start,
# rather than a sub-command that quietly disappears. Each module has register(subparsers).
from workbench.cli import (app_cmd, demo_cmd, duplicates_cmd, evaluate_cmd, explain_cmd, export_cmd, export_model_cmd,
                           import_cmd, predict_cmd, quality_cmd, report_cmd, train_cmd)
from workbench.cli.db_option import add_db_argument, use_db
from workbench.errors import WorkbenchError
from workbench.workspace import Workspace

COMMANDS: tuple[ModuleType, ...] = (app_cmd, import_cmd, export_cmd, quality_cmd, duplicates_cmd, train_cmd,
                                    evaluate_cmd, demo_cmd, explain_cmd, export_model_cmd, predict_cmd, report_cmd)


def build_parser() -> argparse.ArgumentParser:
    """The `workbench` parser: one sub-command per module of COMMANDS, each taking --db."""
    parser = argparse.ArgumentParser(prog="workbench", description="Label, train, evaluate and review image classifiers.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    for command in sub.choices.values():
        add_db_argument(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command on the workspace `args.workspace` (home and --db store, the store opened on first use);
    a WorkbenchError is printed as `error: ...` and exits with status 2."""
    args = build_parser().parse_args(argv)
    try:
        use_db(args)
        args.workspace = Workspace.open(db=args.db, mlflow=getattr(args, "mlflow", None))
        return int(args.func(args) or 0)
    except WorkbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
