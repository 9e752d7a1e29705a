"""What to predict on: image files, folders (searched recursively) and zips, gathered as sources; paths that
cannot be used are listed with their reason instead of stopping the rest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from PIL import Image

from workbench.data.imageio import decode, load_image
from workbench.data.archives import ZipImages, read_member
from workbench.data.importers.folder import list_images
from workbench.data.uploads import sort_paths
from workbench.errors import BadImage, ImportFailed, WorkbenchError


@dataclass
class ImageSource:
    """One image: a file (`path`), or entry `member` of the zip at `path` (its bytes in `data` once read)."""

    name: str
    path: Path
    member: str | None = None
    data: bytes | None = None

    def load(self) -> Image.Image:
        """The image as 8-bit L or RGB (the importer's decoding: bomb guard, EXIF rotation); raises BadImage."""
        if self.member is None:
            return load_image(self.path)
        if self.data is None:  # a source rebuilt from its name alone (e.g. the app's table): read the entry again
            self.data = read_member(self.path, self.member)
        return decode(self.data, self.name)[0]

    def key(self) -> tuple[str, str, str | None]:
        """Name, path and member: enough to find the image again later (small, copyable)."""
        return self.name, str(self.path), self.member

    @classmethod
    def from_key(cls, key: Sequence) -> "ImageSource":
        """The source a `key()` names (its bytes read again when used)."""
        name, path, member = key
        return cls(name, Path(path), member)


def gather(paths: Sequence[str | Path]) -> tuple[list[ImageSource], list[tuple[str, str]]]:
    """Sources for image files, folders and .zip files (sorted by workbench.data.uploads, as an import's upload),
    in the order given (a folder's and zip's images sorted), and (path, reason) for each path that yields nothing
    (missing, unreadable zip, zip-slip entry)."""
    sources: list[ImageSource] = []
    problems: list[tuple[str, str]] = []
    for kind, p in sort_paths(paths):
        if kind == "folder":
            found = [ImageSource(str(f), f) for f in list_images(p)]
            if not found:
                problems.append((str(p), "folder holds no image files"))
            sources += found
        elif kind == "zip":
            found, trouble = _zip_sources(p)
            sources += found
            problems += trouble
        elif kind == "file":
            sources.append(ImageSource(str(p), p))  # any file given by name is tried: a non-image gets its reason
        else:
            problems.append((str(p), "no such file or folder"))
    return sources, problems


def load_batch(batch: Sequence[ImageSource]) -> tuple[list[ImageSource], list[Image.Image], list[tuple[str, str]]]:
    """The readable sources of `batch` with their images, and the unreadable ones as (name, reason)."""
    kept, images, bad = [], [], []
    for src in batch:
        try:
            images.append(src.load())
            kept.append(src)
        except BadImage as e:
            bad.append((src.name, str(e).removeprefix(src.name + ": ")))
    return kept, images, bad


def _zip_sources(p: Path) -> tuple[list[ImageSource], list[tuple[str, str]]]:
    """The images of a zip as sources, or why there are none."""
    try:
        # ZipImages refuses an archive with an entry escaping its folder, or a zip bomb, before reading it;
        # nothing is written to disk anyway
        with ZipImages(p) as z:
            entries = [(name, z.read(name)) for name in z.names]
    except ImportFailed as e:
        return [], list(e.problems)
    except WorkbenchError as e:
        return [], [(str(p), str(e).removeprefix(f"{p}: "))]
    if not entries:
        return [], [(str(p), "zip holds no image files")]
    return [ImageSource(f"{p}:{name}", p, name, data) for name, data in entries], []


def short_names(paths: Sequence[str | Path]) -> Callable[[str], str]:
    """A renamer for source names under `paths`: 'photo.png' or 'set.zip:a/b.png' instead of the whole path
    (uploads live in temporary folders whose paths say nothing to the user); other names are kept."""
    prefixes = sorted({str(p): Path(p).name for p in paths}.items(), key=lambda kv: -len(kv[0]))

    def short(name: str) -> str:
        """`name` with the longest matching path replaced by its file name."""
        return next((short + name[len(full):] for full, short in prefixes if name.startswith(full)), name)
    return short
