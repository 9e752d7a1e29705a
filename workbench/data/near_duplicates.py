"""Near duplicates among images, arrays in, pairs out: the same picture after resizing, JPEG re-compression, a
brightness change (clipped at black or white) or a shift of a few pixels. A pair is judged on the images' 32×32 grey
copies in three steps:

1. candidates: each image's nearest neighbours under four cheap descriptors: the copy centred on its centre of
   mass and blurred (shift-tolerant for objects on a plain background, such as digits), a blurred 16×16 copy
   (textured and natural crops; WIDE × as many neighbours, as faces and textures crowd each other), its brightest
   and darkest tenth (what survives when a copy made darker loses its dark pixels to black) and the magnitude of its
   lowest spatial frequencies (SPECTRAL neighbours: blind to a shift, it finds a shifted copy of stripes or of a
   texture, which the others rank hundreds of images away, as a pixel or two off it looks like any other stripes);
2. distance: 1 − the correlation (cosine of the mean-removed pixels) of the two copies after aligning them to a
   fraction of a pixel (template match, then OpenCV's ECC, from the sharper image, then from the other when still
   undecided: within the threshold, or an image's nearest pair, which may yet stand apart), over the interior
   inside a 4-px border (what a shift pushes out of frame), with the sharper image softened to match the other:
   resizing and JPEG soften a copy, and standardising each copy makes brightness not count. Contrast does: a pair
   whose spreads of grey differ by more than CONTRAST is no pair (any two step edges correlate, whatever their
   contrast). When the two lose different shares of pixels to black or white, one may be the other made darker or
   brighter and clipped: the model clip(x + β) is compared with y too (β whose clipping accounts for the pixels y
   lost), and the smaller distance kept. A copy that lost HEAVY a share or more is aligned wrongly on its grey copy,
   where the clipped field dominates: an image's nearest such pair is aligned under this model too. So is its
   nearest by the plain distance (before the contrast rule) within CLIP_PLAIN when the two clip differently at all:
   a sixth of the pixels lost to black already pulls the shift a pixel or two off, where the contrast rule refuses
   the pair and no brightness change explains the clipping. Last, an image's nearest pair still beyond the
   threshold is compared over the whole overlap its shift leaves too, TRIM px in from the edges, where that is far
   closer (SCREEN): a tile whose content lies along its edge (a bright stripe in the border) is judged on it;
3. decision: the distance is at most `threshold`, and the pair stands out: at most RATIO × each image's distance to
   its nearest neighbour outside its group. Two people's similar 1s are as close to many other 1s as to each other;
   a copy is far closer to its original than to anything else. A pair up to LOOSE × `threshold` apart is reported
   too when it stands apart by far (at most APART × each image's distance to its next nearest image) and lies within
   NOISE × how far JPEG re-encoding alone moves the more moved of the two: JPEG takes more from a textured crop (a
   face, a patch of a photo) than from a digit or a clean edge, and such a copy is still far closer to its original
   than to anything else.
   Last, two reported pairs that share an image, (c, j) and (c, k), make j and k copies of each other: where j and
   k are further apart than the triangle inequality allows (chord distances √(2d), with SLACK), or are no pair
   themselves while one of c's pairs is CLOSER × closer than the other, the longer pair pairs a copy with a
   look-alike of its original (an edge patch at about the same angle), and is dropped. Chains of copies (frames of
   a video) are kept: their far ends are a pair too, or about as far from the middle as each other.

Images without structure (grey-level spread below FLAT after the blur: blank or nearly uniform) take part in exact
duplicates only, unless they have clipped pixels (CLIPPED at black or white): such a faint image may be a
structured one made darker or brighter (a star field made 20 levels darker keeps a few stars), and is compared
with structured images only, with MORE × as many candidates (clipping damages its descriptors); it does not count
against a pair of two structured images (it is about as close to many of them as to its original).

The backbone embeddings cached for suggestions are not used: on 28×28 digits a copy 20 grey levels brighter lies
hundreds of neighbours away from its original there, while these steps find it first; for LFW faces and 32×32 photo
tiles the original is among a planted copy's 8 nearest by Lite0 cosine for 43 and 48 of 100 copies, and adds none
the pixel descriptors miss.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from workbench.lazy import lazy_import

# OpenCV, scipy and scikit-learn when a search runs: the Datasets tab and the splits import this module
cv2 = lazy_import("cv2")
ndimage = lazy_import("scipy.ndimage")
sparse = lazy_import("scipy.sparse")
csgraph = lazy_import("scipy.sparse.csgraph")
neighbors = lazy_import("sklearn.neighbors")

THRESHOLD = 0.003  # default largest distance of a near-duplicate pair (see module docstring, step 2)
RATIO = 0.3  # a pair's distance at most this times each image's distance to its nearest outsider (step 3)
LOOSE = 10.0  # pairs up to LOOSE × threshold apart are reported when they stand apart by far (step 3, second rule)
APART = 0.2  # ... at most this times each image's distance to its next nearest image
NEIGHBOURS = 8  # candidates per image and descriptor (step 1)
MORE = 4  # ... times as many for a faint image with clipped pixels, whose descriptors the clipping damaged
SPECTRAL = 3  # ... under the magnitude spectrum (a copy of a texture or of stripes is among its 3 nearest there)
SPECTRUM = 5  # lowest frequencies of the spectrum kept, each way
WIDE = 1.5  # ... times as many under the blurred descriptor, where faces and textures crowd each other
BLUR = 1.0  # px of the 32-px copy: the base blur every distance is taken at
SOFTEN = (0.0, 0.4, 0.6, 0.8, 1.0)  # extra blur tried on either side of a pair (step 2)
MARGIN = 4  # px of border left out of the comparison; also the largest shift searched
TRIM = 1  # px: an image's nearest pair is compared over the whole overlap its shift leaves, this far in (step 2)
SCREEN = 0.5  # ... where the unsoftened copies are at most this times as far apart there as in the interior
GATE = 0.08  # candidates whose whole-pixel distance exceeds this are not refined (a thin stroke half a pixel off
# is ~0.05 away at whole pixels, a few thousandths once aligned)
BRIGHTNESS = np.arange(10, 41, 10)  # grey-level changes tried before clipping (step 2, clipped pairs)
CLIP_BLUR = 1.5  # px: the blur both sides of a clipped pair are compared at (JPEG wipes faint texture)
CONTRAST = 1.4  # largest ratio of two copies' grey-level spreads (at CLIP_BLUR)
HEAVY = 0.25  # ... and by which a copy lost so much that it is aligned under the clipped comparison too
CLIP_PLAIN = 0.02  # ... as is one that lost less, when it is its original's nearest by the plain distance within this
CLIPPED = 0.02  # share of pixels at 0 or 255 by which two images must differ for the clipped comparison
JPEG_QUALITY = 70  # of the re-encoding that measures how far JPEG moves each image (step 3, second rule)
NOISE = 20.0  # a pair beyond the threshold is at most this times that distance of the more moved of the two
SECOND_LOOK = 0.001  # pairs still further apart once aligned are aligned from the other side too (step 2)
SLACK = 1.25  # of the triangle inequality two reported pairs sharing an image must meet (step 3)
CLOSER = 3.0  # ... and the longer is dropped when this many times the shorter and its far ends are no pair
FLAT = 4.0  # grey levels: an image whose blurred copy spreads less has no structure to compare
THREADS = 8  # at most, for the per-pair OpenCV loops (alignment)
VERSION = 11  # of this algorithm, part of the cache key of saved results


def _standardise(a: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=(-2, -1), keepdims=True)
    return (a / np.maximum(a.std(axis=(-2, -1), keepdims=True), 1e-3)).astype(np.float32)


def _versions(grey: np.ndarray) -> np.ndarray:
    """(N, len(SOFTEN), S, S): each copy standardised at the base blur and at each extra softening."""
    g = grey.astype(np.float32)
    return np.stack([_standardise(ndimage.gaussian_filter(g, (0, s, s))) for s in np.hypot(BLUR, SOFTEN)], 1)


def structured(grey: np.ndarray) -> np.ndarray:
    """(N,) bool: the image has structure to compare (its blurred grey copy spreads at least FLAT levels)."""
    if not len(grey):
        return np.zeros(0, bool)
    return ndimage.gaussian_filter(grey.astype(np.float32), (0, BLUR, BLUR)).std(axis=(1, 2)) >= FLAT


def _unit(f: np.ndarray) -> np.ndarray:
    f = f.reshape(len(f), -1)
    f = f - f.mean(1, keepdims=True)
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-9)


def _centred(x: np.ndarray, side: int = 24) -> np.ndarray:
    """Each copy shrunk to `side`, moved so its centre of mass (of |x - median|) is in the middle, blurred."""
    small = np.stack([cv2.resize(a, (side, side), interpolation=cv2.INTER_AREA) for a in x])
    w = np.abs(small - np.median(small, axis=(1, 2), keepdims=True))
    mass = w.sum(axis=(1, 2)) + 1e-9
    at = np.arange(side, dtype=np.float32)
    cy, cx = (w.sum(2) * at).sum(1) / mass, (w.sum(1) * at).sum(1) / mass
    mid = (side - 1) / 2
    moved = np.stack([ndimage.shift(a, (mid - y, mid - x), order=1, mode="nearest") for a, y, x in zip(small, cy, cx)])
    return _unit(ndimage.gaussian_filter(moved, (0, 1.0, 1.0)))


def _blurred(x: np.ndarray, side: int = 16) -> np.ndarray:
    small = np.stack([cv2.resize(a, (side, side), interpolation=cv2.INTER_AREA) for a in x])
    return _unit(ndimage.gaussian_filter(small, (0, 1.5, 1.5)))


def _extremes(x: np.ndarray, side: int = 16, share: float = 0.1) -> np.ndarray:
    """What survives clipping: each copy's brightest and darkest `share` of pixels (16×16, above and below those
    quantiles), the rest flattened. A copy made darker keeps its bright spots and loses its dark ones to black."""
    small = ndimage.gaussian_filter(
        np.stack([cv2.resize(a, (side, side), interpolation=cv2.INTER_AREA) for a in x]), (0, 1.0, 1.0))
    flat = small.reshape(len(x), -1)
    hi, lo = np.quantile(flat, 1 - share, axis=1)[:, None], np.quantile(flat, share, axis=1)[:, None]
    return _unit(np.concatenate([np.maximum(flat - hi, 0), np.maximum(lo - flat, 0)], 1))


def _spectrum(x: np.ndarray, band: int = SPECTRUM) -> np.ndarray:
    """Each copy's magnitude spectrum at the lowest `band` frequencies each way (DC left out): blind to where the
    content sits, so a shifted copy of a texture or of stripes keeps it, and a few percent of resizing barely
    moves such low frequencies."""
    f = np.abs(np.fft.rfft2(_standardise(x)))
    low = np.concatenate([f[:, :band + 1, :band + 1], f[:, -band:, :band + 1]], 1).reshape(len(x), -1)
    return _unit(low[:, 1:])


def candidates(x: np.ndarray, k: int = NEIGHBOURS, *, more: np.ndarray | None = None) -> np.ndarray:
    """(P, 2) index pairs (i < j), each image with its nearest neighbours under each descriptor (step 1); the images
    `more` (bool) with MORE × as many."""
    if len(x) < 2:
        return np.zeros((0, 2), np.int64)
    found = []
    for f, many in ((_centred(x), k), (_blurred(x), round(WIDE * k)), (_extremes(x), k), (_spectrum(x), SPECTRAL)):
        search = neighbors.NearestNeighbors().fit(f)
        for at, kk in ((np.arange(len(x)), many), (np.flatnonzero(more if more is not None else []), MORE * many)):
            if not len(at):
                continue
            _, nb = search.kneighbors(f[at], n_neighbors=min(kk + 1, len(x)))
            i, j = np.repeat(at, nb.shape[1]), nb.ravel()
            found.append(np.stack([np.minimum(i, j), np.maximum(i, j)], 1)[i != j])
    return np.unique(np.concatenate(found), axis=0)


def _whole_pixel(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance at the best whole-pixel shift (within MARGIN) of each pair, and that shift (dx, dy) of b."""
    s, m = x.shape[1], MARGIN
    dist = np.empty(len(a), np.float32)
    shift = np.empty((len(a), 2), np.float32)
    match, peak, how = cv2.matchTemplate, cv2.minMaxLoc, cv2.TM_CCOEFF_NORMED  # once, not through the lazy module

    def part(at: slice) -> None:
        for n in range(at.start, at.stop):
            _, best, _, (px, py) = peak(match(x[b[n]], x[a[n], m:s - m, m:s - m], how))
            dist[n], shift[n] = 1 - best, (px - m, py - m)

    _in_threads(part, len(a))
    return dist, shift


