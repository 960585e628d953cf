"""Choosing a fitted :class:`~recsys.models.hybrid.Hybrid`'s member weights on a validation
split: the public face of :mod:`recsys.models._weight_search`, the search a Hybrid also runs
in its own ``fit`` by default (``weights="auto"``).
"""

from __future__ import annotations

from collections.abc import Sequence

from recsys.data.interactions import Interactions
from recsys.errors import ConfigError
from recsys.models._weight_search import COVERAGE_FLOORS, search_weights, select_trial
from recsys.models.hybrid import Hybrid

__all__ = ["COVERAGE_FLOORS", "fit_weights", "select_trial"]


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
    if not isinstance(hybrid, Hybrid):
        raise ConfigError(f"fit_weights needs a Hybrid, got {type(hybrid).__name__}")
    return search_weights(hybrid, valid, metric=metric, k=k, step=step, max_trials=max_trials,
                          seed=seed, candidates=candidates, tolerance=tolerance,
                          min_coverage=min_coverage)
