"""The ranking layer: the one top-k + filtering kernel, the index protocol and thread helpers.

It knows score blocks, vectors and masks, never models: families hand it dense scores
(:func:`top_k`) or query vectors (an :class:`Index`: :class:`ExactIndex`, or the approximate
:class:`HNSWIndex` on faiss). Every answer is sorted by score, ties broken by item position,
never holds an excluded or disallowed item, and is padded with ``-1`` / NaN only when fewer
than ``k`` valid items exist.
"""

from recsys.ranking.exact import ExactIndex
from recsys.ranking.hnsw import HNSWIndex
from recsys.ranking.index import Index, VectorIndex
from recsys.ranking.threads import blas_threads, omp_threads
from recsys.ranking.topk import PAD, take_rows, top_k

__all__ = ["PAD", "ExactIndex", "HNSWIndex", "Index", "VectorIndex", "blas_threads",
           "omp_threads", "take_rows", "top_k"]
