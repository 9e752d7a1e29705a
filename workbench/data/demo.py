"""The bundled demo sets, made from data that ships inside installed packages (no download)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data.importers import import_arrays
from workbench.data.importers.common import dataset_folder
from workbench.store import Store

FACES, DIGITS = "faces", "digits"
FACE_CLASSES = ["face", "not face"]


def ensure_faces(store: Store) -> str:
    """`faces`: skimage's lfw_subset (100 faces then 100 non-faces, 25×25), unlabeled; truth kept aside."""
    if FACES not in store.datasets():
        from skimage.data import lfw_subset

        x = lfw_subset()
        result = import_arrays(store, x, name=FACES, class_names=FACE_CLASSES, source="skimage.data.lfw_subset()")
        names = store.images(FACES)["name"]
        truth = pd.DataFrame({"name": names, "label": [FACE_CLASSES[0]] * 100 + [FACE_CLASSES[1]] * 100})
        truth.to_csv(dataset_folder(FACES) / "truth.csv", index=False)
        assert result.found == 200
    return FACES


def faces_truth(store: Store) -> pd.Series:
    """The true class of each faces image, indexed by image_id (kept out of the store for tests and demos)."""
    truth = pd.read_csv(dataset_folder(FACES) / "truth.csv")
    ids = store.images(FACES).set_index("name")["image_id"]
    return pd.Series(truth["label"].values, index=ids.loc[truth["name"]].values, name="label")


def ensure_digits(store: Store) -> str:
    """`digits`: sklearn's load_digits (1,797 8×8 images), labelled 0..9."""
    if DIGITS not in store.datasets():
        from sklearn.datasets import load_digits

        d = load_digits()
        x = (d.images * (255.0 / 16.0)).round().astype(np.uint8)
        import_arrays(store, x, d.target, [str(i) for i in range(10)], name=DIGITS,
                      source="sklearn.datasets.load_digits()")
    return DIGITS


def ensure_demos(store: Store) -> list[str]:
    return [ensure_faces(store), ensure_digits(store)]
