"""faiss searches without its Python wrapper: the one use of faiss's SWIG layer.

faiss's ``Index.search`` wrapper checks and allocates what :mod:`recsys.ranking.hnsw` has
done already; on one query at a million items that is a tenth of the time of a graph walk.
:func:`search` calls the C++ ``search_c`` directly on faiss versions it was tested on
(``TESTED_FAISS``) and takes the public wrapper otherwise, with identical answers.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

# faiss releases on which the direct call was verified (major, minor), inclusive.
TESTED_FAISS = ((1, 8), (1, 15))


def search(index: Any, queries: np.ndarray, k: int,
           params: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, inner products)`` of ``index``'s best ``k`` for C-contiguous float32
    ``queries`` (positions -1 when the walk found fewer)."""
    n_queries = len(queries)
    values = np.empty((n_queries, k), np.float32)
    found = np.empty((n_queries, k), np.int64)
    if direct_supported():
        import faiss

        index.search_c(n_queries, faiss.swig_ptr(queries), k, faiss.swig_ptr(values),
                       faiss.swig_ptr(found), params)
    else:
        index.search(queries, k, params=params, D=values, I=found)
    return found, values


@functools.cache
def direct_supported(version: str | None = None) -> bool:
    """Whether this faiss (or ``version``) is one the direct call was tested on."""
    import faiss

    text = faiss.__version__ if version is None else version
    try:
        major, minor = (int(part) for part in text.split(".")[:2])
    except ValueError:
        return False
    low, high = TESTED_FAISS
    return low <= (major, minor) <= high and hasattr(faiss, "swig_ptr")
