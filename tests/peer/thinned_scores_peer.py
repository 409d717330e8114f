"""The ISBI 2012 challenge's official scores, V_rand and V_info after border thinning, written from
the description of Fiji's Trainable_Segmentation (RandError.getMaximalVRandAfterThinning(0.0, 1.0,
0.1, true), VariationOfInformation.getMaximalVInfoAfterThinning(0.0, 1.0, 0.1), and the
WatershedTransform2D they thin with) in NumPy and SciPy: the independent check of
src/UNet.Segmentation.Core/Scoring/ThinnedScores.cs.

Kept in Fiji's shape on purpose: the flooding is the general Soille-Vincent loop over grey levels
(a pixel list sorted by value, ties in creation order x-major; MASK, INQUEUE and WSHED marks; one
global flag), not the two-level shortcut of the C#; new minima and the ground truth are labelled
by scipy.ndimage.label; the scores use Fiji's normalized p_ij, its tp / fp / fn and its
precision and recall rules, not counts.

usage: /usr/bin/python3 thinned_scores_peer.py PROBS.f32 LABELS.u8 PAGES HEIGHT WIDTH
(raw little-endian float32 and uint8 files, page-major then row-major; labels 0 / 255)
prints one JSON line: {"thresholds": [...], "v_rand": [...], "v_info": [...],
"v_rand_pages": [[...]], "v_info_pages": [[...]], "dams": [[...]]} (per threshold; the _pages and
dams lists hold one value per page; null where Fiji's arithmetic gives NaN).
       /usr/bin/python3 thinned_scores_peer.py --check   (exits 0 when NumPy and SciPy import)
"""
import json
import math
import sys
from collections import deque

import numpy as np
from scipy import ndimage

MASK, WSHED, INIT, INQUEUE = -2, 0, -1, -3
FOUR = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])


