"""`workbench duplicates SET`: exact and near-duplicate images of a dataset, as groups, and the pairs as a CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import

duplicates = lazy_import("workbench.data.duplicates")  # OpenCV, scipy, sklearn: imported when the command runs
tables = lazy_import("workbench.tables")

SHOWN_NAMES = 8  # file names printed per group


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench duplicates`."""
    p = sub.add_parser("duplicates", help="find exact and near-duplicate images of a dataset",
                       description="Exact duplicates have equal decoded pixels; near duplicates are the same picture "
                                   "resized, re-compressed, brighter or darker, or shifted by a few pixels. Prints "
                                   "the groups; --out writes one row per pair (a, b, kind, distance).")
    p.add_argument("dataset", help="dataset name")
    p.add_argument("--threshold", type=float, default=None, metavar="D",
                   help="largest distance of a near pair: 1 - correlation of the aligned grey images, "
                        "0 = identical up to brightness and contrast (default 0.003; a pair up to 3x that is reported when it "
                        "stands far apart from every other image)")
    p.add_argument("--out", type=Path, metavar="PAIRS.csv", help="write the pairs to this CSV file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Find the duplicates, print the groups, write the pairs when asked."""
    threshold = duplicates.check_threshold(duplicates.THRESHOLD if args.threshold is None else args.threshold)
    if args.out is not None and args.out.is_dir():
        raise WorkbenchError(f"--out {args.out} is a folder; give a file name such as {args.out / 'pairs.csv'}.")
    bar = tqdm(total=100, desc="duplicates", unit="%", leave=False)

    def progress(frac: float, what: str) -> None:
        bar.set_description(what)
        bar.update(int(frac * 100) - bar.n)

    found = duplicates.dataset_duplicates(args.workspace.store, args.dataset, threshold, progress=progress)
    bar.close()
    print(groups_text(found))
    if args.out is not None:
        tables.write_csv(args.out, found.table())
        print(f"{len(found.pairs)} pairs written to {args.out}")
    return 0


def groups_text(found: duplicates.Duplicates) -> str:
    """A summary line, then one line per group: its number, size, kinds and file names."""
    kinds = found.pairs["kind"].value_counts()
    lines = [f"{found.dataset}: {found.images} images, {found.n_groups} group{'' if found.n_groups == 1 else 's'} "
             f"of duplicates "
             f"({len(found.groups)} images; {int(kinds.get('exact', 0))} exact and {int(kinds.get('near', 0))} near "
             f"pairs, threshold {found.threshold})"]
    kind_of = _group_kinds(found)
    for number, members in found.groups.groupby("group", sort=True)["name"]:
        names = list(members)
        more = f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
        lines.append(f"  group {number} ({len(names)} images, {kind_of.get(number, '')}): "
                     f"{', '.join(names[:SHOWN_NAMES])}{more}")
    return "\n".join(lines)


def _group_kinds(found: duplicates.Duplicates) -> dict[int, str]:
    """'exact', 'near' or 'exact and near' per group number."""
    group = found.group_of()
    by_group: dict[int, set[str]] = {}
    for a, kind in zip(found.pairs["a_id"], found.pairs["kind"]):
        by_group.setdefault(int(group[a]), set()).add(kind)
    return {g: " and ".join(sorted(k)) for g, k in by_group.items()}
