"""The search behind a :class:`~recsys.models.hybrid.Hybrid`'s weights: every weight vector
of a grid (and candidate-list length) scored on a validation split, one kept.

It lives with the models so that a Hybrid can fit its own weights (``weights="auto"``)
without importing :mod:`recsys.evaluation`; :func:`fit_weights` is public as
:func:`recsys.fit_weights`, for a Hybrid fitted already. The metric kernels come from
:mod:`recsys.ranking`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_choice, check_int, check_real
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError, DataError
from recsys.models._fusion import Query, weighted_sum
from recsys.models.base import SCORE_BLOCK_CELLS
from recsys.ranking import _accuracy as kernels
from recsys.ranking.heldout import within_noise
from recsys.ranking.topk import PAD, take_rows, top_k

# The searched model is a fitted Hybrid, typed ``Any`` here: recsys.models.hybrid imports
# this module, so importing it back (even for type checking) would make an import cycle.
Hybrid = Any

LOG = logging.getLogger("recsys")

# Floors the search can put on the catalog coverage of the fusion it chooses.
COVERAGE_FLOORS = ("best_member",)

# Validation users whose per-user metric is kept to estimate the paired standard errors
# between trials (the means use every user): bounds memory to trials x this many floats.
SPREAD_SAMPLE = 20_000


def fit_weights(
    hybrid: Hybrid,
    valid: Interactions,
    *,
    metric: str = "ndcg",
    k: int = 10,
    step: float = 0.1,
    max_trials: int = 200,
    seed: int = 0,
    candidates: Sequence[int | None] | None = None,
    tolerance: float = 1.0,
    min_coverage: str | None = None,
) -> Hybrid:
    """Choose a fitted Hybrid's member weights (and candidate-list length) on a validation split.

    Tries every weight vector on the grid ``{0, step, 2 step, ..., 1}`` that sums to 1
    (a random sample of ``max_trials`` of them, always with the uniform weights and each
    member alone, when the grid is larger), each with every length in ``candidates``.
    Every trial is scored on the metric and on catalog coverage at ``k`` (the share of
    the items that reach at least one validation user's top ``k``). The best eligible
    trial on the metric (see ``min_coverage``; ties go to higher coverage) sets a bar, and
    the kept trial is the one with the weights closest to uniform (then the earlier length)
    among those within ``tolerance`` paired standard errors of it: what the validation
    split cannot tell apart is settled towards balance, which carries over to unseen data
    better than the argmax (:func:`select_trial` has the measurements). Members'
    normalised scores are computed once per batch of validation users and length, and
    reused for every weight vector.

    Parameters
    ----------
    hybrid : Hybrid
        A fitted Hybrid; its weights are set in place.
    valid : Interactions
        Held-out interactions of users the model was fitted on (matched by external ids;
        unknown users and entries also in the training data are left out).
    metric : {"ndcg", "recall", "precision", "map", "mrr", "hit_rate"}
    k : int
        Cut-off of the metric and of the coverage.
    step : float
        Grid resolution, in (0, 1].
    max_trials : int
        Most weight vectors to evaluate (per candidate-list length).
    seed : int
        Seed of the sample when the grid is larger than ``max_trials``.
    candidates : sequence of (int or None), optional
        Candidate-list lengths to try (see :class:`~recsys.models.hybrid.Hybrid`); None:
        only the Hybrid's own ``candidates``. A shorter list lets a member promote only the
        items it is surest of, so a member that leans to popular items cannot lift its
        mid-list popular items into everyone's top ``k``.
    tolerance : float
        Width of "as good as the best", in paired standard errors of the difference of
        the per-user metric (estimated on up to 20,000 validation users); 0 keeps the best
        trial on the metric.
    min_coverage : {"best_member", None}
        "best_member": only trials whose coverage is at least that of the best member
        alone (the one-member trial best on the metric) are eligible. That member alone
        is eligible, so on the validation split the chosen fusion is never below it on
        coverage: accuracy is not bought by narrowing the catalog. It was the default
        until it kept ALS alone on MovieLens 100K (the widest member, 0.013 below EASE on
        test, where balanced fusions were above both). None: every trial is eligible.

    Returns
    -------
    Hybrid
        ``hybrid`` itself, with ``weights_`` and ``candidates_`` set to the chosen trial and
        ``weight_search_`` holding every trial (one row per trial: the weights, the
        validation metric, the validation coverage and the candidate-list length, ``inf``
        for None). ``fit`` resets all three from the parameters: to refit on more data with
        what was found, ``set_params(weights=list(h.weights_), candidates=h.candidates_)``.

    Notes
    -----
    Cost: each member scores the validation users once per length, then one fusion and
    one top-k per trial; the coverage takes one boolean per trial and item.

    Examples
    --------
    >>> import recsys as rs
    >>> ds = rs.datasets.demo()
    >>> train, valid = rs.split.random(ds.interactions, test_size=0.2, seed=0)
    >>> hybrid = rs.Hybrid([rs.ItemKNN(), rs.Popularity()]).fit(train)
    >>> hybrid = rs.fit_weights(hybrid, valid, step=0.5, candidates=[20, 100])
    >>> hybrid.weights_.round(2).tolist() in ([1.0, 0.0], [0.5, 0.5], [0.0, 1.0])
    True
    >>> hybrid.candidates_ in (20, 100), hybrid.weight_search_.shape
    (True, (6, 5))
    """
    from recsys.models import hybrid as family  # hybrid.py imports this module

    if not isinstance(hybrid, family.Hybrid):
        raise ConfigError(f"fit_weights needs a Hybrid, got {type(hybrid).__name__}")
    hybrid._check_fitted()
    check_choice("metric", metric, kernels.CORE_METRICS)
    k = check_int("k", k)
    step = check_real("step", step, strict=True)
    if step > 1:
        raise ConfigError(f"step must be in (0, 1], got {step!r}")
    max_trials = check_int("max_trials", max_trials)
    tolerance = check_real("tolerance", tolerance)
    depths = _search_depths(hybrid, candidates)
    if min_coverage is not None:
        check_choice("min_coverage", min_coverage, COVERAGE_FLOORS)
    users, relevant = _validation_relevance(hybrid, valid)
    grid = np.asarray(_weight_grid(len(hybrid._member_list()), step, max_trials, seed))
    means, coverage, sample = _search(hybrid, users, relevant, grid, depths, metric, k, seed)
    # Trial t * len(depths) + d: weight vector t (most balanced first) at length d.
    weights = np.repeat(grid, len(depths), axis=0)
    alone = weights.max(axis=1) == 1.0
    spread = sample.reshape(len(weights), -1)
    best = select_trial(means.ravel(), coverage.ravel(), alone, spread=spread,
                        n_users=len(users), tolerance=tolerance, min_coverage=min_coverage)
    hybrid.weights_ = weights[best]
    hybrid.candidates_ = depths[best % len(depths)]
    lengths = np.tile([np.inf if d is None else float(d) for d in depths], len(grid))
    hybrid.weight_search_ = np.column_stack([weights, means.ravel(), coverage.ravel(), lengths])
    LOG.info("fit_weights: %s@%d %.4f, coverage@%d %.4f with weights %s and candidates %s "
             "(%d trials)", metric, k, means.ravel()[best], k, coverage.ravel()[best],
             np.round(hybrid.weights_, 3).tolist(), hybrid.candidates_, len(weights))
    return hybrid


def select_trial(
    metric: np.ndarray,
    coverage: np.ndarray,
    alone: np.ndarray,
    *,
    spread: np.ndarray | None = None,
    n_users: int | None = None,
    tolerance: float = 1.0,
    min_coverage: str | None = None,
) -> int:
    """The trial of a weight search that :func:`fit_weights` keeps.

    The eligible trial best on the metric (ties: higher coverage, then the earlier trial)
    sets the bar. Every eligible trial within ``tolerance`` paired standard errors of it is
    as good as the validation split can tell, and the earliest of those is kept: a search
    lists its trials most balanced weights first, and balanced weights carry over to unseen
    data better than the argmax (on the four data sets of ``benchmarks/defaults.py`` the
    argmax landed 1.4-2.6 standard errors below the best member on test in two of three
    validation draws on MovieLens 100K, the balanced choice within noise of it or above).

    Parameters
    ----------
    metric, coverage : numpy.ndarray of float, shape (n_trials,)
        Validation metric (higher is better) and catalog coverage of each trial.
    alone : numpy.ndarray of bool, shape (n_trials,)
        Trials that give one member all the weight (at least one when ``min_coverage`` is
        set).
    spread : numpy.ndarray of float, shape (n_trials, n_sampled), optional
        Per-user metric of each trial on the same (sample of the) validation users, to
        estimate the standard error of the difference between two trials. None: the best
        trial is kept.
    n_users : int, optional
        Validation users behind ``metric`` (the standard error of a mean over them); default
        ``spread``'s second dimension.
    tolerance : float
        Width of "as good", in paired standard errors; 0 keeps the best trial.
    min_coverage : {"best_member", None}
        "best_member": only trials whose coverage is at least that of the best single-member
        trial (best metric, then coverage) are eligible; None: every trial is.

    Returns
    -------
    int

    Examples
    --------
    >>> metric = np.array([0.310, 0.312, 0.250])  # trial 0 the most balanced
    >>> coverage = np.array([0.30, 0.28, 0.40])
    >>> alone = np.array([False, False, True])
    >>> per_user = np.array([[0.40, 0.20, 0.40, 0.240],
    ...                      [0.30, 0.30, 0.30, 0.348],
    ...                      [0.25, 0.25, 0.25, 0.250]])
    >>> select_trial(metric, coverage, alone, spread=per_user)  # 0 and 1: within noise
    0
    >>> select_trial(metric, coverage, alone, spread=per_user, tolerance=0)
    1
    >>> select_trial(metric, coverage, alone, min_coverage="best_member")  # the widest
    2
    """
    metric, coverage = np.asarray(metric, np.float64), np.asarray(coverage, np.float64)
    eligible = np.ones(len(metric), bool)
    if min_coverage is not None:
        check_choice("min_coverage", min_coverage, COVERAGE_FLOORS)
        eligible = coverage >= coverage[_best_trial(metric, coverage, np.asarray(alone, bool))]
    best = _best_trial(metric, coverage, eligible)
    if spread is None or not check_real("tolerance", tolerance) > 0:
        return best
    n_users = None if n_users is None else check_int("n_users", n_users, minimum=1)
    near = within_noise(spread, best, tolerance=tolerance, means=metric, n_rows=n_users)
    return int(np.flatnonzero(eligible & near)[0])


def _best_trial(metric: np.ndarray, coverage: np.ndarray, mask: np.ndarray) -> int:
    if not mask.any():
        raise ConfigError("no trial to choose from (a coverage floor needs a trial that "
                          "gives one member all the weight)")
    order = np.lexsort((np.arange(len(metric)), -coverage, -metric))
    return int(order[mask[order]][0])


def _search_depths(hybrid: Hybrid,
                   candidates: Sequence[int | None] | None) -> list[int | None]:
    if candidates is None:
        return [hybrid.candidates_]
    try:
        depths = list(candidates)
    except TypeError:
        raise ConfigError("candidates must be a list of candidate-list lengths (int or "
                          f"None), got {candidates!r}") from None
    if not depths:
        raise ConfigError("candidates must list at least one length")
    # Clipped to the catalog as fit clips the Hybrid's own: a longer list is the same fusion.
    return list(dict.fromkeys(None if d is None else min(check_int("candidates", d),
                                                         hybrid.n_items) for d in depths))


def _search(hybrid: Hybrid, users: np.ndarray, relevant: sp.csr_matrix, grid: np.ndarray,
            depths: list[int | None], metric: str, k: int,
            seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean validation metric and catalog coverage at k of every trial, each of shape
    (weight vectors, lengths), and the per-user metric of a random sample of at most
    SPREAD_SAMPLE users, shape (weight vectors, lengths, sampled users)."""
    n_weights, members = grid.shape
    n_items = hybrid.n_items
    totals = np.zeros((n_weights, len(depths)))
    reached = np.zeros((n_weights, len(depths), n_items), bool)
    kept = np.zeros(len(users), bool)
    kept[np.random.default_rng(seed).choice(len(users), min(len(users), SPREAD_SAMPLE),
                                            replace=False)] = True
    sample = np.zeros((n_weights, len(depths), int(kept.sum())), np.float32)
    filled = 0
    # Every member is scored, whatever its current weight: the trials give it one.
    everyone = np.ones(members, bool)
    batch = max(1, SCORE_BLOCK_CELLS // max(1, n_items * (members + 1)))
    for start in range(0, len(users), batch):
        rows = users[start:start + batch]
        seen = take_rows(hybrid.user_items_, rows)
        in_sample = kept[start:start + batch]
        sampled = slice(filled, filled + int(in_sample.sum()))
        for d, depth in enumerate(depths):
            values = hybrid._member_values(Query.KNOWN, rows, seen, None, depth, everyone)
            for t, weights in enumerate(grid):
                top, _ = top_k(weighted_sum(values, weights, seen.shape), k, seen)
                per_user = kernels.compute(top, relevant[start:start + batch], [metric],
                                           k=k)[metric]
                totals[t, d] += per_user.sum()
                sample[t, d, sampled] = per_user[in_sample]
                reached[t, d, top[top != PAD]] = True
        filled = sampled.stop
    return totals / len(users), reached.mean(axis=2), sample


def _validation_relevance(hybrid: Hybrid,
                          valid: Interactions) -> tuple[np.ndarray, sp.csr_matrix]:
    """Model rows of the validation users and their relevant items (not in training)."""
    if not isinstance(valid, Interactions):
        raise DataError(f"valid must be an Interactions, got {type(valid).__name__}")
    rows, cols, values = valid.entries()
    user_rows = hybrid.users_.to_index(valid.users.ids[rows], missing="ignore")
    item_cols = hybrid.items_.to_index(valid.items.ids[cols], missing="ignore")
    keep = (user_rows >= 0) & (item_cols >= 0) & (values > 0)
    user_rows, item_cols = user_rows[keep], item_cols[keep]
    in_train = np.asarray(hybrid.user_items_[user_rows, item_cols]).ravel() != 0
    user_rows, item_cols = user_rows[~in_train], item_cols[~in_train]
    users = np.unique(user_rows)
    if len(users) == 0:
        raise DataError("no validation entry belongs to a user the model knows (or all "
                        "are in the training data): nothing to fit the weights on")
    relevant = sp.csr_matrix(
        (np.ones(len(user_rows), np.float32), (np.searchsorted(users, user_rows), item_cols)),
        shape=(len(users), hybrid.n_items))
    relevant.sum_duplicates()
    return users, relevant


def _weight_grid(members: int, step: float, max_trials: int,
                 seed: int) -> list[tuple[float, ...]]:
    units = max(1, round(1.0 / step))
    grid = [tuple(c / units for c in combo)
            for combo in itertools.product(range(units + 1), repeat=members)
            if sum(combo) == units] if members <= 6 else []
    uniform = tuple([1.0 / members] * members)
    corners = [tuple(float(i == j) for j in range(members)) for i in range(members)]
    if not grid or len(grid) > max_trials:
        rng = np.random.default_rng(seed)
        sample = [tuple(w) for w in rng.dirichlet(np.ones(members), size=max_trials)]
        grid = sample if not grid else [grid[i] for i in rng.choice(
            len(grid), size=max_trials, replace=False)]
        grid = list(dict.fromkeys([uniform, *corners, *grid]))[:max(max_trials, members + 1)]
    elif uniform not in grid:
        grid.append(uniform)
    # Ordered by distance to uniform: argmax keeps the most balanced of tied vectors.
    return sorted(grid, key=lambda w: (float(np.sum((np.asarray(w) - 1.0 / members) ** 2)), w))
