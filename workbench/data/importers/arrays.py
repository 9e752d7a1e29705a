"""Numpy arrays: X.npy of images (N,H,W[,C], uint8 or float), optional y.npy of class indices or one-hot rows."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from workbench.data.imageio import scale_to_uint8
from workbench.data.importers.common import ImportResult, Item, Progress, ingest, no_progress
from workbench.errors import WorkbenchError
from workbench.store import Store


def load_array(path: str | Path, what: str) -> np.ndarray:
    """A .npy array (pickles refused); WorkbenchError naming the file and `what` it should hold otherwise."""
    path = Path(path)
    try:
        return np.load(path, allow_pickle=False)  # pickled object arrays could run code
    except FileNotFoundError:
        raise WorkbenchError(f"{path}: file not found") from None
    except ValueError as e:
        raise WorkbenchError(f"{path}: cannot read {what} ({e}); object/pickled arrays are refused") from None
    except OSError as e:
        raise WorkbenchError(f"{path}: not a .npy file ({e})") from None


def nonfinite_images(x: np.ndarray) -> np.ndarray:
    """Indices of the images holding a NaN or infinite pixel (none for integer arrays)."""
    if not np.issubdtype(x.dtype, np.floating):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero([not np.isfinite(im).all() for im in x])  # one image at a time: no N×H×W mask


def check_images(x: np.ndarray, name: str = "X.npy") -> np.ndarray:
    """Validate an (N,H,W[,C]) image array of finite pixels and return it as uint8 with C in {absent, 3}."""
    try:
        return scale_to_uint8(image_shaped(x, name))
    except ValueError:
        raise WorkbenchError(f"{name}: pixel values are all NaN or infinite") from None


def image_shaped(x: np.ndarray, name: str = "X.npy") -> np.ndarray:
    """An (N,H,W[,C]) image array with C in {absent, 3} (one channel dropped, alpha dropped); WorkbenchError for
    another shape or dtype, or no images."""
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in (3, 4)):
        raise WorkbenchError(f"{name}: expected shape (N, H, W) or (N, H, W, C) with C = 1, 3 or 4; got {x.shape}")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating) or x.dtype == bool):
        raise WorkbenchError(f"{name}: expected uint8 or float pixels; got dtype {x.dtype}")
    if len(x) == 0:
        raise WorkbenchError(f"{name}: holds no images (N = 0)")
    return x[..., :3] if x.ndim == 4 and x.shape[-1] == 4 else x


def check_labels(y: np.ndarray, n: int, n_classes: int | None, name: str = "y.npy") -> np.ndarray:
    """Class indices from indices or one-hot rows; refuses wrong length, non one-hot rows, out-of-range indices."""
    if len(y) != n:
        raise WorkbenchError(f"{name} has {len(y)} labels but the images array has {n} images; "
                             "they must match one to one")
    if y.ndim == 2:
        if not np.all((y == 0) | (y == 1)) or not np.all(y.sum(axis=1) == 1):
            raise WorkbenchError(f"{name}: 2-D labels must be one-hot rows (a single 1 per row)")
        y = y.argmax(axis=1)
    elif y.ndim != 1:
        raise WorkbenchError(f"{name}: expected shape (N,) of class indices or (N, K) one-hot; got {y.shape}")
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.mod(y, 1) == 0):
        raise WorkbenchError(f"{name}: class indices must be whole numbers")
    y = y.astype(np.int64)
    if y.min() < 0 or (n_classes is not None and y.max() >= n_classes):
        raise WorkbenchError(f"{name}: class index out of range {y.min()}..{y.max()} for {n_classes} class names")
    return y


def parse_class_names(classes: Sequence[str] | str | Path | None) -> list[str] | None:
    """Names from a list, a comma-separated string, or a text file with one name per line."""
    if classes is None or (isinstance(classes, str) and not classes.strip()):
        return None
    if isinstance(classes, (str, Path)):
        p = Path(classes)
        if p.suffix in (".txt", ".csv") and p.is_file():
            text = p.read_text()
            return [c.strip() for c in text.replace(",", "\n").splitlines() if c.strip()]
        return [c.strip() for c in str(classes).split(",") if c.strip()]
    return [str(c) for c in classes]


def png_bytes(a: np.ndarray) -> bytes:
    """A uint8 image array as PNG file bytes (fast compression: imports write thousands)."""
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def import_arrays(store: Store, x: np.ndarray, y: np.ndarray | None = None, class_names: Sequence[str] | None = None,
                  name: str = "arrays", source: str = "", progress: Progress = no_progress,
                  x_name: str = "X.npy", y_name: str = "y.npy", skip_bad: bool = False) -> ImportResult:
    """Import in-memory arrays; images are written as PNGs into datasets/<name>/images/. Images holding NaN or
    infinite pixels refuse the import, naming each by index (`skip_bad`: the others are imported)."""
    x = image_shaped(x, x_name)
    names = list(class_names) if class_names else None
    labels = None
    if y is not None:
        yi = check_labels(np.asarray(y), len(x), len(names) if names else None, y_name)
        names = names or [str(i) for i in range(int(yi.max()) + 1)]
        labels = [names[i] for i in yi]
    width = max(5, len(str(len(x) - 1)))
    # an image with NaN or infinity has no faithful pixels: named (by index and file name) like a bad file
    bad = nonfinite_images(x)
    problems = [(f"{x_name}[{i}] ({i:0{width}d}.png)", "NaN or infinite pixel values") for i in bad]
    keep = np.setdiff1d(np.arange(len(x)), bad)
    if len(keep) == 0:
        raise WorkbenchError(f"{x_name}: every image holds NaN or infinite pixel values; nothing was imported.")
    pixels = check_images(x[keep] if len(bad) else x, x_name)  # scaled on the finite images only
    items = [Item(name=f"{i:0{width}d}.png", data=png_bytes(a), label=labels[i] if labels else None)
             for i, a in zip(keep, pixels)]
    return ingest(store, name, items, classes=names or [], source=source, skip_bad=skip_bad, progress=progress,
                  problems=problems)


def import_numpy(store: Store, x_path: str | Path, y_path: str | Path | None = None,
                 class_names: Sequence[str] | str | Path | None = None, name: str | None = None,
                 progress: Progress = no_progress, skip_bad: bool = False) -> ImportResult:
    """Import X.npy (and y.npy, class names) files; `skip_bad` imports the images without NaN or infinity."""
    x_path = Path(x_path)
    x = load_array(x_path, "images")
    y = load_array(y_path, "labels") if y_path else None
    return import_arrays(store, x, y, parse_class_names(class_names), name=name or x_path.parent.name,
                         source=str(x_path.resolve()), progress=progress,
                         x_name=str(x_path), y_name=str(y_path), skip_bad=skip_bad)
