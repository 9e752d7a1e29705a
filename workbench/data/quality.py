"""Automatic quality categories, each decided against the set's own distribution, like cleanvision's issue types.

Per image: brightness, contrast, blur (variance of the Laplacian) and an inversion score are measured at import
(`image_stats`, `inverted_scores`); grey-level entropy comes from workbench.data.pixels, size and aspect from the store,
and an outlier score (the local outlier factor among the 10 nearest neighbours of the backbone embeddings of
workbench.labeling.features). A category holds the images whose score is extreme *for this set*: a modified z-score
(Iglewicz & Hoaglin: 0.6745 · (x − median) / MAD) beyond 3.5 on the category's side, on a log scale for scores that
spread multiplicatively (brightness: its ratio to black for dark, of 1 − brightness for light). So on a set of
digits on black backgrounds "dark" is the few digits much darker than the others, not every image; a category is
empty when nothing stands out. Each dataset's scores and thresholds are
saved as datasets/<name>/quality.csv and quality.json.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PIL import Image

from workbench import paths
from workbench.atomic import write_json
from workbench.data.pixels import Progress, cached_pixels, no_progress
from workbench.data.thumbnails import thumbnail
from workbench.lazy import lazy_import
from workbench.tables import read_csv, text_or_blank, write_csv

if TYPE_CHECKING:  # annotations only
    from workbench.store import Store

# scipy and scikit-learn are imported when an image is first measured or outliers scored, not by the pages that
# only read the categories
ndimage = lazy_import("scipy.ndimage")
neighbors = lazy_import("sklearn.neighbors")
features = lazy_import("workbench.labeling.features")  # torch and the backbone: only when outliers are scored

Z = 3.5  # modified z-score beyond which a score is extreme
NEIGHBOURS = 10  # outlier score: the local outlier factor among this many nearest neighbours
VERSION = 1  # of the scores and rules, part of the saved table's key


@dataclass(frozen=True)
class Rule:
    """A category: the images whose `score` is extreme on `side` ("low", "high" or "both"), judged on a log scale
    when `log`."""

    category: str
    score: str
    side: str
    log: bool = False
    meaning: str = ""


RULES = (
    # brightness is bounded by black and white: judged by ratios, to black (dark) and to white (light)
    Rule("dark", "brightness", "low", log=True, meaning="mean brightness far below the set's"),
    Rule("light", "whiteness", "low", log=True, meaning="mean brightness far closer to white than the set's"),
    Rule("low contrast", "contrast", "low", log=True, meaning="spread of grey levels far below the set's"),
    Rule("blurry", "blur", "low", log=True, meaning="variance of the Laplacian (edges) far below the set's"),
    Rule("low information", "entropy", "low", meaning="grey-level entropy far below the set's"),
    Rule("odd size", "pixels", "both", log=True, meaning="width × height far from the set's"),
    Rule("odd aspect", "aspect", "both", log=True, meaning="width / height far from the set's"),
    Rule("inverted", "inverted", "high", meaning="anti-correlated with the set's mean image"),
    Rule("outlier", "outlier", "high", log=True,
         meaning="far from its nearest neighbours in embedding space, for how close they are to theirs"),
)
CATEGORIES = tuple(r.category for r in RULES)
SCORES = ("brightness", "whiteness", "contrast", "blur", "entropy", "pixels", "aspect", "inverted", "outlier")


# -- measured at import ---------------------------------------------------------------------
def image_stats(im: Image.Image) -> tuple[float, float, float, np.ndarray]:
    """(brightness, contrast, blur, thumbnail) of one L or RGB image; the thumbnail (workbench.data.thumbnails)
    as float32 in 0..1, what the inversion score compares."""
    gray = im if im.mode == "L" else im.convert("L")
    a = np.asarray(gray, dtype=np.float32) * (1 / 255.0)
    mean = float(a.mean())
    contrast = float(np.sqrt(np.mean(np.square(a - mean))))
    blur = float(ndimage.laplace(a).var()) if min(a.shape) >= 3 else 0.0
    thumb = thumbnail(gray).astype(np.float32) * (1 / 255.0)
    return mean, contrast, blur, thumb


def inverted_scores(thumbs: np.ndarray) -> np.ndarray:
    """-corr(each thumbnail, the mean thumbnail): near -1 for typical images, positive for inverted-looking ones."""
    thumbs = np.asarray(thumbs, dtype=np.float64)
    if len(thumbs) < 2:
        return np.zeros(len(thumbs))
    centred = thumbs - thumbs.mean(axis=1, keepdims=True)
    mean = centred.mean(axis=0)
    mean -= mean.mean()
    norms = np.linalg.norm(centred, axis=1) * np.linalg.norm(mean)
    corr = np.divide(centred @ mean, norms, out=np.zeros(len(thumbs)), where=norms > 1e-12)
    return -corr


def outlier_scores(embeddings: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Local outlier factor of each embedding among its k nearest neighbours (sklearn): how much farther it lies from
    them than they lie from theirs, 1 for an image as crowded as its neighbours (NaN for sets of k images or fewer)."""
    x = np.asarray(embeddings, dtype=np.float32)
    if len(x) <= k:
        return np.full(len(x), np.nan)
    return -neighbors.LocalOutlierFactor(n_neighbors=k).fit(x).negative_outlier_factor_