def _refine(x: np.ndarray, a: np.ndarray, b: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Sub-pixel shifts by ECC (translation), started at the whole-pixel ones; kept where ECC does not converge."""
    s, m = x.shape[1], MARGIN
    mask = np.zeros((s, s), np.uint8)
    mask[m:s - m, m:s - m] = 1
    stop = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-5)
    ecc, motion, failed = cv2.findTransformECC, cv2.MOTION_TRANSLATION, cv2.error
    out = shift.copy()

    def part(at: slice) -> None:
        for n in range(at.start, at.stop):
            warp = np.array([[1, 0, shift[n, 0]], [0, 1, shift[n, 1]]], np.float32)
            try:
                _, warp = ecc(x[a[n]], x[b[n]], warp, motion, stop, mask, 1)
            except failed:  # no convergence (flat or unrelated pair): the whole-pixel shift stands
                continue
            if abs(warp[0, 2]) <= m and abs(warp[1, 2]) <= m:
                out[n] = warp[0, 2], warp[1, 2]

    _in_threads(part, len(a))
    return out


def _in_threads(part: Callable[[slice], None], n: int, least: int = 256) -> None:
    """part(slice) over n items, split among the cores in threads: OpenCV releases the GIL in its calls, and each
    part writes only its own rows (the same result as one loop)."""
    workers = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
                         THREADS, n // least))
    if workers == 1:
        part(slice(0, n))
        return
    bounds = np.linspace(0, n, workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(part, [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]))


def _shifted(v: np.ndarray, shift: np.ndarray, margin: int = MARGIN) -> np.ndarray:
    """The interiors (inside `margin`) of v (P, E, S, S) sampled at (y + dy, x + dx), bilinear, per pair."""
    p, e, s, _ = v.shape
    w = s - 2 * margin
    fx, fy = np.floor(shift[:, 0]).astype(int), np.floor(shift[:, 1]).astype(int)
    ax = (shift[:, 0] - fx)[:, None, None, None]
    ay = (shift[:, 1] - fy)[:, None, None, None]
    at = np.arange(w)
    pi, ei = np.arange(p)[:, None, None, None], np.arange(e)[None, :, None, None]

    def take(oy: int, ox: int) -> np.ndarray:
        rows = np.clip(margin + fy[:, None] + oy + at, 0, s - 1)[:, None, :, None]
        cols = np.clip(margin + fx[:, None] + ox + at, 0, s - 1)[:, None, None, :]
        return v[pi, ei, rows, cols]

    return (1 - ay) * ((1 - ax) * take(0, 0) + ax * take(0, 1)) + ay * ((1 - ax) * take(1, 0) + ax * take(1, 1))


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=(-2, -1), keepdims=True)
    b = b - b.mean(axis=(-2, -1), keepdims=True)
    den = np.sqrt((a * a).sum(axis=(-2, -1)) * (b * b).sum(axis=(-2, -1)))
    return (a * b).sum(axis=(-2, -1)) / np.maximum(den, 1e-9)


def _softened_distance(v: np.ndarray, a: np.ndarray, b: np.ndarray, shift: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Distance of aligned pairs, the sharper side softened to match (the smallest over SOFTEN on either side)."""
    m = MARGIN
    out = np.empty(len(a), np.float32)
    for c in range(0, len(a), chunk):
        va = v[a[c:c + chunk], :, m:-m, m:-m]
        vb = _shifted(v[b[c:c + chunk]], shift[c:c + chunk])
        best = np.maximum(_correlation(va[:, :1], vb).max(1), _correlation(va, vb[:, :1]).max(1))
        out[c:c + chunk] = 1 - best
    return out


def _overlap(shift: np.ndarray, s: int) -> np.ndarray:
    """(P, 1, S, S) weights: 1 where a pixel of the first image and the second one shifted by `shift` both lie in
    frame, TRIM px in from its edges (a resized copy's edge pixels hold a blend of what the original had beyond)."""
    at = np.arange(s)

    def inside(d: np.ndarray) -> np.ndarray:
        return ((at >= np.ceil(np.maximum(-d, 0))[:, None] + TRIM)
                & (at < s - np.ceil(np.maximum(d, 0))[:, None] - TRIM))

    return (inside(shift[:, 1])[:, :, None] & inside(shift[:, 0])[:, None, :]).astype(np.float32)[:, None]


def _weighted_correlation(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    n = w.sum(axis=(-2, -1), keepdims=True)
    a = a - (w * a).sum(axis=(-2, -1), keepdims=True) / n
    b = b - (w * b).sum(axis=(-2, -1), keepdims=True) / n
    den = np.sqrt((w * a * a).sum(axis=(-2, -1)) * (w * b * b).sum(axis=(-2, -1)))
    return (w * a * b).sum(axis=(-2, -1)) / np.maximum(den, 1e-9)


def _overlap_distance(v: np.ndarray, a: np.ndarray, b: np.ndarray, shift: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Distance of aligned pairs as _softened_distance, over the whole overlap the shift leaves, border included."""
    out = np.empty(len(a), np.float32)
    for c in range(0, len(a), chunk):
        at = slice(c, c + chunk)
        va, vb, w = v[a[at]], _shifted(v[b[at]], shift[at], 0), _overlap(shift[at], v.shape[-1])
        best = np.maximum(_weighted_correlation(va[:, :1], vb, w).max(1), _weighted_correlation(va, vb[:, :1], w).max(1))
        out[at] = 1 - best
    return out


def _blur_matrix(w: int, sigma: float) -> np.ndarray:
    """(w, w) K such that K @ a @ K.T is `a` Gaussian-blurred (scipy's reflecting edges): one batched product."""
    return ndimage.gaussian_filter1d(np.eye(w, dtype=np.float32), sigma, axis=0)


def _clipped_distance(grey: np.ndarray, a: np.ndarray, b: np.ndarray, shift: np.ndarray,
                      chunk: int = 1024) -> np.ndarray:
    """Distance of aligned pairs when one side y may be the other x made darker or brighter and clipped at 0 or
    255: the smallest 1 − correlation of blur(clip(x + β)) with blur(y), both sides blurred by CLIP_BLUR, over the
    β (BRIGHTNESS, then ±half a step around the best) whose clipping accounts for the pixels y has lost to black or
    white and that leave the contrast within CONTRAST; both ways round, on raw grey levels (so the clipping is where
    it really is). 1 where no β does."""
    m, w = MARGIN, grey.shape[1] - 2 * MARGIN
    g = grey.astype(np.float32)
    k = _blur_matrix(w, CLIP_BLUR)
    half = float(BRIGHTNESS[1] - BRIGHTNESS[0]) / 2
    out = np.empty(len(a), np.float32)
    for c in range(0, len(a), chunk):
        xa = g[a[c:c + chunk], m:-m, m:-m]
        xb = _shifted(g[b[c:c + chunk], None], shift[c:c + chunk])[:, 0]
        best = np.full(len(xa), -1.0, np.float32)
        for x, y in ((xa, xb), (xb, xa)):
            lost = _lost(x, y)
            for end, sign in ((0, -1), (1, 1)):  # lost to black: x made darker; to white: brighter
                at = np.flatnonzero(lost[:, end] >= CLIPPED)
                if not len(at):
                    continue
                xs, ys, ls = x[at], k @ y[at] @ k.T, lost[at]

                def corr(beta: np.ndarray) -> np.ndarray:
                    moved = np.clip(xs + beta[:, None, None], 0, 255)
                    blurred = k @ moved @ k.T
                    ok = _explains(xs, moved, ls) & _similar_contrast(blurred, ys)
                    return np.where(ok, _correlation(blurred, ys), -1.0)

                grid = np.stack([corr(np.full(len(at), sign * beta, np.float32)) for beta in BRIGHTNESS], 1)
                top = sign * BRIGHTNESS[grid.argmax(1)].astype(np.float32)
                best[at] = np.maximum.reduce([best[at], grid.max(1), corr(top - half), corr(top + half)])
        out[c:c + chunk] = 1 - best
    return out


def _clipped_aligned(grey: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of pairs under the clipped comparison at its own shift. A copy that lost much of itself to black
    (or white) is aligned wrongly on its standardised grey copy, which the clipped field dominates; what is left (a
    few stars) lines up with the original made as much darker: the image that clips less is darkened (or brightened)
    until it clips as much, both are blurred by CLIP_BLUR and matched at whole pixels within MARGIN, then the
    clipped comparison is taken there and half a pixel around, each image's interior in turn."""
    m, s = MARGIN, grey.shape[1]
    g = grey.astype(np.float32)
    ends = _ends(g)
    shift = np.zeros((len(a), 2), np.float32)
    match, peak, how, blur = cv2.matchTemplate, cv2.minMaxLoc, cv2.TM_CCOEFF_NORMED, cv2.GaussianBlur
    for n, (i, j) in enumerate(zip(a, b)):
        diff = ends[j] - ends[i]
        end = int(np.argmax(np.abs(diff)))
        x, y = (i, j) if diff[end] > 0 else (j, i)  # y clips more
        level = np.quantile(g[x], ends[y, 0] if end == 0 else 1 - ends[y, 1])
        moved = {x: np.clip(g[x] - level if end == 0 else g[x] + 255 - level, 0, 255).astype(np.float32), y: g[y]}
        fi, fj = (blur(moved[k], (0, 0), CLIP_BLUR) for k in (i, j))
        _, _, _, (px, py) = peak(match(fj, fi[m:s - m, m:s - m], how))
        shift[n] = px - m, py - m
    best = np.ones(len(a), np.float32)
    for dx in (-0.5, 0.0, 0.5):
        for dy in (-0.5, 0.0, 0.5):
            at = np.clip(shift + np.float32([dx, dy]), -m, m)
            best = np.minimum.reduce([best, _clipped_distance(grey, a, b, at), _clipped_distance(grey, b, a, -at)])
    return best


def _contrast_kept(grey: np.ndarray, a: np.ndarray, b: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(P,) bool: aligned pairs whose interiors, blurred by CLIP_BLUR, have a similar contrast (raw grey levels)."""
    m, w = MARGIN, grey.shape[1] - 2 * MARGIN
    g = grey.astype(np.float32)
    k = _blur_matrix(w, CLIP_BLUR)
    return _similar_contrast(k @ g[a, m:-m, m:-m] @ k.T, k @ _shifted(g[b, None], shift)[:, 0] @ k.T)


def _similar_contrast(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(P,) bool: the grey-level spreads of x and y are within a factor CONTRAST of each other. Correlation alone
    calls any two step edges alike, whatever their contrast: a copy made brighter or darker keeps it."""
    sx, sy = x.std(axis=(-2, -1)), y.std(axis=(-2, -1))
    return (sx <= CONTRAST * sy) & (sy <= CONTRAST * sx)


def _ends(x: np.ndarray) -> np.ndarray:
    """(P, 2): each image's share of pixels at black and at white (within 2 levels)."""
    return np.stack([(x <= 2).mean(axis=(-2, -1)), (x >= 253).mean(axis=(-2, -1))], 1)


def _lost(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(P, 2): the share of pixels y has at black and at white beyond x's."""
    return np.maximum(_ends(y) - _ends(x), 0)


def _explains(x: np.ndarray, moved: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """(P,) bool: the brightness change x → moved clips about the pixels y lost (within half, or 3% of the image),
    at black and at white; a change that clips where y has lost nothing does not."""
    gained = np.maximum(_ends(np.clip(moved, 0, 255)) - _ends(x), 0)
    return (np.abs(gained - lost) <= np.maximum(0.5 * lost, 0.03)).all(1)


def _clips_differently(grey: np.ndarray, a: np.ndarray, b: np.ndarray, share: float = CLIPPED) -> np.ndarray:
    """(P,) bool: the two images' shares of pixels at black (or at white) differ by at least `share`."""
    ends = _ends(grey)
    return (np.abs(ends[a] - ends[b]) >= share).any(1)


def pair_distances(grey: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Step 2 for index pairs of (N, S, S) grey copies: the refined distance where the whole-pixel one is at most
    GATE, the whole-pixel one (an upper bound) elsewhere."""
    return _distances(_versions(grey), np.asarray(pairs, np.int64).reshape(-1, 2), grey)


def _sharpness(v: np.ndarray) -> np.ndarray:
    """(N,) mean squared gradient of each standardised copy: resizing and JPEG leave a copy softer than its original."""
    gy, gx = np.gradient(v[:, 0], axis=(1, 2))
    return (gx * gx + gy * gy).mean(axis=(1, 2))


@dataclass
class _Aligned:
    """Step 2's state for P pairs, the sharper image of each first (`a`): the shift of `b` onto `a`, the plain
    distance (aligned, softened), and the distance judged (contrast rule and clipped comparison applied)."""

    a: np.ndarray
    b: np.ndarray
    shift: np.ndarray
    plain: np.ndarray
    dist: np.ndarray
    refined: np.ndarray  # bool: aligned to a fraction of a pixel (whole-pixel distance within GATE)


def _align(v: np.ndarray, pairs: np.ndarray, grey: np.ndarray) -> _Aligned:
    """Step 2, aligned once from the sharper image of each pair."""
    # the sharper image of a pair is the one matched and aligned against: the same answer in any import order
    sharp = _sharpness(v)
    swap = sharp[pairs[:, 1]] > sharp[pairs[:, 0]]
    a, b = np.where(swap, pairs[:, 1], pairs[:, 0]), np.where(swap, pairs[:, 0], pairs[:, 1])
    plain, shift = _whole_pixel(v[:, 0], a, b)
    close = np.flatnonzero(plain <= GATE)
    if len(close):
        shift[close] = _refine(v[:, 0], a[close], b[close], shift[close])
        plain[close] = np.minimum(plain[close], _softened_distance(v, a[close], b[close], shift[close]))
    al = _Aligned(a, b, shift, plain, plain.copy(), plain <= GATE)
    _judge(grey, al, close)
    return al


def _judge(grey: np.ndarray, al: _Aligned, at: np.ndarray) -> None:
    """The distance of the refined pairs `at` from their plain one: 1 where the contrast differs, the clipped
    comparison where the two images clip differently and it is closer."""
    a, b, shift = al.a[at], al.b[at], al.shift[at]
    al.dist[at] = np.where(_contrast_kept(grey, a, b, shift), al.plain[at], 1.0)
    clip = _clips_differently(grey, a, b)
    if clip.any():
        al.dist[at[clip]] = np.minimum(al.dist[at[clip]], _clipped_distance(grey, a[clip], b[clip], shift[clip]))


def _look_again(v: np.ndarray, grey: np.ndarray, al: _Aligned, bound: np.ndarray | float) -> None:
    """ECC can stop short from one side and not from the other: refined pairs still undecided (plain distance
    between SECOND_LOOK and `bound`) are aligned from the other image too, and the closer alignment kept."""
    again = np.flatnonzero(al.refined & (al.plain > SECOND_LOOK) & (al.plain <= bound))
    if not len(again):
        return
    i, j = al.a[again], al.b[again]
    back = _refine(v[:, 0], j, i, -al.shift[again])
    other = _softened_distance(v, j, i, back)
    closer = other < al.plain[again]
    better, before = again[closer], al.dist[again[closer]]
    al.plain[better], al.shift[better] = other[closer], -back[closer]
    _judge(grey, al, better)
    al.dist[better] = np.minimum(al.dist[better], before)  # the first alignment's clipped comparison may be closer


def _distances(v: np.ndarray, pairs: np.ndarray, grey: np.ndarray, reach: np.ndarray | None = None) -> np.ndarray:
    """Step 2; `reach` (P,): the largest distance at which each pair could still be reported (default: the loose
    bound), past which it is not aligned a second time."""
    al = _align(v, pairs, grey)
    _look_again(v, grey, al, LOOSE * THRESHOLD if reach is None else reach)
    return np.maximum(al.dist, 0.0)


def _whole_overlap(v: np.ndarray, al: _Aligned, at: np.ndarray) -> None:
    """Refined pairs `at` (bool) that the contrast rule kept are compared over the whole overlap their shift leaves
    too, border included (content along a tile's edge lies outside the interior), where the unsoftened copies are
    there at most SCREEN × as far apart as in the interior; the smaller distance is kept."""
    at = np.flatnonzero(at & al.refined & (al.dist < 1))
    quick = _overlap_distance(v[:, :1], al.a[at], al.b[at], al.shift[at])
    at = at[quick < SCREEN * al.dist[at]]
    al.dist[at] = np.minimum(al.dist[at], _overlap_distance(v, al.a[at], al.b[at], al.shift[at]))


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """(n,) component label of each of n items linked by index pairs (singletons get their own)."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return csgraph.connected_components(graph, directed=False)[1]


def stand_out(n: int, pairs: np.ndarray, dist: np.ndarray, threshold: float, ratio: float = RATIO) -> np.ndarray:
    """(P,) bool, step 3: distance ≤ threshold and ≤ ratio × both images' distances to their nearest candidate
    outside the group the pairs within the threshold make."""
    close = dist <= threshold
    group = components(n, pairs[close])
    outside = group[pairs[:, 0]] != group[pairs[:, 1]]
    nearest = np.ones(n)
    for end in (0, 1):
        np.minimum.at(nearest, pairs[outside, end], dist[outside])
    return close & (dist <= ratio * np.minimum(nearest[pairs[:, 0]], nearest[pairs[:, 1]]))


def stands_apart(n: int, pairs: np.ndarray, dist: np.ndarray, threshold: float, ratio: float = APART) -> np.ndarray:
    """(P,) bool, step 3's second rule: distance ≤ threshold and ≤ ratio × both images' distances to their nearest
    candidate other than each other (1 when they have none)."""
    p = len(dist)
    ends, d, pid = pairs.T.ravel(), np.tile(dist, 2), np.tile(np.arange(p), 2)
    order = np.lexsort((d, ends))
    ends, d, pid = ends[order], d[order], pid[order]
    start, count = np.searchsorted(ends, np.arange(n)), np.bincount(ends, minlength=n)
    first, second, first_pair = np.ones(n), np.ones(n), np.full(n, -1)
    one, two = count >= 1, count >= 2
    first[one], first_pair[one] = d[start[one]], pid[start[one]]
    second[two] = d[start[two] + 1]

    def other(img: np.ndarray) -> np.ndarray:  # its nearest distance, leaving this pair out
        return np.where(first_pair[img] == np.arange(p), second[img], first[img])

    return (dist <= threshold) & (dist <= ratio * np.minimum(other(pairs[:, 0]), other(pairs[:, 1])))


def jpeg_noise(grey: np.ndarray, v: np.ndarray | None = None) -> np.ndarray:
    """(N,) each image's distance to itself saved as JPEG at quality JPEG_QUALITY (`v`: its versions, if made): how
    far re-encoding alone moves it. A digit's strokes or a clean edge hardly move; a face or a noisy texture a lot."""
    encode, decode, flags = cv2.imencode, cv2.imdecode, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    again = np.stack([decode(encode(".jpg", a, flags)[1], cv2.IMREAD_GRAYSCALE) for a in grey])
    m = MARGIN
    v = _versions(grey) if v is None else v
    return np.maximum(1 - _correlation(v[:, :1, m:-m, m:-m], _versions(again)[:, :, m:-m, m:-m]).max(1), 0)


def near_pairs(grey: np.ndarray, threshold: float = THRESHOLD, *, eligible: np.ndarray | None = None,
               ratio: float = RATIO, k: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """((P, 2) index pairs, (P,) distances) of the near duplicates among the `eligible` (default: structured) images."""
    rich = structured(grey)
    # a faint image with clipped pixels may be a structured one made darker or brighter: compared with those only
    faint = ~rich & (_ends(grey.astype(np.float32)).max(1) >= CLIPPED) & (grey.std(axis=(1, 2)) >= 1)
    eligible = rich | faint if eligible is None else eligible & (rich | faint)
    idx = np.flatnonzero(eligible)
    v = _versions(grey[idx])
    cand = candidates(v[:, 0], k, more=faint[idx])
    cand = cand[rich[idx[cand]].any(1)]
    if not len(cand):
        return np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
    al = _align(v, cand, grey[idx])
    _look_again(v, grey[idx], al, threshold)
    _nearest_looked_at_again(v, grey[idx], cand, al, threshold)
    dist = np.maximum(al.dist, 0.0)
    # a faint image is as close to much as to its original: it does not count against two structured images
    both = rich[idx[cand]].all(1)
    keep = np.zeros(len(cand), bool) if both.all() else _decide(grey[idx], cand, dist, threshold, ratio)
    keep[both] = _decide(grey[idx], cand[both], dist[both], threshold, ratio)
    keep[_inconsistent(v, grey[idx], cand, dist, keep)] = False
    return idx[cand[keep]], dist[keep]


def _nearest_looked_at_again(v: np.ndarray, grey: np.ndarray, pairs: np.ndarray, al: _Aligned,
                             threshold: float) -> None:
    """Each image's nearest pair beyond the threshold may yet stand apart: it is aligned from the other side too;
    when the two clip differently, under the clipped comparison too (that pair, or the image's nearest by the plain
    distance, before the contrast rule refused it at a shift the clipped field pulled off, when within CLIP_PLAIN);
    then compared over the whole overlap its shift leaves."""
    n = len(v)
    nearest = _nearest_of_either(n, pairs, al.dist)
    _look_again(v, grey, al, np.where(nearest & (al.plain > threshold), GATE, 0.0))
    clip = nearest & _clips_differently(grey, al.a, al.b, HEAVY)
    clip |= _nearest_of_either(n, pairs, al.plain) & (al.plain <= CLIP_PLAIN) & _clips_differently(grey, al.a, al.b)
    clip = np.flatnonzero(clip & (al.dist > threshold))
    al.dist[clip] = np.minimum(al.dist[clip], _clipped_aligned(grey, al.a[clip], al.b[clip]))
    _whole_overlap(v, al, _nearest_of_either(n, pairs, al.dist) & (al.dist > threshold))


def _decide(grey: np.ndarray, pairs: np.ndarray, dist: np.ndarray, threshold: float, ratio: float) -> np.ndarray:
    """(P,) bool, step 3: the pair stands out, or stands apart within NOISE × how far re-encoding moves the more
    moved of the two."""
    keep = stand_out(len(grey), pairs, dist, threshold, ratio)
    loose = np.flatnonzero(stands_apart(len(grey), pairs, dist, LOOSE * threshold) & ~keep)
    if not len(loose):
        return keep
    imgs, at = np.unique(pairs[loose], return_inverse=True)
    reach = np.maximum(NOISE * jpeg_noise(grey[imgs])[at.reshape(-1, 2)].max(1), threshold)
    keep[loose[dist[loose] <= reach]] = True
    return keep


def _inconsistent(v: np.ndarray, grey: np.ndarray, pairs: np.ndarray, dist: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Indices of kept pairs that are look-alikes, not copies: a pair (c, j) kept beside (c, k) makes j and k copies
    of each other, so their chord distance (√(2d), of unit vectors) is at most the sum of the two by the triangle
    inequality; where it exceeds SLACK × that sum, or where j and k are no pair themselves and one of c's pairs is
    CLOSER × closer than the other, the longer of the two pairs is dropped."""
    kept = np.flatnonzero(keep)
    ends = np.concatenate([pairs[kept], pairs[kept, ::-1]])
    by = np.concatenate([kept, kept])
    order = np.argsort(ends[:, 0], kind="stable")
    ends, by = ends[order], by[order]
    first, count = np.unique(ends[:, 0], return_index=True, return_counts=True)[1:]
    wedges = [(by[s + x], by[s + y], ends[s + x, 1], ends[s + y, 1])
              for s, c in zip(first, count) if c > 1 for x in range(c) for y in range(x + 1, c)]
    if not wedges:
        return np.zeros(0, np.int64)
    pi, pk, j, k = np.array(wedges).T
    # the far ends' distance: a candidate pair's where it is one, measured here where not
    n = len(v)
    known = pairs[:, 0] * n + pairs[:, 1]
    want = np.minimum(j, k) * n + np.maximum(j, k)
    at = np.clip(np.searchsorted(known, want), 0, len(known) - 1)
    djk = np.where(known[at] == want, dist[at], np.nan)
    linked = (known[at] == want) & keep[at]
    missing = np.isnan(djk)
    if missing.any():
        djk[missing] = _distances(v, np.stack([j[missing], k[missing]], 1), grey)
    bad = np.sqrt(djk) > SLACK * (np.sqrt(dist[pi]) + np.sqrt(dist[pk]))
    # a copy has one original: j and k not a pair themselves, and one of c's pairs far the closer
    bad |= ~linked & (np.maximum(dist[pi], dist[pk]) >= CLOSER * np.minimum(dist[pi], dist[pk]))
    return np.unique(np.where(dist[pi] >= dist[pk], pi, pk)[bad])


def _nearest_of_either(n: int, pairs: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """(P,) bool: the pair is the nearest candidate of one of its two images."""
    nearest = np.full(n, np.inf)
    for end in (0, 1):
        np.minimum.at(nearest, pairs[:, end], dist)
    return (dist <= nearest[pairs[:, 0]]) | (dist <= nearest[pairs[:, 1]])

