"""Ranking metrics as pure, vectorized kernels over all users at once.

Every accuracy kernel shares one signature, ``metric(recommended, relevant, k=10)``:

``recommended``
    Integer array ``(n_users, list_length)`` of item indices, best first. ``-1`` pads short
    lists; padding never counts as a hit. If ``k`` is larger than the list, the missing
    positions are treated as padding.
``relevant``
    scipy sparse matrix ``(n_users, n_items)`` (CSR preferred, any format accepted) whose stored
    values are gains. An item is relevant to a user when its stored value is ``> 0``; explicit
    zeros and negative values are not relevant. Duplicate stored entries are summed first
    (scipy's canonical form).
``k``
    A positive int, or a sequence of them: then the result is a dict ``{k: values}`` and the
    hits are looked up once, at the largest k. Only the first k columns are read (and
    validated).

Each returns a float64 array with one value per user (row), in the order of the rows. The
definitions, with ``hits@k`` the number of relevant items in the top k:

=============  ==============================================================================
precision@k    hits@k / k  (k, not the list length: a short list is not rewarded)
recall@k       hits@k / |relevant|
ndcg@k         DCG@k / ideal DCG@k, DCG = sum over hit ranks r of gain / log2(r + 1); the ideal
               DCG ranks the user's min(|relevant|, k) best gains first
map@k          sum over hit ranks r of precision@r, divided by min(|relevant|, k)
mrr@k          1 / rank of the first hit within the top k, else 0
hit_rate@k     1 if there is any hit in the top k, else 0
=============  ==============================================================================

Two rules keep the numbers honest on imperfect input:

- An item repeated within one list counts only at its first position; later copies are
  misses (they still take a slot, so precision@k does not reward them).
- A user with no relevant item gets NaN from ``recall``, ``ndcg`` and ``map`` (their
  normaliser is zero) and 0 from ``precision``, ``mrr`` and ``hit_rate``. Callers that
  average should drop such users first, as ``evaluate`` does.

:func:`hits` exposes the boolean hit matrix these kernels are built on, :func:`compute` runs
several metrics on one lookup, and :func:`coverage` measures the catalog share reached.

Beyond accuracy: :func:`auc` over full rankings (see
:func:`full_ranking`), and measures of the lists themselves: :func:`novelty`,
:func:`average_recommended_popularity` and :func:`intra_list_diversity` per user,
:func:`catalog_coverage`, :func:`gini_index` of exposure and :func:`personalization` over
all users.

The accuracy kernels live one layer down, in :mod:`~recsys.ranking._accuracy` (with the
shared input checks in :mod:`~recsys.ranking._metric_input` and the hit lookup in
:mod:`~recsys.ranking._hits`), so that a model can judge rankings without importing
evaluation (a :class:`~recsys.models.hybrid.Hybrid` fits its weights on a validation split);
the beyond-accuracy ones are in :mod:`~recsys.evaluation._beyond`. This module is their one
public address.
"""

from recsys.evaluation._beyond import (
    BEYOND_METRICS,
    auc,
    average_recommended_popularity,
    catalog_coverage,
    full_ranking,
    gini_index,
    intra_list_diversity,
    novelty,
    personalization,
)
from recsys.ranking._accuracy import (
    CORE_METRICS,
    average_precision,
    compute,
    coverage,
    hit_rate,
    hits,
    map,
    mrr,
    ndcg,
    precision,
    recall,
)
from recsys.ranking._metric_input import GAINS

__all__ = [
    "BEYOND_METRICS",
    "CORE_METRICS",
    "GAINS",
    "auc",
    "average_precision",
    "average_recommended_popularity",
    "catalog_coverage",
    "compute",
    "coverage",
    "full_ranking",
    "gini_index",
    "hit_rate",
    "hits",
    "intra_list_diversity",
    "map",
    "mrr",
    "ndcg",
    "novelty",
    "personalization",
    "precision",
    "recall",
]
