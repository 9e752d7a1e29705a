"""The one ingest path every importer ends in: decode, check, hash, measure, then commit all or nothing."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from PIL import Image

from workbench import paths
from workbench.atomic import atomic_path, flush_to_disk, write_bytes
from workbench.data import quality
from workbench.data.imageio import decode
from workbench.data.importers.boxes import ImportedBoxes
from workbench.errors import BadImage, ImportFailed, WorkbenchError
from workbench.store import ImageRecord, Store, checks

# progress(iterable, total, desc) -> iterable: tqdm in the CLI, gr.Progress.tqdm in the app
Progress = Callable[[Iterable, int, str], Iterable]


def no_progress(it: Iterable, total: int, desc: str) -> Iterable:
    """The Progress that shows nothing."""
    return it


@dataclass
class Item:
    """One image to import: a file in place (`path`), or bytes to write into the dataset folder (`data`, or read
    when needed by `reader`, e.g. from a zip)."""

    name: str
    label: str | None = None
    path: Path | None = None
    data: bytes | None = None
    source: str | None = None  # what `data` came from, when not `path` (a crop: its photo and box)
    reader: Callable[[], bytes] | None = field(default=None, repr=False)

    @property
    def in_place(self) -> bool:
        """A file used where it is (not bytes written into the dataset folder)."""
        return self.data is None and self.reader is None


@dataclass
class ImportResult:
    dataset: str
    found: int
    added: int
    labelled: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    boxes: int = 0

    def __str__(self) -> str:
        boxes = f", {self.boxes} boxes" if self.boxes else ""
        s = (f"{self.dataset}: {self.found} images found, {self.added} new, {self.labelled} labels recorded{boxes}"
             f" in {self.seconds:.1f} s")
        if self.skipped:
            s += f"; {len(self.skipped)} skipped: " + "; ".join(f"{f} ({r})" for f, r in self.skipped[:5])
        return s


def dataset_folder(store: Store, dataset: str) -> Path:
    """datasets/<name>/ under the store's home, where copies, conversions and extracted files of a dataset live."""
    return paths.dataset_dir(store.home, dataset)


def ingest(store: Store, dataset: str, items: Sequence[Item], *, classes: Sequence[str] = (),
           source: str = "", skip_bad: bool = False, progress: Progress = no_progress,
           problems: list[tuple[str, str]] | None = None, annotator: str = "import",
           boxes: ImportedBoxes | None = None) -> ImportResult:
    """Import items into `dataset`: all of them in one transaction, or nothing (unless skip_bad).

    `problems` found earlier by the caller (missing files, unknown labels) count like bad images. `boxes` (from a
    COCO, VOC or YOLO reader) are checked against the decoded images; any bad box refuses the whole import.
    """
    start = time.perf_counter()
    problems = list(problems or [])
    _check_names(classes, items, boxes, source or dataset)
    if not items and not problems:
        raise WorkbenchError(f"No image files found in {source or dataset} (looked for "
                             "png, jpg, jpeg, bmp, gif, tif, tiff, webp, pgm, ppm).")
    batch = _Batch(paths.dataset_path(store.home, dataset), store.home)  # made only when a file is written there
    try:
        for item in progress(items, len(items), f"Importing {dataset}"):
            batch.add(item, problems)
        box_problems = _check_boxes(boxes, batch, items)
        if box_problems:
            raise ImportFailed(problems + box_problems, hint="Fix these boxes (or the files they name) and import "
                                                             "again; no box or image was imported.")
        if problems and not skip_bad:
            raise ImportFailed(problems, hint="Fix or remove these files, or import with skip_bad "
                                              "(--skip-bad) to import the rest.")
        if not batch.records:
            raise ImportFailed(problems, hint="No readable image was left to import.")
        batch.score_inversion()
        flush_to_disk(batch.written)  # the files are on disk before the store records them
        added, n_labels, n_boxes = _commit(store, dataset, batch, classes, source, annotator, boxes)
    except BaseException:
        batch.remove_created()  # nothing half-imported: no file or folder this attempt made is left
        raise
    return ImportResult(dataset=dataset, found=len(batch.records), added=added, labelled=n_labels,
                        skipped=problems, seconds=time.perf_counter() - start, boxes=n_boxes)


def _check_names(classes: Sequence[str], items: Sequence[Item], boxes: ImportedBoxes | None, source: str) -> None:
    """Refuse, before anything is read or written, class names (given, or the items' labels) and box class names
    that could not be folder names in an export (workbench.store.checks.names), saying where they came from."""
    try:
        checks.names([*classes, *dict.fromkeys(i.label for i in items if i.label)], "class")
        checks.names(boxes.classes if boxes is not None else [], "box class")
    except WorkbenchError as e:
        raise WorkbenchError(f"{source}: {e} Nothing was imported.") from None


def _check_boxes(boxes: ImportedBoxes | None, batch: _Batch, items: Sequence[Item]) -> list[tuple[str, str]]:
    """The import's bad boxes, against the images as decoded (boxes of images skipped as bad are dropped)."""
    if boxes is None:
        return []
    sizes = {r.name: (r.width, r.height) for r in batch.records}
    return boxes.check(sizes, skipped={i.name for i in items} - set(sizes))