# -- relative to the set: pure functions on a scores table ------------------------------------------
def _scale(x: pd.Series, log: bool) -> pd.Series:
    """The scale a score is judged on; on a log scale, 0 (a flat image's blur) is -inf: lower than any other."""
    if not log:
        return x
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.log(x.clip(lower=0)), index=x.index)


def thresholds(scores: pd.DataFrame, z: float = Z) -> pd.DataFrame:
    """One row per category: score, side, median, the bounds beyond which an image is in it (in the score's units;
    NaN where that side is not judged), and how many images are."""
    rows = []
    for r in RULES:
        x = _scale(scores[r.score].astype(float), r.log) if r.score in scores else pd.Series(dtype=float)
        x = x[np.isfinite(x)]
        med = float(x.median()) if len(x) else np.nan
        spread = float((x - med).abs().median()) / 0.6745 if len(x) else np.nan
        # no spread at all (every image the same size): any other value stands out
        lo, hi = (med - z * spread, med + z * spread) if spread > 0 else (med, med)
        back = np.exp if r.log else (lambda v: v)
        rows.append({"category": r.category, "score": r.score, "side": r.side, "log": r.log, "median": back(med),
                     "below": back(lo) if r.side in ("low", "both") else np.nan,
                     "above": back(hi) if r.side in ("high", "both") else np.nan,
                     "cut_low": lo if r.side in ("low", "both") else np.nan,
                     "cut_high": hi if r.side in ("high", "both") else np.nan, "meaning": r.meaning})
    out = pd.DataFrame(rows)
    out["images"] = [int(_flags(scores, row).sum()) for row in out.itertuples()]
    return out


def _flags(scores: pd.DataFrame, row) -> pd.Series:
    """Which images are in the category of a thresholds row: compared on the judged (log or plain) scale, where the
    cut was made, so a set of equal sizes has no odd size however the bounds round."""
    if row.score not in scores:
        return pd.Series(False, index=scores.index)
    x = _scale(scores[row.score].astype(float), bool(row.log))
    low = x < row.cut_low if not np.isnan(row.cut_low) else pd.Series(False, index=scores.index)
    high = x > row.cut_high if not np.isnan(row.cut_high) else pd.Series(False, index=scores.index)
    return (low | high) & x.notna()


