"""Reading image files safely: clear errors for bad files, every mode converted to 8-bit L or RGB."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from workbench.errors import BadImage

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
# formats every browser shows as they are; anything else gets a PNG copy at import
BROWSER_FORMATS = {"PNG", "JPEG", "GIF", "WEBP", "BMP"}
SIGNATURES = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP", b"II*\x00": "TIFF",
              b"MM\x00*": "TIFF"}


def is_image_name(name: str | Path) -> bool:
    """Whether the file name has an image extension (the importers' and predict's filter)."""
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS


def decode(data: bytes, name: str) -> tuple[Image.Image, str, bool]:
    """Decode file bytes into an 8-bit L or RGB image.

    Returns (image, original mode, needs_copy) where needs_copy says the file as it is would not show
    the same in a browser (other mode, EXIF rotation, non-web format). Raises BadImage naming the file.
    """
    if not data:
        raise BadImage(f"{name}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # PIL only warns between 1x and 2x its pixel limit; we refuse there too rather than decode a bomb
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            fmt, mode = im.format, im.mode
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise BadImage(f"{name}: refused as a possible decompression bomb "
                       f"(over PIL's limit of {Image.MAX_IMAGE_PIXELS:,} pixels): {e}") from None
    except UnidentifiedImageError:
        kind = next((k for sig, k in SIGNATURES.items() if data.startswith(sig)), None)
        if kind:
            raise BadImage(f"{name}: corrupt or truncated image (starts like a {kind} but cannot be decoded)") from None
        raise BadImage(f"{name}: not an image file (its contents are not a format PIL can read)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise BadImage(f"{name}: corrupt or truncated image ({e})") from None
    rotated = im.getexif().get(0x0112, 1) not in (0, 1)
    if rotated:
        im = ImageOps.exif_transpose(im)
    out = to_8bit(im)
    return out, mode, rotated or mode not in ("L", "RGB") or fmt not in BROWSER_FORMATS


def load_image(path: str | Path) -> Image.Image:
    """Read an image file as 8-bit L or RGB, EXIF rotation applied; raises BadImage naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadImage(f"{path}: file not found (moved or deleted since import?)") from None
    except OSError as e:
        raise BadImage(f"{path}: cannot read ({e.strerror})") from None
    return decode(data, str(path))[0]


def to_8bit(im: Image.Image) -> Image.Image:
    """Convert any PIL mode to L or RGB: alpha flattened on white, CMYK to RGB, 16/32-bit and float scaled."""
    mode = im.mode
    if mode in ("L", "RGB"):
        return im
    if mode == "1":
        return im.convert("L")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
        if mode == "RGB":
            return im
    if mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(white, rgba).convert("RGB")
        return flat.convert("L") if mode in ("LA", "La") else flat
    if mode.startswith("I") or mode == "F":
        return Image.fromarray(scale_to_uint8(np.asarray(im)), mode="L")
    return im.convert("RGB")  # CMYK, YCbCr, LAB, HSV


def scale_to_uint8(a: np.ndarray) -> np.ndarray:
    """Map integer or float pixel arrays to uint8: floats in [0,1] and 16-bit ranges by their nominal range."""
    if a.dtype == np.uint8:
        return a
    a = a.astype(np.float64)
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        raise ValueError("no finite pixel values")
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0 and hi <= 1.0:
        a = a * 255.0
    elif lo >= 0 and hi <= 255:
        pass
    elif lo >= 0 and hi <= 65535:
        a = a / 257.0
    else:
        a = (a - lo) / max(hi - lo, 1e-12) * 255.0
    return np.clip(np.nan_to_num(a, nan=0.0), 0, 255).round().astype(np.uint8)
