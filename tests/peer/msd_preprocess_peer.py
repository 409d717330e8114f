"""NumPy/SciPy/nibabel peer of the MSD preprocessing (src/UNet.Segmentation.Core/Data/Msd,
tests/UNet.Segmentation.Tests/Data/MsdPreprocessPeerTests.cs): the same steps computed
independently, after NVIDIA nnU-Net's data_preprocessing/preprocessor.py, with linear
interpolation (the C# library's choice) where the reference interpolates cubically.

usage: /usr/bin/python3 msd_preprocess_peer.py task TASKDIR OUTDIR D,H,W
         reads TASKDIR/dataset.json and every training case with nibabel, computes the plan
         (target spacing; CT statistics for a CT task) and preprocesses every training case.
         Writes OUTDIR/plan.json and per case OUTDIR/{id}.f32 (C,D,H,W float32, little-endian),
         OUTDIR/{id}.u8 (D,H,W uint8) and OUTDIR/{id}.json (crop box, shapes, coarse axis, padding).
       /usr/bin/python3 msd_preprocess_peer.py folds N K SEED
         prints scikit-learn's KFold(n_splits=K, shuffle=True, random_state=SEED) splits of N
         items as JSON [[train, val], ...], computed as KFold does (sklearn is not installed here).
"""
import json
import math
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage


def load(path):
    img = nib.load(path)
    spacing = [float(v) for v in img.header["pixdim"][1:4]][::-1]  # (z, y, x), as the reference
    data = img.get_fdata()
    if data.ndim == 3:
        data = data[..., None]
    return np.transpose(data, (3, 2, 1, 0)), spacing  # (C, Z, Y, X)


def target_spacing(spacings):
    spacings = np.array(spacings)
    target = np.median(spacings, axis=0)
    if max(target) / min(target) >= 3:
        axis = np.argmin(target)
        target[axis] = np.percentile(spacings[:, axis], 10)
    return [float(v) for v in target]


def anisotropic(s):
    return max(s) / min(s) >= 3


def coarse_axis(spacing, target):
    s = spacing if anisotropic(spacing) else target if anisotropic(target) else None
    return None if s is None else int(np.argmax(s))


def coordinates(n, m, nearest):
    j = np.arange(m, dtype=np.float64)
    if nearest:
        return np.minimum(np.floor((j + 0.5) * n / m), n - 1)
    return (j + 0.5) * n / m - 0.5  # map_coordinates' mode="nearest" repeats the edge beyond [0, n-1]


def resample(volume, shape, coarse):
    """volume: (Z, Y, X) float64; linear by map_coordinates (order 1), nearest along coarse."""
    axes = [coordinates(volume.shape[a], shape[a], a == coarse) for a in range(3)]
    grid = np.meshgrid(*axes, indexing="ij")
    return ndimage.map_coordinates(volume, np.stack(grid), order=1, mode="nearest", prefilter=False)


def preprocess(image, label, spacing, target, patch, ct):
    positive = np.any(image > 0, axis=0)
    where = np.nonzero(positive)
    start = [int(w.min()) for w in where]
    end = [int(w.max()) + 1 for w in where]
    sl = tuple(slice(s, e) for s, e in zip(start, end))
    image = image[(slice(None),) + sl]
    label = label[sl]
    coarse = None
    if spacing != target:
        shape = [int(v) for v in (np.array(spacing) / np.array(target) * np.array(image.shape[1:])).astype(int)]
        shape = [max(1, s) for s in shape]
        coarse = coarse_axis(spacing, target)
        image = np.stack([resample(c.astype(np.float64), shape, coarse) for c in image]).astype(np.float32)
        out = np.zeros(shape, dtype=np.uint8)
        for c in range(1, int(label.max()) + 1):
            mask = resample((label == c).astype(np.float64), shape, coarse)
            out[mask >= 0.5] = c
        label = out
    resampled = list(image.shape[1:])
    image = image.astype(np.float64)
    if ct is not None:
        image = (np.clip(image, ct["min"], ct["max"]) - ct["mean"]) / ct["std"]
    else:
        for c in range(image.shape[0]):
            nz = image[c] != 0
            if nz.any():
                mean, std = image[c][nz].mean(), image[c][nz].std()
                image[c][nz] = (image[c][nz] - mean) / (std if std != 0 else 1.0)
    image = image.astype(np.float32)
    pad = [max(p, s) - s for p, s in zip(patch, image.shape[1:])]
    before = [math.floor(p / 2) for p in pad]
    after = [math.ceil(p / 2) for p in pad]
    image = np.pad(image, [(0, 0)] + list(zip(before, after)))
    label = np.pad(label, list(zip(before, after)))
    meta = {"cropStart": start, "cropEnd": end, "resampledShape": resampled, "coarseAxis": coarse,
            "paddingBefore": before, "shape": list(image.shape[1:])}
    return image, label, meta


def task(folder, out, patch):
    meta = json.load(open(os.path.join(folder, "dataset.json")))
    cases = [(os.path.join(folder, c["image"]), os.path.join(folder, c["label"])) for c in meta["training"]]
    spacings = [load_spacing(i) for i, _ in cases]
    target = target_spacing(spacings)
    ct = None
    if meta["modality"]["0"] == "CT":
        values = []
        for i, l in cases:
            image = nib.load(i).get_fdata().astype(np.float32)
            label = nib.load(l).get_fdata().astype(np.uint8)
            values.append(image[label > 0])
        values = np.concatenate(values).astype(np.float64)
        lo, hi = np.percentile(values, [0.5, 99.5])
        ct = {"min": float(lo), "max": float(hi), "mean": float(np.mean(values)), "std": float(np.std(values))}
    os.makedirs(out, exist_ok=True)
    json.dump({"targetSpacing": target, "ct": ct}, open(os.path.join(out, "plan.json"), "w"))
    for i, l in cases:
        image, spacing = load(i)
        label = np.transpose(nib.load(l).get_fdata().astype(np.uint8), (2, 1, 0))
        x, y, m = preprocess(image.astype(np.float32), label, spacing, target, patch, ct)
        name = os.path.basename(i).replace(".nii.gz", "")
        x.astype("<f4").tofile(os.path.join(out, name + ".f32"))
        y.astype(np.uint8).tofile(os.path.join(out, name + ".u8"))
        json.dump(m, open(os.path.join(out, name + ".json"), "w"))
    print(json.dumps({"targetSpacing": target, "ct": ct, "cases": len(cases)}))


def load_spacing(path):
    return [float(v) for v in nib.load(path).header["pixdim"][1:4]][::-1]


def folds(n, k, seed):
    indices = np.arange(n)
    np.random.RandomState(seed).shuffle(indices)
    sizes = np.full(k, n // k, dtype=int)
    sizes[: n % k] += 1
    result, current = [], 0
    for size in sizes:
        val = np.sort(indices[current:current + size])
        mask = np.ones(n, dtype=bool)
        mask[val] = False
        result.append([np.arange(n)[mask].tolist(), val.tolist()])
        current += size
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1] == "task":
        task(sys.argv[2], sys.argv[3], [int(v) for v in sys.argv[4].split(",")])
    elif sys.argv[1] == "folds":
        folds(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
