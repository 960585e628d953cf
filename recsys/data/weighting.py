"""Re-weighting of interaction matrices: BM25, TF-IDF, log confidence.

All functions are pure: they take a sparse matrix (rows = documents, e.g. users; columns =
terms, e.g. items) and return a new CSR float32 matrix with the same sparsity.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _csr_copy(matrix: sp.spmatrix) -> sp.csr_matrix:
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.sort_indices()
    return out


def _document_frequency_idf(matrix: sp.csr_matrix, smooth: bool) -> np.ndarray:
    n_docs = matrix.shape[0]
    df = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)
    if smooth:
        return np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    return np.log(n_docs) - np.log1p(df)


def tfidf(matrix: sp.spmatrix) -> sp.csr_matrix:
    """TF-IDF: each value times ``log((1 + n_rows) / (1 + df)) + 1`` of its column.

    Examples
    --------
    >>> m = sp.csr_matrix([[1.0, 1.0], [0.0, 1.0]])
    >>> w = tfidf(m).toarray()
    >>> bool(w[0, 0] > w[0, 1])  # the rarer column weighs more
    True
    """
    out = _csr_copy(matrix)
    out.data *= _document_frequency_idf(out, smooth=True)[out.indices].astype(np.float32)
    return out


def bm25(matrix: sp.spmatrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """Okapi BM25 weights: saturating term frequency, row-length normalisation, column IDF.

    ``w = idf * v * (k1 + 1) / (v + k1 * (1 - b + b * len(row) / mean_len))`` with
    ``idf = log(n_rows) - log(1 + df)``.

    Examples
    --------
    >>> m = sp.csr_matrix([[3.0, 1.0], [0.0, 1.0], [0.0, 2.0]])
    >>> bm25(m).shape
    (3, 2)
    """
    out = _csr_copy(matrix)
    lengths = np.diff(out.indptr)
    mean_length = max(lengths.mean(), 1e-12)
    length_norm = (1.0 - b) + b * lengths / mean_length
    row_of_entry = np.repeat(length_norm, lengths)
    idf = _document_frequency_idf(out, smooth=False)[out.indices]
    data = out.data.astype(np.float64)
    out.data = (idf * data * (k1 + 1.0) / (data + k1 * row_of_entry)).astype(np.float32)
    return out


def log_confidence(matrix: sp.spmatrix, alpha: float = 1.0, epsilon: float = 1.0) -> sp.csr_matrix:
    """Hu, Koren & Volinsky (2008) log confidence: ``1 + alpha * log(1 + v / epsilon)``.

    Examples
    --------
    >>> log_confidence(sp.csr_matrix([[0.0, 9.0]]), alpha=1.0).data.round(3).tolist()
    [3.303]
    """
    out = _csr_copy(matrix)
    out.data = (1.0 + alpha * np.log1p(out.data / epsilon)).astype(np.float32)
    return out
