"""`workbench demo NAME`: import a bundled demo set (faces, digits, or the optional MNIST and detection scenes)."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from workbench.data.demo import DEFAULT_DEMOS, DEMOS, import_demo


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench demo`."""
    listing = "\n".join(f"  {k:8s} {d}" for k, (d, _) in DEMOS.items())
    p = sub.add_parser("demo", help="import a demo set (faces, digits, mnist, scenes); --list shows them",
                       description="Import a demo set made from data shipped inside installed packages (no download):\n"
                                   + listing + f"\nThe app imports {' and '.join(DEFAULT_DEMOS)} at start.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", choices=list(DEMOS), help="demo set to import")
    p.add_argument("--list", action="store_true", help="list the demo sets and whether each is imported")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List the demo sets, or import the one named."""
    store = args.workspace.store
    if args.list:
        have = set(store.datasets())
        for k, (desc, _) in DEMOS.items():
            print(f"{k:8s} {'imported' if k in have else '-':9s} {desc}")
        return 0
    if not args.name:
        print(f"error: name a demo set ({', '.join(DEMOS)}) or give --list", file=sys.stderr)
        return 2
    done = import_demo(store, args.name, lambda it, total, desc: tqdm(it, total=total, desc=desc, unit="img"))
    print(f"{done.dataset}: {done.images} images {'already imported' if done.existed else 'imported'}; "
          f"label or train on it as dataset {done.dataset!r}")
    return 0
