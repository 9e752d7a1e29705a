"""`--db URL`, taken by every sub-command: which label store to open (else $WORKBENCH_DB, else the SQLite file)."""

from __future__ import annotations

import argparse
import os

from workbench.store.engine import parse_url


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """Give a sub-command the --db option, unless it declares its own."""
    if "--db" in parser._option_string_actions:  # a command that declares its own
        return
    parser.add_argument("--db", metavar="URL",
                        help="label store: sqlite:///FILE (default datasets/workbench.sqlite) or "
                             "postgresql+psycopg://USER:PASSWORD@HOST/DB for a team (also $WORKBENCH_DB)")


def use_db(args: argparse.Namespace) -> None:
    """Every Store() this process (and its children: training workers, torchrun ranks) opens is --db's."""
    if getattr(args, "db", None):
        parse_url(args.db)  # a clear error now rather than at the first query
        os.environ["WORKBENCH_DB"] = args.db
