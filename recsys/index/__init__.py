"""Top-k search over item embeddings: exact, or approximate (HNSW, faiss), with filtering.

Both indexes answer ``search(queries, k, exclude=None, allowed=None)`` with the best ``k`` items
by inner product per query, never an excluded or disallowed item, and never fewer than ``k``
when ``k`` valid items exist (``-1`` pads shorter lists).
"""

from recsys.index.base import VectorIndex
from recsys.index.exact import ExactIndex, exact_search
from recsys.index.hnsw import HNSWIndex

__all__ = ["ExactIndex", "HNSWIndex", "VectorIndex", "exact_search"]
