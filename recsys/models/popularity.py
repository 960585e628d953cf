"""Most-popular items: the baseline every other family has to beat."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_choice, check_real
from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.errors import DataError
from recsys.models._state import expect
from recsys.models.base import Changes, Recommender
from recsys.models.weighted import time_decay_step


class Popularity(Recommender):
    """Rank items by how many users interacted with them (or by summed weight).

    Parameters
    ----------
    by : {"count", "weight"}
        Count distinct users per item, or sum the interaction weights.
    half_life : float, optional
        Exponential time decay: an interaction ``half_life`` time units (the timestamps'
        unit, seconds for unix time) older than the newest one counts half. Needs timestamps.

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.Interactions.from_arrays(["u1", "u2", "u2"], ["a", "a", "b"])
    >>> rs.Popularity().fit(inter).recommend("u1", k=1)["u1"]
    ['b']
    """

    supports_unknown_users = True

    def __init__(self, by: str = "count", half_life: float | None = None) -> None:
        self.by = by
        self.half_life = half_life

    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        check_choice("by", self.by, ("count", "weight"))
        matrix = interactions.matrix
        values = (np.ones_like(matrix.data, dtype=np.float64) if self.by == "count"
                  else matrix.data.astype(np.float64))
        if self.half_life is not None:
            half_life = check_real("half_life", self.half_life, strict=True)
            if interactions.timestamps is None:
                raise DataError("Popularity(half_life=...) needs interactions with timestamps")
            self.reference_time_ = float(interactions.timestamps.max())
            age = self.reference_time_ - interactions.timestamps
            values = values * np.exp2(-age / half_life)
        self.item_scores_ = np.bincount(
            matrix.indices, weights=values, minlength=interactions.n_items).astype(np.float32)

    def _update(self, changes: Changes, show_progress: bool) -> None:
        """Counts (or summed weights) of the grown history, as a fit computes them. With
        ``half_life``, the old scores age to the newest event and the new events add their
        decayed value; under ``by="count"`` a pair stored before keeps its earlier time
        (a refit would decay it from its latest event)."""
        matrix = self.user_items_
        if self.half_life is None:
            values = None if self.by == "count" else matrix.data.astype(np.float64)
            self.item_scores_ = np.bincount(matrix.indices, weights=values,
                                            minlength=matrix.shape[1]).astype(np.float32)
            return
        reference, age_old, decay = time_decay_step(
            self.reference_time_, changes.times, float(self.half_life), "Popularity(half_life)")
        added = changes.added
        if self.by == "count":  # a pair already stored is already counted
            decay = decay * ~changes.stored()
        else:
            decay = decay * added.data
        old = np.pad(self.item_scores_.astype(np.float64), (0, changes.new_items))
        self.item_scores_ = (old * age_old + np.bincount(
            added.indices, weights=decay, minlength=added.shape[1])).astype(np.float32)
        self.reference_time_ = reference

    def _contributions(self, user_row: int, history: sp.csr_matrix,
                       column: int) -> tuple[str, np.ndarray, np.ndarray]:
        return "popularity", np.array([f"popularity (by {self.by})"], dtype=object), \
            np.array([float(self.item_scores_[column])])

    def _score_history(self, history: sp.csr_matrix, item_cols: np.ndarray | None) -> np.ndarray:
        scores = self.item_scores_ if item_cols is None else self.item_scores_[item_cols]
        return np.broadcast_to(scores, (history.shape[0], len(scores)))

    def _check_state(self) -> None:
        expect(self, "item_scores_", (len(self.items_),))
