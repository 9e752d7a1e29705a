"""Zip archives of images, read safely: no entry may escape its folder (zip-slip), and zip bombs stop early.

Before anything is read, each image entry's declared size is checked against workbench.limits (per entry, in
total, and the ratio of unpacked to packed size); while an entry is read, the bytes actually unpacked are counted
against the same limits, so an archive that lies about its sizes stops at the limit too. One entry is in memory at
a time: `ZipImages.read` streams it.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from workbench.data.imageio import is_image_name
from workbench.errors import BadImage, ImportFailed, WorkbenchError
from workbench.limits import MAX_ZIP_ENTRY, MAX_ZIP_RATIO, MAX_ZIP_TOTAL, RATIO_FLOOR

CHUNK = 1024 ** 2


@dataclass(frozen=True)
class ZipLimits:
    """Largest unpacked entry and total, in bytes, and the largest unpacked/packed ratio above `ratio_floor` bytes."""

    entry: int = MAX_ZIP_ENTRY
    total: int = MAX_ZIP_TOTAL
    ratio: float = MAX_ZIP_RATIO
    ratio_floor: int = RATIO_FLOOR


class ZipImages:
    """The image entries of a zip (hidden files and folders skipped), checked before anything is read.

    Refuses the whole archive (ImportFailed naming each entry) if an entry escapes its folder or declares more
    than the limits allow. The archive stays open while the object lives (items read from it lazily hold it).
    """

    def __init__(self, archive: str | Path, limits: ZipLimits = ZipLimits()):
        self.archive, self.limits, self.unpacked = Path(archive), limits, 0
        try:
            self.zf = zipfile.ZipFile(self.archive)
        except (zipfile.BadZipFile, OSError) as e:
            raise WorkbenchError(f"{self.archive}: not a readable zip file ({e})") from None
        try:
            self._check()
        except BaseException:
            self.zf.close()
            raise

    def _check(self) -> None:
        infos = self.zf.infolist()
        bad = [(self._shown(i.filename), "entry path escapes the target folder (zip-slip); archive refused")
               for i in infos if _escapes(i.filename)]
        self.entries = {PurePosixPath(i.filename).as_posix(): i for i in sorted(infos, key=lambda i: i.filename)
                        if not i.is_dir() and is_image_name(i.filename) and not _hidden(i.filename)}
        for name, info in self.entries.items():
            why = self._too_big(info.file_size, info.compress_size)
            if why:
                bad.append((self._shown(name), f"{why} (declared by the archive); archive refused"))
        declared = sum(i.file_size for i in self.entries.values())
        if declared > self.limits.total:
            bad.append((str(self.archive), f"its images unpack to {_size(declared)}, more than the "
                                           f"{_size(self.limits.total)} one archive may hold; archive refused"))
        if bad:
            raise ImportFailed(bad, hint="A zip bomb, or a set too big for one archive: import its folder instead.")

    @property
    def names(self) -> list[str]:
        """The image entries' names, sorted."""
        return list(self.entries)

    def read(self, name: str) -> bytes:
        """One entry's bytes, streamed and counted: ImportFailed (archive refused) at the first limit passed;
        BadImage for an entry that cannot be unpacked."""
        info = self.entries[name]
        try:
            with self.zf.open(info) as f:
                return self._counted(f, name, info.compress_size)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as e:
            raise BadImage(f"{self._shown(name)}: cannot unpack this zip entry ({e})") from None

    def _counted(self, f: IO[bytes], name: str, packed: int) -> bytes:
        chunks, n = [], 0
        while chunk := f.read(CHUNK):
            n += len(chunk)
            self.unpacked += len(chunk)
            why = self._too_big(n, packed) or (
                f"the archive's images unpack to more than {_size(self.limits.total)}"
                if self.unpacked > self.limits.total else "")
            if why:
                raise ImportFailed([(self._shown(name), f"{why} (counted while unpacking); archive refused")],
                                   hint="A zip bomb, or a set too big for one archive: import its folder instead.")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_big(self, unpacked: int, packed: int) -> str:
        """Why an entry of these sizes is refused, or ''."""
        if unpacked > self.limits.entry:
            return f"unpacks to {_size(unpacked)}, more than the {_size(self.limits.entry)} one image may have"
        if unpacked > self.limits.ratio_floor and unpacked > self.limits.ratio * max(packed, 1):
            return (f"unpacks to {_size(unpacked)} from {_size(packed)}, more than {self.limits.ratio:g} times its "
                    "packed size")
        return ""

    def _shown(self, name: str) -> str:
        return f"{self.archive}:{name}"

    def close(self) -> None:
        self.zf.close()

    def __enter__(self) -> ZipImages:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_member(archive: str | Path, name: str) -> bytes:
    """One image entry of a zip, checked and read as `ZipImages` does."""
    with ZipImages(archive) as z:
        if name not in z.entries:
            raise BadImage(f"{archive}:{name}: no such image in the archive")
        return z.read(name)


def _escapes(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":")


def _hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(name).parts)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