def watershed(image):
    """Fiji's WatershedTransform2D(image, 4).apply() on a 2-D uint8 image (image[y, x]); labels[y, x], 0 on dams."""
    height, width = image.shape
    lab = [[INIT] * height for _ in range(width)]  # lab[x][y], as Fiji's tabLabels
    values = image.T.ravel()  # creation order: x outer, y inner
    order = np.argsort(values, kind="stable")
    coords = [(int(k) // height, int(k) % height) for k in order]
    levels = values[order]

    def neighbours(x, y):  # left, up, right, down
        for u, v in ((x - 1, y), (x, y - 1), (x + 1, y), (x, y + 1)):
            if 0 <= u < width and 0 <= v < height:
                yield u, v

    current = 0
    flag = False
    fifo = deque()
    while current < len(coords):
        h = levels[current]
        end = current
        while end < len(coords) and levels[end] == h:
            end += 1
        for x, y in coords[current:end]:
            lab[x][y] = MASK
            if any(lab[u][v] >= WSHED for u, v in neighbours(x, y)):
                fifo.append((x, y))
                lab[x][y] = INQUEUE
        while fifo:
            x, y = fifo.popleft()
            for u, v in neighbours(x, y):
                n = lab[u][v]
                if n > 0:
                    if lab[x][y] == INQUEUE or (lab[x][y] == WSHED and flag):
                        lab[x][y] = n
                    elif lab[x][y] > 0 and lab[x][y] != n:
                        lab[x][y] = WSHED
                        flag = False
                elif n == WSHED:
                    if lab[x][y] == INQUEUE:
                        lab[x][y] = WSHED
                        flag = True
                elif n == MASK:
                    lab[u][v] = INQUEUE
                    fifo.append((u, v))
        # new minima: the 4-connected pieces of what is still MASK at this level get new labels
        mask = np.array(lab).T == MASK
        pieces, count = ndimage.label(mask, structure=FOUR)
        top = max(0, max(max(column) for column in lab))
        for y, x in zip(*np.nonzero(pieces)):
            lab[x][y] = top + int(pieces[y, x])
        current = end
    out = np.array(lab, dtype=np.int64).T
    out[out == INIT] = 0
    return out


def fiji_sums(truth, proposal):
    """Fiji's normalized sums over one slice: n, a_i (truth rows), b_j (proposal columns, j >= 1), p_ij (i, j >= 1), aux = sum p_i0."""
    n = float(np.count_nonzero(truth))
    keys, counts = np.unique(np.stack([truth.ravel(), proposal.ravel()]), axis=1, return_counts=True)
    p = {(int(i), int(j)): c / n for (i, j), c in zip(keys.T, counts)}
    a, b, aux, pij = {}, {}, 0.0, {}
    for (i, j), v in p.items():
        if i == 0:
            continue
        a[i] = a.get(i, 0.0) + v
        if j == 0:
            aux += v
        else:
            b[j] = b.get(j, 0.0) + v
            pij[(i, j)] = v
    return n, a, b, pij, aux


def v_rand(truth, proposal):
    n, a, b, pij, aux = fiji_sums(truth, proposal)
    sum_a2 = sum(v * v for v in a.values())
    sum_b2 = sum(v * v for v in b.values()) + aux / n
    sum_ab2 = sum(v * v for v in pij.values()) + aux / n
    n2 = n * n
    tp = n2 * sum_ab2
    fp = n2 * sum_b2 - tp
    fn = n2 * sum_a2 - tp
    precision = 1.0 if fp == 0 else tp / (tp + fp)
    recall = 1.0 if fn == 0 else tp / (tp + fn)
    return 2.0 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def v_info(truth, proposal):
    n, a, b, pij, aux = fiji_sums(truth, proposal)
    sum_a = sum(v * math.log(v) for v in a.values() if v != 0)
    sum_b = sum(v * math.log(v) for v in b.values() if v != 0) - aux * math.log(n)
    sum_ab = sum(v * math.log(v) for v in pij.values() if v != 0) - aux * math.log(n)
    ha, hb = -sum_a, -sum_b
    hab, hba = sum_b - sum_ab, sum_a - sum_ab
    precision = (ha - hab) / ha if ha != 0 else 0.0
    recall = (hb - hba) / hb if hb != 0 else 1.0
    if ha == 0:
        precision, recall = 0.0, 1.0
    if hb == 0:
        precision, recall = 1.0, 0.0
    if precision + recall == 0:
        return float("nan")  # Fiji's 0 / 0
    return 2.0 * precision * recall / (precision + recall)


def clean(value):
    """NaN (Fiji's 0 / 0) as JSON null."""
    return None if math.isnan(value) else value


def main(argv):
    if argv[1:] == ["--check"]:
        print(json.dumps({"numpy": np.__version__, "scipy": __import__("scipy").__version__}))
        return
    pages, height, width = int(argv[3]), int(argv[4]), int(argv[5])
    probs = np.fromfile(argv[1], dtype="<f4").reshape(pages, height, width).astype(np.float64)
    labels = np.fromfile(argv[2], dtype=np.uint8).reshape(pages, height, width).astype(np.float64)
    thresholds = []
    th = 0.0
    while th <= 1.0:  # Java: for (double th = 0.0; th <= 1.0; th += 0.1)
        thresholds.append(th)
        th += 0.1
    out = {"thresholds": thresholds, "v_rand": [], "v_info": [], "v_rand_pages": [], "v_info_pages": [], "dams": []}
    for th in thresholds:
        rand, info, dams = [], [], []
        for page in range(pages):
            truth, _ = ndimage.label(labels[page] > th, structure=FOUR)
            border = np.where(probs[page] > th, 0, 255).astype(np.uint8)
            proposal = watershed(border)
            rand.append(v_rand(truth, proposal))
            info.append(v_info(truth, proposal))
            dams.append(int(np.count_nonzero(proposal == 0)))
        out["v_rand"].append(clean(sum(rand) / pages))
        out["v_info"].append(clean(sum(info) / pages))
        out["v_rand_pages"].append([clean(v) for v in rand])
        out["v_info_pages"].append([clean(v) for v in info])
        out["dams"].append(dams)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