def categories_of(scores: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Long table (image_id, category) of the categories each image of `scores` falls in (none, one or several)."""
    parts = [pd.DataFrame({"image_id": scores.loc[_flags(scores, row), "image_id"], "category": row.category})
             for row in limits.itertuples()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["image_id", "category"])


def scores_table(images: pd.DataFrame, entropy: np.ndarray | None = None,
                 outlier: np.ndarray | None = None) -> pd.DataFrame:
    """The scores the rules judge, per image (images: the store's table, with width, height and import stats)."""
    n = len(images)
    return pd.DataFrame({
        "image_id": images["image_id"].to_numpy(), "name": images["name"].to_numpy(),
        "brightness": images["brightness"].to_numpy(float), "whiteness": 1 - images["brightness"].to_numpy(float),
        "contrast": images["contrast"].to_numpy(float),
        "blur": images["blur"].to_numpy(float),
        "entropy": np.full(n, np.nan) if entropy is None else np.asarray(entropy, float),
        "pixels": (images["width"] * images["height"]).to_numpy(float),
        "aspect": (images["width"] / images["height"]).to_numpy(float),
        "inverted": images["inverted"].to_numpy(float),
        "outlier": np.full(n, np.nan) if outlier is None else np.asarray(outlier, float)})


def quality_categories(images: pd.DataFrame) -> pd.DataFrame:
    """(image_id, category) from the import statistics alone (no entropy, no outliers), relative to `images`."""
    scores = scores_table(images)
    return categories_of(scores, thresholds(scores))


# -- a dataset's quality, saved beside it ----------------------------------------------------
@dataclass(frozen=True)
class Quality:
    """A dataset's scores (one row per image), thresholds (one row per category) and the (image_id, category) table."""

    dataset: str
    scores: pd.DataFrame
    thresholds: pd.DataFrame
    outliers: bool  # whether outlier scores (embeddings) are in

    @property
    def categories(self) -> pd.DataFrame:
        """(image_id, category), one row per image and category it falls in."""
        return categories_of(self.scores, self.thresholds)

    def counts(self) -> pd.Series:
        """Images per category, every category (0 when none)."""
        return self.thresholds.set_index("category")["images"]


def dataset_quality(store: Store, dataset: str, *, outliers: bool | None = None,
                    progress: Progress = no_progress) -> Quality:
    """The quality scores and categories of every image of `dataset`, from datasets/<name>/quality.* while its images
    are the same. Outlier scores need the backbone embeddings: computed when `outliers` is True, left out when False,
    used when already cached when None."""
    images = store.images(dataset)
    folder = paths.dataset_dir(store.home, dataset)
    key = hashlib.sha256(f"{VERSION} {Z} ".encode() + "".join(images["sha256"]).encode()).hexdigest()[:16]
    saved = _load(folder, key)
    if saved is not None and (saved.outliers or not outliers):
        return saved
    embedded = _embeddings(folder, images, outliers, progress)
    px = cached_pixels(folder, images, progress)
    scores = scores_table(images, px.entropy, None if embedded is None else outlier_scores(embedded))
    quality = Quality(dataset, scores, thresholds(scores), embedded is not None)
    _save(folder, key, quality)
    return quality


def _embeddings(folder, images: pd.DataFrame, outliers: bool | None, progress: Progress) -> np.ndarray | None:
    if outliers is False or len(images) <= NEIGHBOURS:
        return None
    shas = images["sha256"].tolist()
    if outliers:
        return features.embeddings(folder, shas, images["path"].tolist(), progress)
    return features.cached_embeddings(folder, shas)


def _load(folder, key: str) -> Quality | None:
    meta, table = folder / "quality.json", folder / "quality.csv"
    if not (meta.is_file() and table.is_file()):
        return None
    info = json.loads(meta.read_text())
    if info.get("key") != key:
        return None
    scores = read_csv(table)
    return Quality(info["dataset"], scores[["image_id", "name", *SCORES]],
                   pd.DataFrame(info["thresholds"]), bool(info["outliers"]))


def _save(folder, key: str, q: Quality) -> None:
    cats = q.categories.groupby("image_id")["category"].agg("; ".join)
    write_csv(folder / "quality.csv", q.scores.assign(categories=text_or_blank(q.scores["image_id"].map(cats))))
    limits = q.thresholds.astype(object).where(q.thresholds.notna(), None)
    write_json(folder / "quality.json", {"dataset": q.dataset, "key": key, "rule": f"modified z-score beyond {Z}",
                                         "outliers": q.outliers, "thresholds": limits.to_dict("records")})
