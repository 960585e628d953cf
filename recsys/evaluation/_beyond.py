"""Beyond-accuracy kernels: how popular, novel, varied and personal the lists are, and AUC.

They share the accuracy kernels' conventions (``recommended`` with -1 padding, only the
first k columns read, a sequence of k returns ``{k: values}``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.errors import ConfigError, DataError
from recsys.ranking._accuracy import coverage
from recsys.ranking._hits import _hit_index
from recsys.ranking._metric_input import (
    Ks,
    Scores,
    _as_recommended,
    _as_relevant,
    _check_items,
    _divide,
    _lists,
    _positive_int,
)

BEYOND_METRICS = ("novelty", "arp", "diversity")  # the per-user ones evaluate(beyond=True) adds



def _popularity_counts(popularity: Any, n_users: int | None) -> tuple[np.ndarray, int | None]:
    """Users per item and the number of users, from a train matrix or a 1-D count array."""
    if sp.issparse(popularity):
        train = popularity.tocsr()
        # A user "interacted" with an item when the stored value is positive (as for relevance).
        positive = train.data > 0
        counts = np.bincount(train.indices[positive], minlength=train.shape[1])
        return counts.astype(np.float64), train.shape[0] if n_users is None else n_users
    counts = np.asarray(popularity, dtype=np.float64)
    if counts.ndim != 1:
        raise DataError(
            "popularity must be the train matrix (users x items) or a 1-D array of users per "
            f"item; got shape {counts.shape}"
        )
    if counts.size and (not np.isfinite(counts).all() or counts.min() < 0):
        raise DataError("popularity counts must be finite and >= 0")
    return counts, n_users


def _mean_over_lists(top: np.ndarray, value: np.ndarray, ks: tuple[int, ...]) -> dict:
    """Per user, the mean of ``value[item]`` over the listed (non-padding) items of the top k;
    NaN for an empty list."""
    # value gets one extra slot that padding (-1) reads: it indexes the last element.
    table = np.append(value, 0.0)
    valid = np.cumsum(top >= 0, axis=1)
    total = np.cumsum(table[top], axis=1)
    return {kk: _divide(total[:, kk - 1], valid[:, kk - 1].astype(np.float64)) for kk in ks}


def novelty(
    recommended: Any, popularity: Any, k: Ks = 10, n_users: int | None = None
) -> Scores:
    """Novelty at k per user: mean self-information of the recommended items.

    The self-information of item i is ``-log2(p_i)`` with ``p_i`` the share of training users
    who interacted with it (Zhou et al., 2010): a list of blockbusters scores near 0, a list of
    niche items near ``log2(n_users)``. Items no training user interacted with count as seen
    once (``p_i = 1 / n_users``) so that the value stays finite.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists (padding is skipped).
    popularity : scipy.sparse matrix (train users x items), or 1-D array of users per item
        The training interactions (stored values > 0 count) or the counts themselves.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.
    n_users : int, optional
        Number of training users; required when ``popularity`` is a count array, taken from
        the matrix otherwise.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k
        NaN for a user whose top k holds no item. A repeated item counts every time it is
        listed (it is shown every time).

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([8, 2, 1, 0])  # users per item, out of 8 training users
    >>> novelty(np.array([[0, 1], [2, 3]]), counts, k=2, n_users=8)  # (0 + 2) / 2, (3 + 3) / 2
    array([1., 3.])
    """
    counts, total_users = _popularity_counts(popularity, n_users)
    if total_users is None:
        raise ConfigError("novelty needs n_users when popularity is an array of counts")
    total_users = _positive_int("n_users", total_users)
    top, ks, scalar = _lists(recommended, counts.size, k)
    information = np.log2(total_users) - np.log2(np.maximum(counts, 1.0))
    out = _mean_over_lists(top, information, ks)
    return out[ks[0]] if scalar else out


def average_recommended_popularity(recommended: Any, popularity: Any, k: Ks = 10) -> Scores:
    """Average recommended popularity (ARP) at k per user: the mean number of training users
    who interacted with each recommended item (Abdollahpouri et al., 2019).

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists (padding is skipped).
    popularity : scipy.sparse matrix (train users x items), or 1-D array of users per item
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k
        NaN for a user whose top k holds no item.

    Examples
    --------
    >>> import numpy as np
    >>> average_recommended_popularity(np.array([[0, 1], [2, -1]]), np.array([8, 2, 1]), k=2)
    array([5., 1.])
    """
    counts, _ = _popularity_counts(popularity, None)
    top, ks, scalar = _lists(recommended, counts.size, k)
    out = _mean_over_lists(top, counts, ks)
    return out[ks[0]] if scalar else out


def _unit_rows(vectors: Any) -> tuple[sp.csr_matrix | np.ndarray, np.ndarray]:
    """Rows scaled to unit L2 norm (zero rows stay zero), and which rows are non-zero."""
    matrix = getattr(vectors, "matrix", vectors)  # a recsys Features object
    if sp.issparse(matrix):
        matrix = sp.csr_matrix(matrix, dtype=np.float64)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    else:
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2:
            raise DataError(
                f"item_vectors must be a 2-D (n_items, n_features) matrix; got {matrix.shape}"
            )
        norms = np.linalg.norm(matrix, axis=1)
    if not np.isfinite(norms).all():
        row = int(np.flatnonzero(~np.isfinite(norms))[0])
        raise DataError(f"item_vectors row {row} holds NaN or inf")
    nonzero = norms > 0
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=nonzero)
    if sp.issparse(matrix):
        return sp.diags(scale) @ matrix, nonzero
    return matrix * scale[:, None], nonzero


def _indicator(top: np.ndarray, n_items: int) -> sp.csr_matrix:
    """(n_users, n_items) matrix counting how often each item is listed in each row."""
    valid = top >= 0
    rows = np.broadcast_to(np.arange(top.shape[0])[:, None], top.shape)[valid]
    out = sp.csr_matrix(
        (np.ones(rows.size), (rows, top[valid])), shape=(top.shape[0], n_items)
    )
    out.sum_duplicates()
    return out


def intra_list_diversity(recommended: Any, item_vectors: Any, k: Ks = 10) -> Scores:
    """Intra-list diversity at k per user: 1 - mean pairwise cosine similarity of the listed
    items (Ziegler et al., 2005), from item features or item embeddings.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists (padding is skipped).
    item_vectors : array or scipy.sparse matrix, shape (n_items, n_features), or Features
        One row per item: one-hot features, TF-IDF, learned factors, or the item columns of
        the training matrix. Rows are L2-normalised here.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k
        In [0, 1] for non-negative vectors (up to 2 for embeddings with negative cosines).
        NaN for a user with fewer than two listed items. An item whose vector is all zeros
        has similarity 0 to every item; a repeated item has similarity 1 to its copy.

    Notes
    -----
    No loop over pairs: with unit vectors v, the sum of the similarities of all ordered pairs
    of a list is ``||sum v||^2 - sum ||v||^2``, so one sparse product (lists x items) @
    (items x features) gives every user's value in O(n_users * k * n_features) time.

    Examples
    --------
    >>> import numpy as np
    >>> vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # items 0 and 1 alike
    >>> intra_list_diversity(np.array([[0, 1], [0, 2], [0, 1]]), vectors, k=[2])
    {2: array([0., 1., 0.])}
    >>> intra_list_diversity(np.array([[0, 1, 2]]), vectors, k=3)  # pairs 1, 0, 0 -> 1 - 1/3
    array([0.66666667])
    """
    unit, nonzero = _unit_rows(item_vectors)
    top, ks, scalar = _lists(recommended, unit.shape[0], k)
    out = {}
    for kk in ks:
        lists = _indicator(top[:, :kk], unit.shape[0])
        summed = lists @ unit
        if sp.issparse(summed):
            squared = np.asarray(summed.multiply(summed).sum(axis=1)).ravel()
        else:
            squared = np.einsum("ij,ij->i", summed, summed)
        self_similarity = lists @ nonzero.astype(np.float64)  # ||v||^2 is 1 or 0
        n_listed = np.count_nonzero(top[:, :kk] >= 0, axis=1).astype(np.float64)
        pairs = n_listed * (n_listed - 1.0)
        out[kk] = 1.0 - _divide(squared - self_similarity, pairs)
    return out[ks[0]] if scalar else out


# The share of the catalog that appears in any list: what the literature calls catalog coverage.
catalog_coverage = coverage


def _exposure(top: np.ndarray, n_items: int) -> np.ndarray:
    return np.bincount(top[top >= 0], minlength=n_items).astype(np.float64)


def gini_index(recommended: Any, n_items: int, k: Ks = 10) -> float | dict[int, float]:
    """Gini index of item exposure at k: how unequally the top-k slots are spread over the
    catalog (0: every item listed equally often; towards 1: a few items take every slot).

    With ``x_1 <= ... <= x_n`` the number of top-k lists holding each of the ``n_items``
    items (never-listed items count with 0), ``G = sum_i (2i - n - 1) x_i / (n sum_i x_i)``.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists (padding is skipped).
    n_items : int
        Size of the catalog.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: value}``.

    Returns
    -------
    float in [0, 1 - 1/n_items], or dict of them keyed by k
        NaN when no item is listed at all.

    Examples
    --------
    >>> import numpy as np
    >>> gini_index(np.array([[0, 1], [1, 0]]), n_items=2, k=2)  # equal exposure
    0.0
    >>> gini_index(np.array([[0], [0]]), n_items=4, k=1)  # one item takes every slot
    0.75
    """
    n_items = _positive_int("n_items", n_items)
    top, ks, scalar = _lists(recommended, n_items, k)
    weight = 2.0 * np.arange(1, n_items + 1) - n_items - 1.0
    out = {}
    for kk in ks:
        exposure = np.sort(_exposure(top[:, :kk], n_items))
        total = exposure.sum()
        out[kk] = float(weight @ exposure / (n_items * total)) if total > 0 else float("nan")
    return out[ks[0]] if scalar else out


def personalization(
    recommended: Any, k: Ks = 10, per_user: bool = False
) -> float | np.ndarray | dict:
    """Personalization at k: 1 - mean overlap between the top-k lists of two different users.

    The overlap of two lists is the cosine similarity of their item sets,
    ``|a & b| / sqrt(|a| |b|)`` (``|a & b| / k`` for full lists). 0 means every user gets the
    same list, 1 that no two users share an item.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists. Users with an empty list are left out;
        an item repeated in a list counts once.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: value}``.
    per_user : bool, default False
        Return each user's 1 - mean overlap with every other user instead of the mean over
        users (the overall value is the mean of the per-user ones; NaN for empty lists).

    Returns
    -------
    float, or numpy.ndarray (per_user), or dict of them keyed by k
        NaN with fewer than two non-empty lists.

    Notes
    -----
    No user x user matrix is formed and no users are sampled: with each list a unit vector
    ``r_u`` over items, the sum of all pairwise overlaps is ``||sum_u r_u||^2 - n_users``, so
    the exact value costs O(n_users * k) time and O(n_items) extra memory.

    Examples
    --------
    >>> import numpy as np
    >>> personalization(np.array([[0, 1], [0, 1], [0, 1]]), k=2)  # identical lists
    0.0
    >>> personalization(np.array([[0, 1], [0, 2], [3, 4]]), k=2)  # overlaps 1/2, 0, 0
    0.8333333333333334
    """
    top, ks, scalar = _lists(recommended, np.iinfo(np.int64).max, k)
    n_items = int(top.max()) + 1 if top.size else 0
    out: dict = {}
    for kk in ks:
        # Order inside a list does not matter for overlap: sort to blank out repeated items.
        lists = np.sort(top[:, :kk], axis=1)
        if kk > 1:
            repeated = lists[:, 1:] == lists[:, :-1]
            lists[:, 1:][repeated] = -1
        size = np.count_nonzero(lists >= 0, axis=1)
        active = size > 0
        n_active = int(active.sum())
        if n_active < 2:
            out[kk] = np.full(top.shape[0], np.nan) if per_user else float("nan")
            continue
        # Group the users by list size s: within a group the overlaps are integer counts,
        # so identical lists give exactly 0 rather than a rounding residue of 1/sqrt(s).
        sizes, group = np.unique(size[active], return_inverse=True)
        valid = lists[active] >= 0
        rows = np.broadcast_to(group[:, None], valid.shape)[valid]
        counts = np.bincount(rows * n_items + lists[active][valid],
                             minlength=len(sizes) * n_items).reshape(len(sizes), n_items)
        counts = counts.astype(np.float64)
        norm = np.sqrt(np.outer(sizes, sizes).astype(np.float64))
        if per_user:
            # Overlap of user u with every user (itself included: 1), summed per size group.
            dot = np.zeros(top.shape[0])
            for g, s in enumerate(sizes):
                column = np.append(counts[g], 0.0)  # padding (-1) reads the last slot
                dot += column[lists].sum(axis=1) / np.sqrt(np.maximum(size, 1) * float(s))
            out[kk] = np.where(active, 1.0 - (dot - 1.0) / (n_active - 1), np.nan)
        else:
            total = float(((counts @ counts.T) / norm).sum())
            out[kk] = float(1.0 - (total - n_active) / (n_active * (n_active - 1.0)))
    return out[ks[0]] if scalar else out


def full_ranking(scores: Any, exclude: Any = None) -> np.ndarray:
    """Turn dense scores into full rankings for :func:`auc`: every item, best first.

    Parameters
    ----------
    scores : array of float, shape (n_users, n_items)
        Finite scores; higher is better. Ties are broken by item index (lower first), as
        ``Recommender.recommend`` does.
    exclude : scipy.sparse matrix, shape (n_users, n_items), optional
        Items that are not candidates for a user (usually the training items): every stored
        entry is moved out of the ranking and becomes -1 padding at the end of the row.

    Returns
    -------
    numpy.ndarray of int64, shape (n_users, n_items)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> full_ranking(np.array([[0.1, 0.9, 0.5]]), exclude=sp.csr_matrix([[0, 0, 1]]))
    array([[ 1,  0, -1]])
    """
    values = np.array(scores, dtype=np.float64)  # a copy: excluded cells are overwritten
    if values.ndim != 2:
        raise DataError(f"scores must be a 2-D (n_users, n_items) array; got {values.shape}")
    if not np.isfinite(values).all():
        row, col = np.argwhere(~np.isfinite(values))[0]
        raise DataError(f"scores[{row}, {col}] = {values[row, col]}: scores must be finite")
    n_excluded = np.zeros(values.shape[0], dtype=np.int64)
    if exclude is not None:
        mask = sp.csr_matrix(exclude)
        if mask.shape != values.shape:
            raise DataError(f"exclude has shape {mask.shape}, scores {values.shape}")
        mask.eliminate_zeros()
        mask.sum_duplicates()
        rows = np.repeat(np.arange(mask.shape[0]), np.diff(mask.indptr))
        values[rows, mask.indices] = -np.inf  # after negation: sorts last
        n_excluded = np.diff(mask.indptr).astype(np.int64)
    order = np.argsort(-values, axis=1, kind="stable")
    order[np.arange(values.shape[1])[None, :] >= values.shape[1] - n_excluded[:, None]] = -1
    return order


def auc(recommended: Any, relevant: Any, missing: str = "worst") -> np.ndarray:
    """Area under the ROC curve per user, from full rankings (no cutoff).

    The probability that a relevant item is ranked above a non-relevant one, over all pairs
    of one relevant and one non-relevant candidate. The candidates of a user are the items in
    their row of ``recommended``, which must rank the whole catalog minus what the user may
    not be recommended (their training items): see :func:`full_ranking`, or
    ``model.recommend(users, k=model.n_items)``. A top-k list is not enough: AUC over a
    truncated or sampled ranking is a different (and misleading) number.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Full rankings, best first; -1 marks the items left out (anywhere in the row).
    relevant : scipy.sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items.
    missing : {"worst", "ignore"}, default "worst"
        Relevant items absent from a user's ranking (the model could not rank them): counted
        as ranked below every candidate, or left out of the computation.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,)
        NaN for a user without a relevant item or without a non-relevant candidate.

    Raises
    ------
    DataError
        An item is listed twice in one row (a ranking lists each candidate once), or the
        inputs are malformed as for the other kernels.

    Notes
    -----
    With ``q`` the position of a relevant item among the listed items and ``j`` the number
    of relevant items above it, ``q - j`` non-relevant items outrank it; the per-user sum is
    the Mann-Whitney U statistic. O(n_users * list_length) after the shared hit lookup.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> ranking = np.array([[2, 0, 3, 1], [0, 2, 1, -1]])
    >>> relevant = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 1, 1]]))
    >>> auc(ranking, relevant)  # user 1: item 2 beats 1 of 2 negatives, item 3 is missing
    array([1.  , 0.25])
    >>> auc(ranking, relevant, missing="ignore")
    array([1. , 0.5])
    """
    if missing not in ("worst", "ignore"):
        raise ConfigError(f"missing must be 'worst' or 'ignore'; got {missing!r}")
    arr = _as_recommended(recommended)
    width = arr.shape[1]
    rel = _as_relevant(relevant, arr.shape[0])
    n_users = rel.shape[0]
    if width == 0:
        return np.full(n_users, np.nan)
    top = _check_items(np.ascontiguousarray(arr), rel.shape[1], "the columns of relevant")
    ordered = np.sort(top, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    if repeated.any():
        row, col = np.argwhere(repeated)[0]
        raise DataError(
            f"recommended row {row} lists item {ordered[row, col]} twice; auc needs a ranking "
            "of distinct candidates"
        )
    user, position, _, _ = _hit_index(top, rel, width)
    listed = top >= 0
    n_listed = np.count_nonzero(listed, axis=1).astype(np.float64)
    listed_above = np.cumsum(listed, axis=1) - 1  # 0-based place among the listed items
    found = np.bincount(user, minlength=n_users).astype(np.float64)
    nth = np.arange(user.size) - (np.cumsum(found) - found)[user].astype(np.int64)
    negatives = n_listed - found
    below = negatives[user] - (listed_above[user, position] - nth)
    won = np.bincount(user, weights=below, minlength=n_users)
    n_positive = np.diff(rel.indptr).astype(np.float64) if missing == "worst" else found
    return _divide(won, n_positive * negatives)
