"""How a family turns stored interaction values into the weights it learns from.

Every family that reads interaction values (ALS, LMF, EASE, RP3beta, ItemKNN) takes the same
``weighting`` options and resolves ``"auto"`` the same way
(:func:`recsys.data.weighting.resolve_weighting`); the resolved choice and the statistics
needed to weigh rows folded in later are fitted attributes, saved with the model.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_choice, check_real
from recsys.data.interactions import Interactions
from recsys.data.weighting import WEIGHTINGS, resolve_weighting, weigh
from recsys.errors import ConfigError, DataError, ModelFileError
from recsys.models._state import expect, expect_scalar
from recsys.models.base import Changes, padded


class WeightedInput:
    """Mixin of the families with ``weighting``, ``bm25_k1`` and ``bm25_b`` hyperparameters.

    Fitted attributes: ``weighting_`` (``weighting`` with "auto" resolved), ``item_lengths_``
    (training column sums, for BM25 of new rows) and ``weight_scale_``: with
    ``normalize_weights`` the weights are divided by their training mean, so that an average
    positive weighs 1 whatever the weighting and the data (binary input is unchanged). The
    penalties and confidences of the defaults were tuned on binary data; on play counts
    ``log2(1 + plays)`` averages 3-8 and would otherwise multiply them.
    """

    normalize_weights: ClassVar[bool] = True
    # The item x item array an item-item family scores with (kept, grown, on update).
    item_item_attribute: ClassVar[str | None] = None
    # What "auto" gives amounts (counts, hours): see resolve_weighting.
    amounts_weighting: ClassVar[str] = "log"

    weighting: str
    bm25_k1: float
    bm25_b: float
    weighting_: str
    item_lengths_: np.ndarray
    weight_scale_: float

    def _weighted_training_input(self, interactions: Interactions) -> sp.csr_matrix:
        """Resolve ``weighting`` on the training values and weigh them (normalised)."""
        k1, b = check_weighting_params(self)
        matrix = interactions.matrix
        self.weighting_ = resolve_weighting(self.weighting, matrix,
                                            amounts=self.amounts_weighting)
        self.item_lengths_ = np.asarray(matrix.sum(axis=0), dtype=np.float32).ravel()
        weighted = weigh(matrix, self.weighting_, self.item_lengths_, k1, b)
        if weighted.nnz == 0:
            # Every stored weight was zero: nothing to learn from (a factor model would
            # silently return near-zero factors that rank items by index).
            raise DataError(f"{type(self).__name__}: no interaction has a nonzero weight "
                            f"after {self.weighting_!r} weighting; nothing to fit")
        mean = float(np.abs(weighted.data.astype(np.float64)).mean())
        self.weight_scale_ = mean if self.normalize_weights else 1.0
        return self._scaled(weighted)

    def _update_weighting(self) -> None:
        """After ``update``: the statistics of the grown ``user_items_``, as a fit on it
        computes them (the resolved weighting itself is kept)."""
        k1, b = check_weighting_params(self)
        matrix = self.user_items_  # type: ignore[attr-defined]
        self.item_lengths_ = np.asarray(matrix.sum(axis=0), dtype=np.float32).ravel()
        if self.weight_scale_ != 1.0:  # 1.0: weights as given (or binary: the mean is 1)
            weighted = weigh(matrix, self.weighting_, self.item_lengths_, k1, b)
            self.weight_scale_ = float(np.abs(weighted.data.astype(np.float64)).mean())

    def _update(self, changes: Changes, show_progress: bool) -> None:
        """The weighting statistics follow the grown history. Item-item families: the
        history grows (scores follow from it), the item x item model is kept until the next
        fit, grown with zeros for new items; other families go on to their base's step."""
        self._update_weighting()
        name = self.item_item_attribute
        if name is None:
            super()._update(changes, show_progress)  # type: ignore[misc]
            return
        setattr(self, name, grown_square(getattr(self, name), changes.added.shape[1]))
        self._warn_unscored(changes)  # type: ignore[attr-defined]

    def _weigh_rows(self, rows: sp.spmatrix) -> sp.csr_matrix:
        """Weigh rows (histories folded in) exactly as the training rows were."""
        return self._scaled(weigh(rows, self.weighting_, self.item_lengths_,
                                  float(self.bm25_k1), float(self.bm25_b)))

    def _check_weighting_state(self, n_items: int) -> None:
        """After loading: the resolved weighting and its statistics fit the model."""
        expect_scalar(self, "weighting_", (str,),
                      lambda v: check_choice("weighting_", v, WEIGHTINGS[1:]))
        lengths = expect(self, "item_lengths_", (n_items,))
        scale = expect_scalar(self, "weight_scale_", (float,),
                              lambda v: check_real("weight_scale_", v, strict=True))
        # Both are statistics of the training rows, saved beside them: recompute and compare.
        matrix = self.user_items_  # type: ignore[attr-defined]
        columns = np.asarray(matrix.sum(axis=0), dtype=np.float32).ravel()
        if not np.allclose(lengths, columns, rtol=1e-5):
            raise ModelFileError(f"{type(self).__name__}.item_lengths_ does not match the "
                                 "column sums of user_items_")
        if scale != 1.0:  # 1.0: weights as given (normalize_weights off, or a Spark model)
            k1, b = check_weighting_params(self)
            weighted = weigh(matrix, self.weighting_, lengths, k1, b)
            mean = float(np.abs(weighted.data.astype(np.float64)).mean()) if weighted.nnz else 1.0
            if not np.isclose(scale, mean, rtol=1e-6):
                raise ModelFileError(f"{type(self).__name__}.weight_scale_ = {scale!r} is not "
                                     f"the training mean weight ({mean!r})")

    def _scaled(self, weighted: sp.csr_matrix) -> sp.csr_matrix:
        if self.weight_scale_ != 1.0:
            weighted.data = (weighted.data / self.weight_scale_).astype(np.float32)
        return weighted


