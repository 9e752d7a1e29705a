"""The one ingest path every importer ends in: decode, check, hash, measure, then commit all or nothing."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from workbench import paths
from workbench.data import quality
from workbench.data.imageio import decode
from workbench.errors import BadImage, ImportFailed, WorkbenchError
from workbench.store import ImageRecord, Store

# progress(iterable, total, desc) -> iterable: tqdm in the CLI, gr.Progress.tqdm in the app
Progress = Callable[[Iterable, int, str], Iterable]


def no_progress(it: Iterable, total: int, desc: str) -> Iterable:
    return it


@dataclass
class Item:
    """One image to import: a file in place (`path`), or bytes to write into the dataset folder (`data`)."""

    name: str
    label: str | None = None
    path: Path | None = None
    data: bytes | None = None
    source: str | None = None  # what `data` came from, when not `path` (a crop: its photo and box)


@dataclass
class ImportResult:
    dataset: str
    found: int
    added: int
    labelled: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        s = (f"{self.dataset}: {self.found} images found, {self.added} new, {self.labelled} labels recorded"
             f" in {self.seconds:.1f} s")
        if self.skipped:
            s += f"; {len(self.skipped)} skipped: " + "; ".join(f"{f} ({r})" for f, r in self.skipped[:5])
        return s


def dataset_folder(dataset: str) -> Path:
    """datasets/<name>/, where copies, conversions and extracted files of a dataset live."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset).strip(".") or "dataset"
    return paths.datasets_dir() / safe


def ingest(store: Store, dataset: str, items: Sequence[Item], *, classes: Sequence[str] = (),
           source: str = "", skip_bad: bool = False, progress: Progress = no_progress,
           problems: list[tuple[str, str]] | None = None, annotator: str = "import") -> ImportResult:
    """Import items into `dataset`: all of them in one transaction, or nothing (unless skip_bad).

    `problems` found earlier by the caller (missing files, unknown labels) count like bad images.
    """
    start = time.perf_counter()
    problems = list(problems or [])
    if not items and not problems:
        raise WorkbenchError(f"No image files found in {source or dataset} (looked for "
                             "png, jpg, jpeg, bmp, gif, tif, tiff, webp, pgm, ppm).")
    folder = dataset_folder(dataset)
    created: list[Path] = []
    records: list[ImageRecord] = []
    labels: list[tuple[str, str]] = []
    thumbs = []
    home = paths.home()
    try:
        for item in progress(items, len(items), f"Importing {dataset}"):
            shown = str(item.path) if item.path is not None else item.name
            try:
                data = read_item(item)
                im, mode, needs_copy = decode(data, shown)
            except BadImage as e:
                problems.append((shown, str(e).removeprefix(shown + ": ")))
                continue
            b, c, blur, thumb = quality.image_stats(im)
            if item.data is None and not needs_copy:
                file, src = item.path, item.source
            else:
                file = folder / ("images" if item.data is not None else "converted") / item.name
                if needs_copy:
                    file = file.with_name(file.name + ".png")
                src = item.source or (str(item.path) if item.path is not None else None)
                file.parent.mkdir(parents=True, exist_ok=True)
                if not file.exists():
                    created.append(file)
                if needs_copy:
                    im.save(file, format="PNG")
                else:
                    file.write_bytes(data)
            records.append(ImageRecord(name=item.name, path=paths.to_stored(file, home), source=src,
                                       sha256=hashlib.sha256(data).hexdigest(), width=im.width, height=im.height,
                                       mode=mode, position=len(records), brightness=b, contrast=c, blur=blur))
            thumbs.append(thumb)
            if item.label is not None:
                labels.append((item.name, item.label))
        if problems and not skip_bad:
            raise ImportFailed(problems, hint="Fix or remove these files, or import with skip_bad "
                                              "(--skip-bad) to import the rest.")
        if not records:
            raise ImportFailed(problems, hint="No readable image was left to import.")
        for r, score in zip(records, quality.inverted_scores(np.stack(thumbs))):
            r.inverted = float(score)
        with store.transaction():
            exists = dataset in store.datasets()
            offset = len(store.images(dataset)) if exists else 0
            for r in records:
                r.position += offset
            store.create_dataset(dataset, source=source, classes=classes)
            added = store.add_images(dataset, records)
            ids = dict(store.query("SELECT name, id FROM images WHERE dataset_id=?",
                                   (store.dataset_id(dataset),)).itertuples(index=False, name=None))
            n_labels = store.add_labels(dataset, [(ids[n], lab) for n, lab in labels], annotator,
                                        source="imported") if labels else 0
    except BaseException:
        for f in created:  # nothing half-imported: remove the files this attempt wrote
            f.unlink(missing_ok=True)
        raise
    return ImportResult(dataset=dataset, found=len(records), added=added, labelled=n_labels,
                        skipped=problems, seconds=time.perf_counter() - start)


def read_item(item: Item) -> bytes:
    """The item's bytes: given, or read from its file (BadImage naming the file when it cannot be)."""
    return item.data if item.data is not None else _read(item.path)


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise BadImage(f"{path}: file not found") from None
    except IsADirectoryError:
        raise BadImage(f"{path}: is a folder, not an image file") from None
    except OSError as e:
        raise BadImage(f"{path}: cannot read ({e.strerror})") from None
