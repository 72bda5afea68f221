"""Downstream analysis: the same classical segmentation on original and decoded frames.

Pipeline (scikit-image, one for all codecs; parameters per modality):
- fluorescence (GOWT1, HeLa): Gaussian smoothing (sigma 1.5), Otsu threshold, holes filled,
  objects under 30 px removed;
- brightfield (HSC): cells are textured, not bright, so the thresholded image is the local
  standard deviation (7x7 window) of the smoothed frame (sigma 1), Otsu threshold, 5x5 closing,
  holes filled, objects under 30 px removed;
then in both cases a distance-transform watershed: markers at the maxima of the Euclidean
distance to the background (peak_local_max, min_distance 5), watershed of -distance inside the
foreground. Thresholds are computed on each image itself, as a user running the pipeline would.

Instance matching: a decoded object is a true positive when its IoU with an object of the
original's segmentation exceeds 0.5 (such matches are unique). Tracking: centroids linked frame
to frame by mutual nearest neighbours within 25 px; a decoded link is correct when an original
link has both ends within 5 px of it.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_AREA = 30
LINK_DISTANCE = 25.0
LINK_TOLERANCE = 5.0


def segment(frame: np.ndarray, modality: str) -> np.ndarray:
    from common import drop_small
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max
    from skimage.filters import threshold_otsu
    from skimage.measure import label
    from skimage.segmentation import watershed

    image = frame.astype(np.float32)
    if modality == "brightfield":
        smooth = cv2.GaussianBlur(image, (0, 0), 1.0)
        mean = cv2.blur(smooth, (7, 7))
        sq = cv2.blur(smooth * smooth, (7, 7))
        feature = np.sqrt(np.maximum(sq - mean * mean, 0))
    else:
        feature = cv2.GaussianBlur(image, (0, 0), 1.5)
    fg = feature > threshold_otsu(feature)
    if modality == "brightfield":
        fg = cv2.morphologyEx(
            fg.astype(np.uint8),
            cv2.MORPH_CLOSE,
            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)),
        ).astype(bool)
    fg = ndi.binary_fill_holes(fg)
    fg = drop_small(fg, MIN_AREA)
    if not fg.any():
        return np.zeros(frame.shape, np.int32)
    distance = ndi.distance_transform_edt(fg)
    components = label(fg)
    peaks = peak_local_max(distance, min_distance=5, labels=components, exclude_border=False)
    markers = np.zeros(frame.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # Components without a peak keep one marker so no object disappears.
    missing = np.setdiff1d(np.unique(components[fg]), np.unique(components[tuple(peaks.T)]))
    for i, lab in enumerate(missing, start=len(peaks) + 1):
        ys, xs = np.nonzero(components == lab)
        markers[ys[0], xs[0]] = i
    return watershed(-distance, markers, mask=fg).astype(np.int32)


def match_instances(reference: np.ndarray, test: np.ndarray, iou: float = 0.5) -> dict:
    """Precision, recall, F1 of `test` objects against `reference` objects at IoU > `iou`."""
    ref = reference.ravel().astype(np.int64)
    tst = test.ravel().astype(np.int64)
    n_ref, n_tst = int(ref.max()), int(tst.max())
    area_ref = np.bincount(ref, minlength=n_ref + 1)
    area_tst = np.bincount(tst, minlength=n_tst + 1)
    n_ref_obj = int((area_ref[1:] > 0).sum())
    n_tst_obj = int((area_tst[1:] > 0).sum())
    both = (ref > 0) & (tst > 0)
    pairs = ref[both] * (n_tst + 1) + tst[both]
    keys, inter = np.unique(pairs, return_counts=True)
    r, t = keys // (n_tst + 1), keys % (n_tst + 1)
    ious = inter / (area_ref[r] + area_tst[t] - inter)
    tp = int((ious > iou).sum())
    return {"tp": tp, "n_reference": n_ref_obj, "n_test": n_tst_obj}


def centroids(labels: np.ndarray) -> np.ndarray:
    flat = labels.ravel()
    n = int(flat.max())
    if n == 0:
        return np.zeros((0, 2))
    ys, xs = np.indices(labels.shape)
    area = np.bincount(flat, minlength=n + 1)
    cy = np.bincount(flat, weights=ys.ravel(), minlength=n + 1)
    cx = np.bincount(flat, weights=xs.ravel(), minlength=n + 1)
    keep = area[1:] > 0
    return np.stack([cy[1:][keep] / area[1:][keep], cx[1:][keep] / area[1:][keep]], axis=1)


def link(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mutual nearest-neighbour links (rows: ya, xa, yb, xb) within LINK_DISTANCE."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((0, 4))
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    ab, ba = d.argmin(1), d.argmin(0)
    rows = [np.r_[a[i], b[j]] for i, j in enumerate(ab) if ba[j] == i and d[i, j] <= LINK_DISTANCE]
    return np.array(rows).reshape(-1, 4)


def match_links(reference: np.ndarray, test: np.ndarray) -> dict:
    used = np.zeros(len(reference), bool)
    tp = 0
    for row in test:
        if len(reference) == 0:
            break
        d = np.maximum(
            np.linalg.norm(reference[:, :2] - row[:2], axis=1),
            np.linalg.norm(reference[:, 2:] - row[2:], axis=1),
        )
        d[used] = np.inf
        j = int(d.argmin())
        if d[j] <= LINK_TOLERANCE:
            used[j] = True
            tp += 1
    return {"tp": tp, "n_reference": len(reference), "n_test": len(test)}


def prf(counts: dict) -> dict:
    p = counts["tp"] / counts["n_test"] if counts["n_test"] else float("nan")
    r = counts["tp"] / counts["n_reference"] if counts["n_reference"] else float("nan")
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"precision": p, "recall": r, "f1": f, **counts}


def evaluate(case, originals: dict, decoded: dict) -> dict:
    """decoded: {(config, rate): {t: frame}} -> {config: {rate: {segmentation, tracking}}}."""
    frames = sorted(originals)
    seg_orig = {t: segment(originals[t], case.modality) for t in frames}
    links_orig = [
        link(centroids(seg_orig[a]), centroids(seg_orig[b]))
        for a, b in zip(frames, frames[1:], strict=False)
    ]
    out: dict = {"objects_per_frame": float(np.mean([seg_orig[t].max() for t in frames]))}
    for (config, rate), clip in decoded.items():
        seg = {t: segment(clip[t], case.modality) for t in frames}
        total = {"tp": 0, "n_reference": 0, "n_test": 0}
        for t in frames:
            m = match_instances(seg_orig[t], seg[t])
            for k in total:
                total[k] += m[k]
        links = [
            link(centroids(seg[a]), centroids(seg[b]))
            for a, b in zip(frames, frames[1:], strict=False)
        ]
        ltotal = {"tp": 0, "n_reference": 0, "n_test": 0}
        for ref, tst in zip(links_orig, links, strict=True):
            m = match_links(ref, tst)
            for k in ltotal:
                ltotal[k] += m[k]
        out.setdefault(config, {})[str(rate)] = {
            "segmentation": prf(total),
            "tracking": prf(ltotal),
        }
    return out
