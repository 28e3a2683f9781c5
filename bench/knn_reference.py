"""Exact inner-product kNN with Debian's python3-faiss on the files bench/knn.ts wrote.
Usage: knn_reference.py <gallery.f32> <queries.f32> <dim> <k> <labels-out.i64>"""
import json
import resource
import sys
import time

import faiss
import numpy as np

gallery_path, queries_path, dim, k, labels_out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
gallery = np.fromfile(gallery_path, dtype=np.float32).reshape(-1, dim)
queries = np.fromfile(queries_path, dtype=np.float32).reshape(-1, dim)
started = time.perf_counter()
index = faiss.IndexFlatIP(dim)
index.add(gallery)
_, labels = index.search(queries, k)
seconds = time.perf_counter() - started
labels.astype(np.int64).tofile(labels_out)
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "faiss": faiss.__version__}))
