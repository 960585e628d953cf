"""Item-item pruning and RP3beta's beta search, timed in one process.

Rows:

- pruning: :func:`recsys.ranking.topk.top_k_entries` (a compiled heap pass per row,
  ``ranking/_kernels.py::top_entries_mask``) against the numpy way, a lexsort of every
  stored entry by (row, -value, column), on RP3beta's unpruned item x item walk product of
  MovieLens 100K (1,682 items, dense rows) and of a synthetic 20k-item catalog (sparse
  rows), k = 200. Both must keep the same entries (checked); ratio = numpy's seconds /
  ours, medians of ``--repeats``.
- RP3beta fit: an explicit ``beta=0.4`` against ``beta="auto"`` (one walk product, six
  prunings and a scoring of up to 10,000 validation users per penalty,
  ``ranking/heldout.py``), on MovieLens 100K and the synthetic catalog; ratio = auto's
  seconds / the fixed beta's (the price of the search), medians of ``--repeats``.

    .venv/bin/python benchmarks/item_item.py [--data ../shared/data] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import recsys as rs
from recsys.models.rp3beta import row_normalize
from recsys.ranking.topk import top_k_entries

K = 200


def numpy_prune(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The anchor: the k largest stored entries per row (ties: lower column) by a lexsort."""
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    keep = np.sort(order[(np.arange(matrix.nnz) - matrix.indptr[rows]) < k])
    indptr = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=matrix.shape[0]), out=indptr[1:])
    return sp.csr_matrix((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)


def walk_product(inter: rs.Interactions) -> sp.csr_matrix:
    """RP3beta's item -> user -> item product (alpha 1, no penalty), before pruning."""
    binary = sp.csr_matrix(inter.matrix > 0, dtype=np.float64)
    return sp.csr_matrix(row_normalize(sp.csr_matrix(binary.T)) @ row_normalize(binary))


def synthetic(seed: int = 0) -> rs.Interactions:
    rng = np.random.default_rng(seed)
    n = 2_000_000
    users = rng.integers(0, 100_000, n)
    items = np.minimum((rng.pareto(1.2, n) * 200).astype(int), 19_999)
    return rs.Interactions.from_arrays(users.astype(str), items.astype(str))


def median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sets = {"ml-100k": rs.datasets.movielens_100k(args.data / "ml-100k").interactions,
            "synthetic 100k x 20k": synthetic()}
    top_k_entries(sp.csr_matrix(np.ones((2, 3))), 1)  # compile (or load) the kernel first
    print(f"{'row':34s} {'ours s':>9s} {'anchor s':>9s} {'ratio':>7s}")
    for name, inter in sets.items():
        product = walk_product(inter)
        ours = top_k_entries(product, K)
        if (ours != numpy_prune(product, K)).nnz:
            raise SystemExit(f"{name}: pruning differs from the numpy reference")
        mine = median_seconds(lambda p=product: top_k_entries(p, K), args.repeats)
        anchor = median_seconds(lambda p=product: numpy_prune(p, K), args.repeats)
        print(f"{'prune k=200, ' + name:34s} {mine:9.3f} {anchor:9.3f} {anchor / mine:6.2f}x"
              f"   ({product.nnz:,} entries, numpy / ours)")
    for name, inter in sets.items():
        fixed = median_seconds(lambda i=inter: rs.RP3beta(beta=0.4).fit(i), args.repeats)
        auto = median_seconds(lambda i=inter: rs.RP3beta().fit(i), args.repeats)
        print(f"{'RP3beta fit, ' + name:34s} {auto:9.3f} {fixed:9.3f} {auto / fixed:6.2f}x"
              "   (beta='auto' / beta=0.4)")


if __name__ == "__main__":
    main()
