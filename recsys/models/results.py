"""What a ranking call returns: :class:`Recommendations`, ranked lists with external ids."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from recsys.data.ids import IdIndex, as_id_array
from recsys.errors import UnknownIdError
from recsys.ranking.topk import PAD


class Recommendations:
    """Ranked lists for a batch of queries (users, items or baskets), with external ids.

    Parameters
    ----------
    keys : array-like
        The query ids, one per row.
    positions : numpy.ndarray of int, shape (n_queries, k)
        Item positions in ``item_index``; ``-1`` pads lists shorter than k.
    scores : numpy.ndarray, shape (n_queries, k)
        Scores, NaN where padded.
    item_index : IdIndex
        Maps positions to external item ids.
    key_name : str
        Name of the query column in :meth:`to_pandas`: "user", "query_item" (similar items:
        distinct from the result column "item") or "basket".
    sources : numpy.ndarray of int, optional
        How each query was ranked (:class:`recsys.models.base.Source` codes: 0 a known user,
        1 a user folded in from a given history, 2 the fallback ranking); set by
        ``recommend``.

    Examples
    --------
    >>> recs = Recommendations(["u1"], np.array([[1, 0]]), np.array([[0.9, 0.1]]),
    ...                        IdIndex(["a", "b"]))
    >>> recs["u1"]
    ['b', 'a']
    >>> recs.to_pandas().columns.tolist()
    ['user', 'item', 'score', 'rank']
    """

    def __init__(
        self,
        keys: Any,
        positions: np.ndarray,
        scores: np.ndarray,
        item_index: IdIndex,
        key_name: str = "user",
        sources: np.ndarray | None = None,
    ) -> None:
        self.keys = as_id_array(keys)
        self.positions = np.asarray(positions, dtype=np.int64)
        self.scores = np.asarray(scores, dtype=np.float32)
        self.item_index = item_index
        self.key_name = key_name
        self.sources = sources

    @property
    def k(self) -> int:
        return self.positions.shape[1]

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self):
        return iter(self.keys)

    def __getitem__(self, key: Any) -> list:
        """The recommended item ids for one query key, best first."""
        matches = (np.flatnonzero(pd.Index(self.keys) == key) if len(self.keys)
                   else np.zeros(0, np.int64))
        if len(matches) == 0:
            raise UnknownIdError(f"{self.key_name} {key!r} is not in these recommendations", [key])
        row = self.positions[matches[0]]
        return self.item_index.to_ids(row[row != PAD]).tolist()

    def to_pandas(self) -> pd.DataFrame:
        """Long format: one row per (query, item) with its score and 1-based rank."""
        valid = self.positions != PAD
        query_rows, ranks = np.nonzero(valid)
        return pd.DataFrame({
            self.key_name: self.keys[query_rows],
            "item": self.item_index.to_ids(self.positions[valid]),
            "score": self.scores[valid],
            "rank": ranks + 1,
        })

    def to_dict(self) -> dict:
        """``{key: [(item, score), ...]}`` in rank order."""
        out: dict = {}
        for key, row, scores in zip(self.keys.tolist(), self.positions, self.scores, strict=True):
            valid = row != PAD
            out[key] = list(zip(self.item_index.to_ids(row[valid]).tolist(),
                                scores[valid].tolist(), strict=True))
        return out

    def __repr__(self) -> str:
        return f"Recommendations({len(self)} {self.key_name}s x k={self.k})"

    def _repr_html_(self) -> str:
        from recsys._display import recommendations_html  # notebook display only

        return recommendations_html(self)
