"""The ISBI 2012 challenge's V_rand and V_info, written straight from the definition with NumPy
and plain Python (breadth-first labelling, a Counter of (predicted, true) pixel pairs, the scores
from the probabilities p_ij themselves): the independent check of
src/UNet.Segmentation.Core/Scoring/ChallengeScores.cs, which works from counts and a run-length
contingency table instead. Slow (a Python loop per pixel); meant for small stacks.

usage: /usr/bin/python3 challenge_scores_peer.py PROBS.f32 LABELS.u8 PAGES HEIGHT WIDTH
(raw little-endian float32 and uint8 files, page-major then row-major)
prints one JSON line: {"thresholds": [...], "v_rand": [...], "v_info": [...]} (one value per threshold).
"""
import json
import math
import sys
from collections import Counter, deque

import numpy as np


def components(mask):
    """4-connected components of a 2-D boolean mask: labels 1..n, 0 for background."""
    h, w = mask.shape
    labels = np.zeros((h, w), dtype=np.int64)
    n = 0
    for y in range(h):
        for x in range(w):
            if not mask[y, x] or labels[y, x]:
                continue
            n += 1
            labels[y, x] = n
            queue = deque([(y, x)])
            while queue:
                cy, cx = queue.popleft()
                for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                    if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not labels[ny, nx]:
                        labels[ny, nx] = n
                        queue.append((ny, nx))
    return labels


def entropy(probabilities):
    return -sum(p * math.log(p) for p in probabilities if p > 0)


def scores(probs, labels, threshold):
    pairs = Counter()
    singleton = 0
    for page in range(labels.shape[0]):
        truth = components(labels[page] > 127)
        predicted = components(probs[page] > np.float32(threshold))
        for y, x in zip(*np.nonzero(truth)):
            j = (page, int(truth[y, x]))
            i = (page, int(predicted[y, x]))
            if i[1] == 0:  # predicted membrane on a counted pixel: a segment of its own
                singleton += 1
                i = ("singleton", singleton)
            pairs[(i, j)] += 1
    n = sum(pairs.values())
    p = {key: count / n for key, count in pairs.items()}
    s, t = Counter(), Counter()
    for (i, j), value in p.items():
        s[i] += value
        t[j] += value
    v_rand = 2 * sum(v * v for v in p.values()) / (sum(v * v for v in s.values()) + sum(v * v for v in t.values()))
    hs, ht, hst = entropy(s.values()), entropy(t.values()), entropy(p.values())
    v_info = 1.0 if hs + ht == 0 else 2 * (hs + ht - hst) / (hs + ht)
    return v_rand, v_info


def main(argv):
    pages, height, width = int(argv[3]), int(argv[4]), int(argv[5])
    probs = np.fromfile(argv[1], dtype="<f4").reshape(pages, height, width)
    labels = np.fromfile(argv[2], dtype=np.uint8).reshape(pages, height, width)
    thresholds = [k / 10 for k in range(1, 10)]
    results = [scores(probs, labels, t) for t in thresholds]
    print(json.dumps({"thresholds": thresholds, "v_rand": [r[0] for r in results], "v_info": [r[1] for r in results]}))


if __name__ == "__main__":
    main(sys.argv)
