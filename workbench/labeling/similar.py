"""Look-alike images next to each other, so a grid page can be labelled at once ("similar" queue order).

Each image becomes its 16×16 grayscale thumbnail (workbench.data.thumbnails, the one import measures too),
normalised per image (so brightness does not decide the groups), reduced with PCA and clustered with KMeans
(scikit-learn). Clusters are ordered along the first principal component, images inside a cluster by distance
to its centre. Thumbnails are cached per dataset by file content (sha256), so a grid page over 4,000 images
does not decode 4,000 files again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench import paths
from workbench.data.thumbnails import cached_thumbnails
from workbench.lazy import lazy_import
from workbench.store import Store

# scikit-learn: imported when look-alikes are first grouped, not with the Label tab
cluster = lazy_import("sklearn.cluster")
decomposition = lazy_import("sklearn.decomposition")

IMAGES_PER_CLUSTER = 60  # about half a default grid page: a cluster fits on one page with room to spare


def similar_order(store: Store, dataset: str, seed: int = 0) -> list[int]:
    """Every image id of the dataset, look-alike images adjacent."""
    images = store.images(dataset)
    ids = images["image_id"].astype(int).to_numpy()
    if len(ids) < 3:
        return ids.tolist()
    x = thumbnails(store, dataset, images)
    x = x - x.mean(1, keepdims=True)
    x = x / np.maximum(x.std(1, keepdims=True), 1e-6)
    z = decomposition.PCA(n_components=min(32, len(ids) - 1, x.shape[1]), random_state=seed).fit_transform(x)
    k = int(np.clip(round(len(ids) / IMAGES_PER_CLUSTER), 2, 200))
    km = cluster.KMeans(n_clusters=min(k, len(ids)), n_init=1, random_state=seed).fit(z)
    dist = np.linalg.norm(z - km.cluster_centers_[km.labels_], axis=1)
    rank = np.argsort(np.argsort(km.cluster_centers_[:, 0]))  # clusters along PC1: neighbours look alike too
    order = np.lexsort((ids, dist, rank[km.labels_]))
    return ids[order].tolist()


def thumbnails(store: Store, dataset: str, images: pd.DataFrame) -> np.ndarray:
    """(N, 256) float32 grayscale thumbnails in the rows' order, from the dataset's cache or decoded once."""
    return cached_thumbnails(paths.dataset_dir(store.home, dataset), images)
