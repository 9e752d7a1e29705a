"""Backbone features of every image of a dataset, computed once and cached on disk, for label suggestions.

The offline EfficientNet-Lite0 embeds each image (through workbench.train.embedding.embed) at EMBED_SIZE px;
embeddings are cached per dataset by file content (sha256), so new images cost only themselves. The head
that suggests labels trains on a PCA projection (HEAD_DIMS) scaled to unit mean norm, which keeps a retrain on
5,000 images short. Whitening the components was tried and dropped: with 10 labels of faces it left the head at
chance (0.51 vs 0.97 unwhitened), as it blows noise directions up to the size of the signal.

Beside the embedding's projection sits one of the images' own pixels: the 16×16 grey thumbnails
(workbench.data.thumbnails, cached too), standardised per image, PCA to THUMB_DIMS, scaled alike. An ImageNet
backbone sees small grey crops poorly; their pixels carry what it misses. Head accuracy on the images not
labelled (random labels, mean of 3 seeds), embedding alone → both: MNIST-5000 0.637 → 0.758 with 50 labels,
0.906 → 0.944 with 1,000; digits 0.621 → 0.861 with 50; faces 0.893 → 0.926 with 10. On textures they are noise:
grey 28×28 tiles of ten photos (bench/photo_tiles.py) 0.513 → 0.379 with 50, 0.787 → 0.742 with 1,000. So each
retrain keeps them only where they help on the labels it has (suggest.pixels_help).

The pixel block also holds the HOG descriptor (Dalal & Triggs; scikit-image) of each image's 28×28 grey crop,
PCA to HOG_DIMS: edges and strokes by orientation, which neither the ImageNet embedding nor raw pixels give a
linear head. Head accuracy on MNIST-5000 (random labels, mean of 2 seeds), embedding + thumbnails → + HOG:
0.850 → 0.888 with 100, 0.927 → 0.954 with 500, 0.954 → 0.970 with 2,000; photo tiles unchanged (the check
leaves the block out there as before). The crops themselves are kept (`Features.crops`) for the small CNN of
workbench.labeling.crop_cnn.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from PIL import Image

from workbench import paths
from workbench.atomic import atomic_path
from workbench.data.imageio import load_image
from workbench.data.thumbnails import cached_thumbnails, standardised
from workbench.lazy import lazy_import
from workbench.store import Store

# torch, the backbone and scikit-learn: imported when a set is first embedded or projected (in the background), not
# when the app starts and opens its suggesters
torch = lazy_import("torch")
decomposition = lazy_import("sklearn.decomposition")
backbones = lazy_import("workbench.train.backbones")
embedding = lazy_import("workbench.train.embedding")
tensors = lazy_import("workbench.data.tensors")
skfeature = lazy_import("skimage.feature")

EMBED_SIZE = 64   # small crops (24-28 px) upsampled; Lite0 features of digits: val acc 0.44 at 32 px, ~0.9 at 64
HEAD_DIMS = 128
THUMB_DIMS = 64   # the thumbnails' components (a 16×16 thumbnail has 256 pixels)
CROP = 28         # side of the grey crops HOG and the CNN see (the small crops' own size: MNIST 28, eyes 24)
HOG_CELL = 7      # px per HOG cell: a 4×4 grid of cells, 3×3 blocks of 2×2, 9 orientations: 324 numbers
HOG_DIMS = 64
BATCH = 256
BACKBONE = "efficientnet_lite0"

Progress = Callable[[float, str], None]


def no_progress(frac: float, what: str) -> None:
    pass


@dataclass
class Features:
    """Projected features of a dataset's images, rows in `image_ids` order: the embedding's components, then
    (from column `embedding_dims` on) the pixel block: the thumbnails' and the crops' HOG components."""

    image_ids: np.ndarray
    x: np.ndarray
    embedding_dims: int | None = None   # None: every column is the embedding's
    crops: np.ndarray | None = None     # (N, CROP, CROP) uint8 grey crops, for the CNN (None: not used)

    def rows(self, image_ids) -> np.ndarray:
        """Row index of each image id (KeyError for an image imported after the features were made)."""
        where = {int(i): k for k, i in enumerate(self.image_ids)}
        return np.array([where[int(i)] for i in image_ids], dtype=np.int64)


def dataset_features(store: Store, dataset: str, progress: Progress = no_progress,
                     run: Callable[..., Features] | None = None) -> Features:
    """Projected backbone features of every image of `dataset`, from the cache or computed once.

    `run(fn, *args, progress=...)` computes them elsewhere (workbench.labeling.background.Worker.call); by
    default here."""
    images = store.images(dataset)
    args = (paths.dataset_dir(store.home, dataset), images["image_id"].to_numpy(np.int64),
            images["sha256"].tolist(), images["path"].tolist())
    return run(compute_features, *args, progress=progress) if run else compute_features(*args, progress=progress)


def compute_features(folder: Path, image_ids: np.ndarray, shas: list[str], files: list[str],
                     progress: Progress = no_progress) -> Features:
    """Features of these images (rows in the given order), cached in the dataset's `folder`."""
    raw = embeddings(folder, shas, files, progress)
    key = hashlib.sha256("".join(shas).encode()).hexdigest()[:16]
    cache = folder / f"features-{BACKBONE}-{EMBED_SIZE}-pca{HEAD_DIMS}-thumbs{THUMB_DIMS}-hog{HOG_DIMS}-v3.npz"
    files_ = pd.DataFrame({"sha256": shas, "path": files})
    crops = cached_thumbnails(folder, files_, CROP).reshape(-1, CROP, CROP).astype(np.uint8)
    if cache.is_file():
        with np.load(cache) as f:
            if str(f["key"]) == key:
                return Features(np.asarray(image_ids, np.int64), f["x"], int(f["dims"]), crops)
    pixels = cached_thumbnails(folder, files_)
    own = project(raw)
    x = np.hstack([own, project(standardised(pixels), THUMB_DIMS), project(hog(crops), HOG_DIMS)])
    _save(cache, key=np.array(key), x=x, dims=np.array(own.shape[1]))
    return Features(np.asarray(image_ids, np.int64), x, own.shape[1], crops)


