"""Sizes Workbench accepts from users: files uploaded to the app, and archives unpacked (zip bombs stop early).

Binary units, as Gradio counts them: 1 kb = 1024 bytes.
"""

from __future__ import annotations

import re

from workbench.errors import WorkbenchError

SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3, "tb": 1024 ** 4}
MAX_UPLOAD = "1gb"  # per file sent to the app: a set of photos fits, an upload that would fill the disk does not


def parse_size(text: str | int, what: str = "a size") -> int:
    """Bytes from "500mb", "2 GB" or "1048576"; a WorkbenchError naming `what` for anything else."""
    m = re.fullmatch(r"\s*(\d+)\s*([kmgt]?b)?\s*", str(text).lower())
    if not m or int(m.group(1)) <= 0:
        raise WorkbenchError(f"{what} expects a size such as 500mb or 2gb, got {text!r}")
    return int(m.group(1)) * SIZE_UNITS[m.group(2) or "b"]

# Zip archives (imports, uploads, predictions): checked on the sizes the archive declares before anything is read,
# then on the bytes actually unpacked while reading, which stops at the first limit passed.
MAX_ZIP_ENTRY = 256 * 1024 ** 2  # one image file unpacked
MAX_ZIP_TOTAL = 4 * 1024 ** 3  # all the images of one archive unpacked
MAX_ZIP_RATIO = 100  # unpacked / packed, for entries above RATIO_FLOOR: a real image that large is never that flat
RATIO_FLOOR = 16 * 1024 ** 2
