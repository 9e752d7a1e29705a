"""Look-alike images next to each other, so a grid page can be labelled at once ("similar" queue order), and
cluster representatives first, so the first labels cover every kind of image ("representative" queue order).

Each image becomes its 16×16 grayscale thumbnail (workbench.data.thumbnails, the one import measures too),
normalised per image (so brightness does not decide the groups), reduced with PCA and clustered with KMeans
(scikit-learn). Clusters are ordered along the first principal component, images inside a cluster by distance
to its centre. Representatives: the image nearest each cluster's centre, one per cluster, then the second
nearest of each, and so on (bigger clusters first in each round). Thumbnails are cached per dataset by file
content (sha256), so a grid page over 4,000 images does not decode 4,000 files again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench import paths
from workbench.data.thumbnails import cached_thumbnails, standardised
from workbench.lazy import lazy_import
from workbench.store import Store

# scikit-learn: imported when look-alikes are first grouped, not with the Label tab
cluster = lazy_import("sklearn.cluster")
decomposition = lazy_import("sklearn.decomposition")

IMAGES_PER_CLUSTER = 60  # about half a default grid page: a cluster fits on one page with room to spare
# representatives: finer clusters, so the first round holds more kinds (digits, 5 labels of every class: 61-64
# images at 30 per cluster, 63-121 at 60, against 67-77 in random order; seeds 0-2)
IMAGES_PER_REPRESENTATIVE = 30


def similar_order(store: Store, dataset: str, seed: int = 0) -> list[int]:
    """Every image id of the dataset, look-alike images adjacent."""
    ids, group, dist, centres = clusters(store, dataset, seed)
    if centres is None:
        return ids.tolist()
    rank = np.argsort(np.argsort(centres[:, 0]))  # clusters along PC1: neighbours look alike too
    return ids[np.lexsort((ids, dist, rank[group]))].tolist()


def representative_order(store: Store, dataset: str, seed: int = 0) -> list[int]:
    """Every image id of the dataset, cluster representatives first: round k holds each cluster's k-th nearest
    image to its centre (bigger clusters first)."""
    ids, group, dist, centres = clusters(store, dataset, seed, IMAGES_PER_REPRESENTATIVE)
    if centres is None:
        return ids.tolist()
    by_dist = np.lexsort((ids, dist, group))
    place = np.empty(len(ids), dtype=np.int64)   # an image's rank inside its cluster, nearest the centre 0
    starts = np.searchsorted(group[by_dist], group[by_dist], side="left")
    place[by_dist] = np.arange(len(ids)) - starts
    size = np.bincount(group)
    return ids[np.lexsort((ids, -size[group], place))].tolist()


def clusters(store: Store, dataset: str, seed: int = 0, per: int = IMAGES_PER_CLUSTER
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(image ids, each one's cluster, its distance to the cluster's centre, the centres in PCA space), about
    `per` images a cluster; centres None for fewer than 3 images."""
    images = store.images(dataset)
    ids = images["image_id"].astype(int).to_numpy()
    if len(ids) < 3:
        return ids, np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids)), None
    x = standardised(thumbnails(store, dataset, images))
    z = decomposition.PCA(n_components=min(32, len(ids) - 1, x.shape[1]), random_state=seed).fit_transform(x)
    k = int(np.clip(round(len(ids) / per), 2, 200))
    km = cluster.KMeans(n_clusters=min(k, len(ids)), n_init=1, random_state=seed).fit(z)
    dist = np.linalg.norm(z - km.cluster_centers_[km.labels_], axis=1)
    return ids, km.labels_.astype(np.int64), dist, km.cluster_centers_


def thumbnails(store: Store, dataset: str, images: pd.DataFrame) -> np.ndarray:
    """(N, 256) float32 grayscale thumbnails in the rows' order, from the dataset's cache or decoded once."""
    return cached_thumbnails(paths.dataset_dir(store.home, dataset), images)
