"""Straightforward Python/numpy scorers for bench/score.ts: GAP and MAP@5 over a Kaggle solution
(with Usage) and a submission, read with the csv module. Prints one JSON line:
{"score", "public", "private", "seconds", "max_rss_mb"}."""
import csv
import json
import resource
import sys
import time

import numpy as np


def read_rows(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            yield row


def gap(ids, truths, predictions):
    """ids: image ids; truths: sets of labels; predictions: (label, confidence) or None; one per image."""
    m = sum(1 for t in truths if t)
    if m == 0:
        return None
    keys, labels, confidences, correct = [], [], [], []
    for image_id, t, p in zip(ids, truths, predictions):
        if p is None:
            continue
        keys.append(image_id)
        labels.append(p[0])
        confidences.append(p[1])
        correct.append(p[0] in t)
    if not keys:
        return 0.0
    order = np.lexsort((np.array(labels), np.array(keys), -np.array(confidences)))
    hits = np.array(correct, dtype=np.float64)[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(np.sum(precision * hits) / m)


def apk(actual, predicted, k=5):
    predicted = predicted[:k]
    score, hits = 0.0, 0
    for i, p in enumerate(predicted):
        if p in actual and p not in predicted[:i]:
            hits += 1
            score += hits / (i + 1.0)
    return score / min(len(actual), k)


def map5(ids, truths, predictions):
    if not truths:
        return None
    return float(np.mean([apk(t, p) for t, p in zip(truths, predictions)]))


metric, solution_path, submission_path = sys.argv[1:4]
start = time.perf_counter()
row_of, ids, truths, usages = {}, [], [], []
for image_id, truth, usage in read_rows(solution_path):
    row_of[image_id] = len(truths)
    ids.append(image_id)
    truths.append(set(truth.split()))
    usages.append(usage)
predictions = [None] * len(truths)
for image_id, prediction in read_rows(submission_path):
    tokens = prediction.split()
    if metric == "gap":
        predictions[row_of[image_id]] = (tokens[0], float(tokens[1])) if tokens else None
    else:
        predictions[row_of[image_id]] = tokens
score = gap if metric == "gap" else map5


def subset(keep):
    rows = [i for i, u in enumerate(usages) if keep(u)]
    if not rows:
        return None
    return score([ids[i] for i in rows], [truths[i] for i in rows], [predictions[i] for i in rows])


result = {
    "score": subset(lambda u: u != "Ignored"),
    "public": subset(lambda u: u == "Public"),
    "private": subset(lambda u: u == "Private"),
}
result["seconds"] = time.perf_counter() - start
result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