def hog(crops: np.ndarray) -> np.ndarray:
    """(N, D) HOG descriptors of (N, CROP, CROP) grey crops."""
    return np.stack([skfeature.hog(c, orientations=9, pixels_per_cell=(HOG_CELL, HOG_CELL), cells_per_block=(2, 2))
                     for c in crops]).astype(np.float32)


def project(raw: np.ndarray, dims: int = HEAD_DIMS, seed: int = 0) -> np.ndarray:
    """PCA to at most `dims` components, scaled by one factor to unit mean squared norm (float32)."""
    k = int(min(dims, raw.shape[0] - 1, raw.shape[1]))
    if k < 1:
        return np.zeros((raw.shape[0], 1), np.float32)
    z = decomposition.PCA(k, svd_solver="randomized", random_state=seed).fit_transform(raw)
    return (z / max(float(np.sqrt((z ** 2).sum(1).mean())), 1e-12)).astype(np.float32)


def embeddings(folder: Path, shas: list[str], files: list[str], progress: Progress = no_progress) -> np.ndarray:
    """(N, D) raw Lite0 embeddings in the given order, cached in the dataset's `folder`; only images not in the
    cache are embedded."""
    cache = _embedding_cache(folder)
    known = _read_embeddings(cache)
    todo = list({s: p for s, p in zip(shas, files) if s not in known}.items())
    if todo:
        known.update(_embed_files(todo, progress))
        _save(cache, sha256=np.array(list(known)), x=np.stack(list(known.values())))
    progress(1.0, "embeddings ready")
    return np.stack([known[s] for s in shas]).astype(np.float32)


def cached_embeddings(folder: Path, shas: list[str]) -> np.ndarray | None:
    """(N, D) raw embeddings of the given files from the cache in `folder`, or None unless every one is there
    (nothing is computed)."""
    known = _read_embeddings(_embedding_cache(folder))
    if not shas or any(s not in known for s in shas):
        return None
    return np.stack([known[s] for s in shas]).astype(np.float32)


def _embedding_cache(folder: Path) -> Path:
    return Path(folder) / f"embeddings-{BACKBONE}-{EMBED_SIZE}.npz"


def _read_embeddings(cache: Path) -> dict[str, np.ndarray]:
    if not cache.is_file():
        return {}
    with np.load(cache) as f:
        return dict(zip(f["sha256"].tolist(), f["x"]))


def _embed_files(todo: list[tuple[str, str]], progress: Progress) -> dict[str, np.ndarray]:
    device = torch.device("cpu")
    model = backbones.place(backbones.build_model(BACKBONE, 1000, "offline"), device)
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(todo), BATCH):
        progress(start / len(todo), f"computing embeddings: {start} / {len(todo)} images")
        chunk = todo[start:start + BATCH]
        u8 = torch.stack([tensors.image_to_uint8(_image(p), EMBED_SIZE, 3) for _, p in chunk])
        feats = embedding.embed(model, u8, device).numpy()
        out.update(zip([s for s, _ in chunk], feats))
    return out


def _image(path: str) -> Image.Image:
    try:
        return load_image(path)
    except Exception:  # gone or damaged since import: a blank image keeps its row (it is never suggested well)
        return Image.new("L", (EMBED_SIZE, EMBED_SIZE))


def _save(cache, **arrays) -> None:
    with atomic_path(cache) as tmp:  # its name ends in .npz, so np.savez adds no second suffix
        np.savez(tmp, **arrays)