@dataclass
class _Batch:
    """The images of one import as they are read: store records, thumbnails, labels and the files written."""

    folder: Path  # datasets/<name>/: copies and conversions go here
    home: Path  # stored paths are relative to it
    records: list[ImageRecord] = field(default_factory=list)
    thumbs: list[np.ndarray] = field(default_factory=list)
    labels: list[tuple[str, str]] = field(default_factory=list)
    created: list[Path] = field(default_factory=list)
    created_dirs: list[Path] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)  # flushed to disk together before the commit

    def add(self, item: Item, problems: list[tuple[str, str]]) -> None:
        """Decode and measure `item`, copying it into the dataset folder when needed; a bad image joins `problems`."""
        shown = str(item.path) if item.path is not None else item.name
        try:
            data = read_item(item)
            im, mode, needs_copy = decode(data, shown)
        except BadImage as e:
            problems.append((shown, str(e).removeprefix(shown + ": ")))
            return
        b, c, blur, thumb = quality.image_stats(im)
        file, src = self._place(item, data, im, needs_copy)
        self.records.append(ImageRecord(name=item.name, path=paths.to_stored(file, self.home), source=src,
                                        sha256=hashlib.sha256(data).hexdigest(), width=im.width, height=im.height,
                                        mode=mode, position=len(self.records), brightness=b, contrast=c, blur=blur))
        self.thumbs.append(thumb)
        if item.label is not None:
            self.labels.append((item.name, item.label))

    def _place(self, item: Item, data: bytes, im: Image.Image, needs_copy: bool) -> tuple[Path, str | None]:
        """(file the record points at, its source): the file in place, or bytes given / a browser-ready PNG
        conversion written into the dataset folder."""
        if item.in_place and not needs_copy:
            return item.path, item.source
        file = self.folder / ("converted" if item.in_place else "images") / item.name
        if needs_copy:
            file = file.with_name(file.name + ".png")
        if not file.exists():
            self.created.append(file)
            self._note_new_folders(file.parent)
        if needs_copy:
            with atomic_path(file, durable=False) as tmp:
                im.save(tmp, format="PNG")
        else:
            write_bytes(file, data, durable=False)
        self.written.append(file)
        return file, item.source or (str(item.path) if item.path is not None else None)

    def _note_new_folders(self, folder: Path) -> None:
        """Remember the folders up to `folder` that do not exist yet (the file about to be written makes them)."""
        missing = []
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        self.created_dirs += [f for f in reversed(missing) if f not in self.created_dirs]

    def remove_created(self) -> None:
        """Remove the files this import wrote and the folders it made for them (deepest first)."""
        for f in self.created:
            f.unlink(missing_ok=True)
        for d in sorted(self.created_dirs, key=lambda p: len(p.parts), reverse=True):
            try:
                d.rmdir()
            except OSError:  # not empty: something else put a file there meanwhile
                pass

    def score_inversion(self) -> None:
        """Each record's inversion score, against the mean thumbnail of this import's images."""
        for r, score in zip(self.records, quality.inverted_scores(np.stack(self.thumbs))):
            r.inverted = float(score)


def _commit(store: Store, dataset: str, batch: _Batch, classes: Sequence[str], source: str,
            annotator: str, boxes: ImportedBoxes | None) -> tuple[int, int, int]:
    """(images added, labels recorded, boxes recorded): the dataset, its new images after the ones it has, their
    labels and boxes (replacing the boxes an earlier import of the same images gave)."""
    with store.transaction():
        exists = dataset in store.datasets()
        offset = len(store.images(dataset)) if exists else 0
        for r in batch.records:
            r.position += offset
        store.create_dataset(dataset, source=source, classes=classes)
        added = store.add_images(dataset, batch.records)
        ids = dict(store.query("SELECT name, id FROM images WHERE dataset_id=?",
                               (store.dataset_id(dataset),)).itertuples(index=False, name=None))
        n_labels = store.add_labels(dataset, [(ids[n], lab) for n, lab in batch.labels], annotator,
                                    source="imported") if batch.labels else 0
        n_boxes = 0
        if boxes is not None:
            store.add_box_classes(dataset, boxes.classes)
            n_boxes = len(store.add_boxes(dataset, boxes.store_rows(ids), annotator, how="imported", replace=True,
                                          empty_images=[ids[n] for n in boxes.boxed if n in ids]))
    return added, n_labels, n_boxes


def read_item(item: Item) -> bytes:
    """The item's bytes: given, read by its reader, or read from its file (BadImage naming the file when it cannot be)."""
    if item.data is not None:
        return item.data
    return item.reader() if item.reader is not None else _read(item.path)


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise BadImage(f"{path}: file not found") from None
    except IsADirectoryError:
        raise BadImage(f"{path}: is a folder, not an image file") from None
    except OSError as e:
        raise BadImage(f"{path}: cannot read ({e.strerror})") from None