class SparseItemItem(WeightedInput):
    """Mixin of the families that score with a sparse item x item matrix ``similarity_``
    (ItemKNN, RP3beta): a user's scores are their weighted history times it, so users
    unknown at fit time fold in exactly, and an item's neighbours are its row."""

    item_item_attribute: ClassVar[str | None] = "similarity_"
    similarity_: sp.csr_matrix
    items_: Any

    def _score_history(self, history: sp.csr_matrix, item_cols: np.ndarray | None) -> np.ndarray:
        similarity = self.similarity_ if item_cols is None else self.similarity_[:, item_cols]
        return (self._weigh_rows(history) @ similarity).toarray()

    def _contributions(self, user_row: int, history: sp.csr_matrix,
                       column: int) -> tuple[str, np.ndarray, np.ndarray]:
        similarity = self.similarity_[:, [column]].toarray().ravel()
        return item_item_contributions(self, history, similarity)

    def _similar_items(self, item_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        rows = self.similarity_[item_rows]
        return (rows if item_cols is None else rows[:, item_cols]).toarray()

    def _check_state(self) -> None:
        expect(self, "similarity_", (len(self.items_),) * 2, sparse=True)
        self._check_weighting_state(len(self.items_))


def check_weighting_params(model: Any) -> tuple[float, float]:
    """Validated BM25 parameters of a model with ``bm25_k1`` / ``bm25_b``."""
    k1 = check_real("bm25_k1", model.bm25_k1)
    b = check_real("bm25_b", model.bm25_b)
    if b > 1:
        raise ConfigError(f"bm25_b must be in [0, 1], got {model.bm25_b!r}")
    return k1, b


def item_item_contributions(model: Any, history: sp.csr_matrix,
                            column: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """The parts of ``weighted history @ item-item matrix`` for one item, by history item:
    weight of item j times the matrix's entry (j, item), given as the item's ``column``."""
    weights = model._weigh_rows(history)
    return ("item", model.items_.to_ids(weights.indices),
            weights.data.astype(np.float64) * np.asarray(column, np.float64)[weights.indices])


def grown_square(matrix: np.ndarray | sp.csr_matrix, n: int) -> np.ndarray | sp.csr_matrix:
    """An item x item matrix grown to ``n`` x ``n`` with zero rows and columns (a new array).

    Examples
    --------
    >>> grown_square(np.ones((1, 1), np.float32), 2).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    extra = n - matrix.shape[0]
    if sp.issparse(matrix):
        return padded(sp.csr_matrix(matrix), (n, n)).copy() if extra else matrix
    return np.pad(matrix, ((0, extra), (0, extra))) if extra else matrix


def time_decay_step(reference: float, times: np.ndarray | None, half_life: float,
                    what: str) -> tuple[float, float, np.ndarray]:
    """Exponential decay across an update: the new reference time (the newest event), the
    factor that ages what was decayed to ``reference``, and the decay of each new event.

    Examples
    --------
    >>> time_decay_step(10.0, np.array([12.0, 11.0]), 2.0, "half_life")
    (12.0, 0.5, array([1.        , 0.70710678]))
    """
    if times is None:
        raise DataError(f"{what} needs events with a timestamp column to update")
    times = np.asarray(times, dtype=np.float64)
    newest = max(float(reference), float(times.max(initial=reference)))
    return newest, float(np.exp2(-(newest - reference) / half_life)), \
        np.exp2(-(newest - times) / half_life)
