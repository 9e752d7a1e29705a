"""`workbench app`: start the browser app (same as `python app.py`)."""

from __future__ import annotations

import argparse

from workbench.access import Access
from workbench.cli.mlflow_option import add_mlflow_argument
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.limits import MAX_UPLOAD, parse_size

# the app (gradio and every tab): imported when `workbench app` starts it, not by the other commands
app = lazy_import("workbench.ui.app")


def add_app_arguments(p: argparse.ArgumentParser) -> None:
    """The app's options: host, port, logins and roles, demo sets, upload limit, monitoring (`python app.py` runs
    `workbench app`)."""
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=None,
                   help="default: $GRADIO_SERVER_PORT, else the first free port from 7860")
    p.add_argument("--auth", action="append", metavar="USER:PASSWORD",
                   help="require a login (repeat for several users); the user name names the annotator")
    p.add_argument("--admin", action="append", metavar="USER", default=[],
                   help="with --auth: this user may import, train, evaluate, export and manage classes (repeatable); "
                        "every other user is an annotator (the /label page, their own labels only)")
    p.add_argument("--blind", action="store_true",
                   help="with --auth: annotators do not see other annotators' labels (agreement view refused)")
    p.add_argument("--no-demo", action="store_true", help="do not import the bundled demo sets at start")
    p.add_argument("--suggestion-floor", type=float, default=None, metavar="P",
                   help="label suggestions less sure than P (0..1) are not offered: not shown, on no verify page, "
                        "Enter accepts nothing (default 0.5: the model must find its class more likely right than "
                        "wrong)")
    p.add_argument("--max-upload", default=MAX_UPLOAD, metavar="SIZE",
                   help=f"largest file any user may upload, e.g. 200mb or 2gb (default {MAX_UPLOAD})")
    p.add_argument("--monitoring", action="store_true",
                   help="turn on Gradio's traffic monitoring at /monitoring (off by default: with it, every "
                        "logged-in user can read the summary and make the server print the dashboard's secret URL)")
    add_mlflow_argument(p)


def parse_auth(values: list[str] | None) -> list[tuple[str, str]] | None:
    """(user, password) pairs from USER:PASSWORD values (the password may hold ':'); None without any."""
    if not values:
        return None
    out = []
    for v in values:
        user, sep, pw = v.partition(":")
        if not sep or not user or not pw:
            raise WorkbenchError(f"--auth expects USER:PASSWORD, got {v!r}")
        out.append((user, pw))
    return out


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench app`."""
    p = sub.add_parser("app", help="start the browser app")
    add_app_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the app with the options given (role options checked first)."""
    auth = parse_auth(args.auth)
    Access.of(auth, args.admin, args.blind)  # bad role options fail here, before the UI's slow imports
    max_upload = parse_size(args.max_upload, "--max-upload")
    floor = args.suggestion_floor
    if floor is not None and not 0.0 <= floor <= 1.0:
        raise WorkbenchError(f"--suggestion-floor is a confidence between 0 and 1, not {floor}.")
    app.launch(host=args.host, port=args.port, auth=auth, demo_sets=not args.no_demo, admins=args.admin,
               blind=args.blind, ws=getattr(args, "workspace", None), max_upload=max_upload, monitoring=args.monitoring,
               suggestion_floor=floor)
    return 0
