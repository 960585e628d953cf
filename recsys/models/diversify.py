"""Diversity as a post-ranking step for every family: MMR over an attribute or item vectors,
and per-attribute caps, on an over-fetched candidate list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from recsys._checks import check_int, check_real
from recsys.errors import ConfigError, FilterError
from recsys.ranking.rerank import cap_per_group, mmr

if TYPE_CHECKING:
    from recsys.models.base import Recommender


@dataclass(frozen=True)
class Diversify:
    """Re-rank each list for diversity: ``model.recommend(users, k, diversify=Diversify(...))``.

    The model first ranks ``fetch * k`` candidates, then caps (``max_per``) drop candidates
    past the cap of their group in rank order, and MMR (``by``) picks ``k`` of the rest.

    Parameters
    ----------
    by : str or numpy.ndarray, optional
        What makes two items alike for MMR: an item attribute (same value: similarity 1; see
        ``set_item_attributes``), or item vectors (n_items, d) in the model's item order
        (cosine). None: no MMR, the capped list in rank order.
    lambda_ : float
        MMR's trade-off in [0, 1]: 1 keeps the ranking, lower values favour diversity.
    max_per : dict attribute -> int, optional
        At most this many items per value of each attribute (``{"brand": 2}``).
    fetch : int
        Candidates ranked per list, as a multiple of ``k``.

    Examples
    --------
    >>> import pandas as pd, recsys as rs
    >>> inter = rs.Interactions.from_arrays(["u1", "u2", "u2", "u3"], ["a", "a", "b", "c"])
    >>> model = rs.Popularity().fit(inter).set_item_attributes(
    ...     pd.DataFrame({"brand": ["x", "x", "y"]}, index=["a", "b", "c"]))
    >>> model.recommend(["new"], k=2, on_unknown="fallback",
    ...                 diversify=Diversify(max_per={"brand": 1}))["new"]
    ['a', 'c']
    """

    by: str | np.ndarray | None = None
    lambda_: float = 0.7
    max_per: Mapping[str, int] | None = None
    fetch: int = 5

    def candidates(self, k: int) -> int:
        """How many candidates to rank for lists of ``k``."""
        return check_int("fetch", self.fetch) * k

    def apply(self, model: Recommender, positions: np.ndarray, scores: np.ndarray,
              k: int) -> tuple[np.ndarray, np.ndarray]:
        """The re-ranked top ``k`` of ranked candidates of ``model``."""
        lambda_ = check_real("lambda_", self.lambda_)
        if lambda_ > 1:
            raise ConfigError(f"lambda_ must be in [0, 1], got {self.lambda_!r}")
        if self.by is None and not self.max_per:
            raise ConfigError("Diversify needs by= (MMR) or max_per= (caps), or both")
        for column, cap in (self.max_per or {}).items():
            positions, scores = cap_per_group(positions, scores, positions.shape[1],
                                              _codes(model, column), check_int("max_per", cap))
        if self.by is None:
            return positions[:, :k], scores[:, :k]
        if isinstance(self.by, str):
            return mmr(positions, scores, k, lambda_, groups=_codes(model, self.by))
        vectors = np.asarray(self.by, dtype=np.float64)
        if vectors.ndim != 2 or len(vectors) != model.n_items:
            raise ConfigError(f"by= vectors must be (n_items={model.n_items}, d), got shape "
                              f"{vectors.shape}")
        return mmr(positions, scores, k, lambda_, vectors=vectors)


def _codes(model: Any, column: str) -> np.ndarray:
    """Integer codes of an item attribute, -1 where it is missing."""
    attributes = model.item_attributes
    if column not in attributes.columns:
        raise FilterError(f"diversify: unknown item attribute {column!r}; attributes: "
                          f"{[str(c) for c in attributes.columns[:20]]}")
    codes, _ = pd.factorize(attributes[column])
    return np.asarray(codes, np.int64)
