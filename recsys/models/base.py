"""The ranking interface every model family implements: ``Recommender`` and its results.

A family subclasses :class:`Recommender` and implements ``_fit`` and one way of scoring:

- ``_score_history(history, item_cols)``: scores from users' interaction rows. Families that
  score from history alone (item-kNN, EASE, popularity) implement only this and get fold-in of
  unknown users for free; set ``supports_unknown_users = True``.
- ``_score(user_rows, item_cols)``: scores for users known at fit time (factor models).

The public methods here do everything else once for all families: validation, id mapping,
unknown-user policy, seen-item filtering, allow/deny lists, batching and top-k.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._checks import check_choice, check_int
from recsys.data.dataset import Dataset
from recsys.data.ids import IdIndex, as_id_array
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError, DataError, NotFittedError, RecsysWarning, UnknownIdError
from recsys.models.topk import PAD, take_rows, top_k_columns

UNKNOWN_POLICIES = ("raise", "skip", "fallback")
# Dense score blocks are cut to about this many cells (64 MiB of float32) per batch.
SCORE_BLOCK_CELLS = 1 << 24

_KNOWN, _HISTORY, _FALLBACK = 0, 1, 2

_REGISTRY: dict[str, type[Recommender]] = {}


def registered_models() -> dict[str, type[Recommender]]:
    """Every Recommender subclass by class name (what :func:`recsys.load` may construct)."""
    import recsys.models  # noqa: F401  (importing the package registers the families)

    return dict(_REGISTRY)


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
        Name of the query column in :meth:`to_pandas` ("user", "item" or "basket").

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
    ) -> None:
        self.keys = as_id_array(keys)
        self.positions = np.asarray(positions, dtype=np.int64)
        self.scores = np.asarray(scores, dtype=np.float32)
        self.item_index = item_index
        self.key_name = key_name

    @property
    def k(self) -> int:
        return self.positions.shape[1]

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self):
        return iter(self.keys)

    def __getitem__(self, key: Any) -> list:
        """The recommended item ids for one query key, best first."""
        matches = np.flatnonzero(pd.Index(self.keys) == key) if len(self.keys) else []
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


def as_interactions(data: Interactions | Dataset) -> tuple[Interactions, Dataset | None]:
    """The interactions of ``data`` and the dataset around them, if any."""
    if isinstance(data, Dataset):
        return data.interactions, data
    if isinstance(data, Interactions):
        return data, None
    raise DataError(f"fit expects an Interactions or a Dataset, got {type(data).__name__}")


class Recommender:
    """Base class of all recommenders. See the module docstring for what a family implements.

    Capability flags (class attributes) drive the generic logic:

    - ``supports_unknown_users``: can score users absent at fit time from their history.
    - ``supports_cold_items``: can score items without interactions (from their features).
    - ``uses_item_features``: reads ``Dataset.item_features`` in ``fit``.
    """

    supports_unknown_users: ClassVar[bool] = False
    supports_cold_items: ClassVar[bool] = False
    uses_item_features: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def _restore(self, derived: Mapping[str, np.ndarray] | None = None) -> None:
        """Rebuild state derived from the learned arrays, after ``fit`` and after
        :func:`recsys.load`. ``derived`` holds what :meth:`_derived_arrays` returned when
        the model was saved (None after ``fit``); a family uses it to skip a slow rebuild."""

    def _derived_arrays(self) -> dict[str, np.ndarray]:
        """Derived state worth saving beside the learned arrays because it is slow to
        rebuild (an ANN graph): plain numeric arrays by name, handed back to :meth:`_restore`
        on loading. Nothing by default."""
        return {}

    def _check_state(self) -> None:
        """Check that the family's learned state fits together, after :func:`recsys.load`
        set it from files and before any other method runs: shapes against ``users_`` /
        ``items_`` (whose own consistency the loader has checked), positions in range,
        scalars of the right type. Raise :class:`recsys.errors.ModelFileError` naming the
        attribute (helpers in ``recsys.models._state``). Nothing by default."""

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor arguments, as given."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Recommender:
        """Set constructor arguments; the model must be fitted again to use them."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ConfigError(f"{type(self).__name__} has no parameter {name!r}; "
                                  f"valid: {valid}")
            setattr(self, name, value)
        return self

    def clone(self) -> Recommender:
        """An unfitted copy with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ fitting
    def fit(self, data: Interactions | Dataset, show_progress: bool = False) -> Recommender:
        """Learn from interactions (or a Dataset, for families that use side features).

        Parameters
        ----------
        data : Interactions or Dataset
        show_progress : bool
            Show a progress bar on long fits.

        Returns
        -------
        self
        """
        interactions, dataset = as_interactions(data)
        if interactions.nnz == 0:
            raise DataError("cannot fit on interactions with no stored entries")
        self.users_ = interactions.users
        self.items_ = interactions.items
        self.user_items_ = interactions.matrix
        # Users per item: the fallback ranking for users no family can score.
        self.item_popularity_ = np.bincount(
            interactions.matrix.indices, minlength=interactions.n_items).astype(np.float32)
        self._fit(interactions, dataset, show_progress)
        return self

    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        raise NotImplementedError

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "user_items_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() first")

    @property
    def n_users(self) -> int:
        self._check_fitted()
        return len(self.users_)

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.items_)

    # ------------------------------------------------------------------ scoring hooks
    def _score(self, user_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        """Dense scores (len(user_rows), n_cols) for users known at fit time."""
        return self._score_history(take_rows(self.user_items_, user_rows), item_cols)

    def _score_history(self, history: sp.csr_matrix, item_cols: np.ndarray | None) -> np.ndarray:
        """Dense scores for users given as interaction rows over the training items."""
        raise NotImplementedError(f"{type(self).__name__} cannot score from a history")

    def _similar_items(self, item_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        """Dense item-item similarities; by default cosine over the training interactions."""
        binary = self.user_items_.astype(bool).astype(np.float32).tocsc()
        norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel())
        normalized = binary @ sp.diags(1.0 / np.maximum(norms, 1e-12))
        columns = normalized if item_cols is None else normalized[:, item_cols]
        return (normalized[:, item_rows].T @ columns).toarray()

    # ------------------------------------------------------------------ public ranking
    def recommend(
        self,
        users: Any,
        k: int = 10,
        exclude_seen: bool = True,
        items: Iterable | None = None,
        exclude: Iterable | None = None,
        history: Mapping | pd.DataFrame | None = None,
        on_unknown: str = "raise",
        strict: bool = False,
    ) -> Recommendations:
        """Top-k items for each user.

        Parameters
        ----------
        users : id or list of ids
            External user ids.
        k : int
            List length, at least 1 (``k <= 0`` raises :class:`~recsys.errors.ConfigError`).
            A ``k`` above the number of recommendable items is allowed: those lists are
            shorter (``-1`` / NaN padding in ``positions`` / ``scores``).
        exclude_seen : bool
            Drop items the user interacted with (in training, or in ``history``).
        items : list of item ids, optional
            Allow-list: only these items may be recommended (unknown ids are ignored).
        exclude : list of item ids, optional
            Deny-list: never recommend these.
        history : dict user -> list of items, or DataFrame with columns user, item[, weight]
            Interactions of users to score from this history instead of the model's state
            (fold-in). Families that cannot fold in treat these users as unknown and use the
            history only to exclude seen items. Items unknown to the model are ignored and
            listed in a :class:`~recsys.errors.RecsysWarning` (an error under ``strict``).
        on_unknown : {"raise", "skip", "fallback"}
            Unknown users (not in training, not foldable): raise an error naming them, leave
            them out of the result, or give them the most popular items.
        strict : bool
            Raise instead of warning when ``history`` holds items unknown to the model. The
            allow/deny lists are filters, not evidence, and never raise for unknown items.

        Returns
        -------
        Recommendations
            Sorted by score, ties broken by item index; lists shorter than k when fewer items
            are allowed.

        Raises
        ------
        recsys.errors.UnknownIdError
            An unknown user under ``on_unknown="raise"``, or, with ``strict=True``, items of
            ``history`` unknown to the model (the first few are named, with their count, and
            listed in ``.ids``).

        Examples
        --------
        >>> import recsys as rs
        >>> inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "a"])
        >>> model = rs.ItemKNN(k=5).fit(inter)
        >>> model.recommend(["new"], k=1, history={"new": ["a"]})["new"]
        ['b']
        >>> model.recommend(["new"], history={"new": ["a", "zzz"]}, strict=True)
        Traceback (most recent call last):
        ...
        recsys.errors.UnknownIdError: history: 1 item(s) unknown to the model (strict=True): 'zzz'
        """
        self._check_fitted()
        k = check_int("k", k)
        check_choice("on_unknown", on_unknown, UNKNOWN_POLICIES)
        user_ids = as_id_array(users)
        rows = self.users_.to_index(user_ids, missing="ignore")
        source = np.where(rows >= 0, _KNOWN, _FALLBACK)
        history_rows = np.full(len(user_ids), -1, np.int64)
        history_matrix = None
        if history is not None:
            history_users, history_matrix = self._history_matrix(history, strict)
            history_rows = history_users.to_index(user_ids, missing="ignore")
            if self.supports_unknown_users:
                source[history_rows >= 0] = _HISTORY
        unknown = (source == _FALLBACK)
        if unknown.any():
            if on_unknown == "raise":
                self.users_.to_index(user_ids[unknown], what="user")
            if on_unknown == "skip":
                keep = ~unknown
                user_ids, rows, source, history_rows = (
                    user_ids[keep], rows[keep], source[keep], history_rows[keep])
        item_cols = self._allowed_columns(items, exclude)
        positions, scores = self._rank(rows, history_rows, history_matrix, source, item_cols,
                                       k, exclude_seen)
        return Recommendations(user_ids, positions, scores, self.items_, "user")

    def _allowed_columns(self, items: Iterable | None,
                         exclude: Iterable | None) -> np.ndarray | None:
        if items is None and exclude is None:
            return None
        allowed = np.ones(len(self.items_), bool)
        if items is not None:
            allowed[:] = False
            found = self.items_.to_index(as_id_array(items), missing="ignore")
            allowed[found[found >= 0]] = True
        if exclude is not None:
            found = self.items_.to_index(as_id_array(exclude), missing="ignore")
            allowed[found[found >= 0]] = False
        return np.flatnonzero(allowed)

    def _item_columns(self, ids: Any, where: str, strict: bool,
                      stacklevel: int = 2) -> np.ndarray:
        """Columns of external item ids given as evidence (a history, a basket), ``-1`` for
        ids unknown to the model.

        Unknown ids raise :class:`~recsys.errors.UnknownIdError` under ``strict``; otherwise
        they are listed in a :class:`~recsys.errors.RecsysWarning`, attributed ``stacklevel``
        frames above the caller (as :func:`warnings.warn` counts from the caller).
        """
        ids = as_id_array(ids)
        cols = self.items_.to_index(ids, missing="ignore")
        if (cols >= 0).all():
            return cols
        unknown = pd.unique(pd.Series(ids[cols < 0], dtype=object))
        # A long history may hold thousands of unknown ids: name a few, count them all.
        named = ", ".join(repr(v) for v in unknown[:10].tolist())
        if len(unknown) > 10:
            named += f" and {len(unknown) - 10} more"
        counted = f"{where}: {len(unknown)} item(s) unknown to the model"
        if strict:
            raise UnknownIdError(f"{counted} (strict=True): {named}", unknown.tolist(),
                                 evidence=True)
        warnings.warn(f"{counted} ignored: {named}", RecsysWarning, stacklevel=stacklevel + 1)
        return cols

    def _basket_row(self, basket: Iterable, strict: bool) -> tuple[np.ndarray, sp.csr_matrix]:
        """The basket's known columns (unique, sorted) and the basket as a one-row CSR over
        the items; unknown items are handled as in :meth:`_item_columns`, attributed to the
        caller of the public method."""
        found = self._item_columns(basket, "basket", strict, stacklevel=3)
        found = np.unique(found[found >= 0])
        row = sp.csr_matrix((np.ones(len(found), np.float32), found, [0, len(found)]),
                            shape=(1, len(self.items_)))
        return found, row

    def _history_matrix(self, history: Mapping | pd.DataFrame,
                        strict: bool = False) -> tuple[IdIndex, sp.csr_matrix]:
        """Users and their rows over the training items; unknown items are ignored, and
        listed in a :class:`~recsys.errors.RecsysWarning` (raise under ``strict``)."""
        if isinstance(history, Mapping):
            users = list(history.keys())
            lengths = [len(as_id_array(v)) for v in history.values()]
            flat_items = [i for v in history.values() for i in as_id_array(v)]
            frame = pd.DataFrame({"user": np.repeat(np.arange(len(users)), lengths),
                                  "item": pd.Series(flat_items, dtype=object)})
            frame["weight"] = 1.0
            user_index = IdIndex(as_id_array(users))
            user_rows = frame["user"].to_numpy()
        elif isinstance(history, pd.DataFrame):
            missing = [c for c in ("user", "item") if c not in history.columns]
            if missing:
                raise DataError(f"history frame needs columns user, item; missing {missing}")
            frame = history
            codes, uniques = pd.factorize(frame["user"])
            user_index, user_rows = IdIndex(np.asarray(uniques)), codes
        else:
            raise DataError("history must be a dict user -> items or a DataFrame(user, item)")
        cols = self._item_columns(frame["item"].to_numpy(), "history", strict, stacklevel=3)
        weights = (frame["weight"].to_numpy(np.float32) if "weight" in frame.columns
                   else np.ones(len(frame), np.float32))
        known = cols >= 0
        matrix = sp.csr_matrix((weights[known], (np.asarray(user_rows)[known], cols[known])),
                               shape=(len(user_index), len(self.items_)), dtype=np.float32)
        matrix.sum_duplicates()
        return user_index, matrix

    def _rank(
        self,
        rows: np.ndarray,
        history_rows: np.ndarray,
        history_matrix: sp.csr_matrix | None,
        source: np.ndarray,
        item_cols: np.ndarray | None,
        k: int,
        exclude_seen: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Positions and scores of the top k for queries grouped by how they are scored."""
        n_queries = len(rows)
        n_cols = len(self.items_) if item_cols is None else len(item_cols)
        batch = self._rank_batch_rows(n_cols)
        kinds = np.flatnonzero(np.bincount(source, minlength=3))
        if len(kinds) == 1 and n_queries <= batch:  # one request: no gathering, no copies
            return self._rank_chunk(int(kinds[0]), np.arange(n_queries), rows, history_rows,
                                    history_matrix, item_cols, k, exclude_seen)
        positions = np.full((n_queries, k), PAD, np.int64)
        scores = np.full((n_queries, k), np.nan, np.float32)
        for kind in kinds.tolist():
            members = np.flatnonzero(source == kind)
            for start in range(0, len(members), batch):
                chunk = members[start:start + batch]
                positions[chunk], scores[chunk] = self._rank_chunk(
                    kind, chunk, rows, history_rows, history_matrix, item_cols, k, exclude_seen)
        return positions, scores

    def _rank_chunk(
        self,
        kind: int,
        chunk: np.ndarray,
        rows: np.ndarray,
        history_rows: np.ndarray,
        history_matrix: sp.csr_matrix | None,
        item_cols: np.ndarray | None,
        k: int,
        exclude_seen: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The top k of the queries ``chunk`` (positions into ``rows``), all of one kind."""
        if kind == _KNOWN:
            seen = take_rows(self.user_items_, rows[chunk])
        elif kind == _HISTORY:
            seen = take_rows(history_matrix, history_rows[chunk])
        else:
            has_history = history_rows[chunk] >= 0
            seen = (history_matrix[np.maximum(history_rows[chunk], 0)]
                    .multiply(has_history[:, None]).tocsr()
                    if history_matrix is not None else
                    sp.csr_matrix((len(chunk), len(self.items_)), dtype=np.float32))
            return top_k_columns(self._fallback_scores(len(chunk), item_cols), k,
                                 seen if exclude_seen else None, item_cols)
        return self._rank_users(kind, rows[chunk], seen, item_cols, k, exclude_seen)

    def _rank_batch_rows(self, n_cols: int) -> int:
        """Users ranked per call of :meth:`_rank_users`: a dense block of about
        ``SCORE_BLOCK_CELLS`` scores."""
        return max(1, SCORE_BLOCK_CELLS // max(1, n_cols))

    def _rank_users(
        self,
        kind: int,
        user_rows: np.ndarray,
        seen: sp.csr_matrix,
        item_cols: np.ndarray | None,
        k: int,
        exclude_seen: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top k of a batch of users known at fit time (``kind == _KNOWN``, by ``user_rows``)
        or folded in from their ``seen`` rows (``_HISTORY``). Families with a faster search
        than dense scores plus top-k (factor models, ANN) override this."""
        if kind == _KNOWN:
            block = self._score(user_rows, item_cols)
        else:
            block = self._score_history(seen, item_cols)
        return top_k_columns(block, k, seen if exclude_seen else None, item_cols)

    def _fallback_scores(self, n_rows: int, item_cols: np.ndarray | None) -> np.ndarray:
        popularity = self.item_popularity_
        if item_cols is not None:
            popularity = popularity[item_cols]
        return np.broadcast_to(popularity, (n_rows, len(popularity)))

    def similar_items(
        self,
        items: Any,
        k: int = 10,
        candidates: Iterable | None = None,
        exclude: Iterable | None = None,
        on_unknown: str = "raise",
    ) -> Recommendations:
        """The k items most similar to each given item (the item itself excluded).

        Parameters
        ----------
        items : id or list of ids
        k : int
        candidates : list of item ids, optional
            Allow-list of items that may be returned.
        exclude : list of item ids, optional
            Deny-list.
        on_unknown : {"raise", "skip"}
            What to do with item ids the model does not know.

        Returns
        -------
        Recommendations keyed by item.
        """
        self._check_fitted()
        k = check_int("k", k)
        check_choice("on_unknown", on_unknown, ("raise", "skip"))
        item_ids = as_id_array(items)
        rows = self.items_.to_index(item_ids, missing=on_unknown if on_unknown == "raise"
                                    else "ignore", what="item")
        item_ids, rows = item_ids[rows >= 0], rows[rows >= 0]
        item_cols = self._allowed_columns(candidates, exclude)
        itself = sp.csr_matrix((np.ones(len(rows), np.float32), (np.arange(len(rows)), rows)),
                               shape=(len(rows), len(self.items_)))
        top, values = top_k_columns(self._similar_items(rows, item_cols), k, itself, item_cols)
        return Recommendations(item_ids, top, values, self.items_, "item")

    def recommend_for_basket(
        self,
        basket: Iterable,
        k: int = 10,
        items: Iterable | None = None,
        exclude: Iterable | None = None,
        strict: bool = False,
    ) -> Recommendations:
        """Items to add to a basket, cart or session (the basket's own items excluded).

        Families that fold in score the basket as a new user's history; the others add up
        the basket items' similar-item scores.

        Parameters
        ----------
        basket : list of item ids
            Items unknown to the model are ignored and listed in a
            :class:`~recsys.errors.RecsysWarning` (an error under ``strict``); a basket with
            no known item gets the most popular items.
        k : int
        items, exclude : list of item ids, optional
            Allow-list and deny-list (unknown ids in them are ignored, even under ``strict``).
        strict : bool
            Raise :class:`~recsys.errors.UnknownIdError` naming the basket's unknown items
            (the first few, and their count) instead of ignoring them.

        Returns
        -------
        Recommendations with one row keyed ``0`` (column "basket").

        Examples
        --------
        >>> import recsys as rs
        >>> inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "a"])
        >>> model = rs.ItemKNN(k=5).fit(inter)
        >>> model.recommend_for_basket(["a"], k=1)[0]
        ['b']
        >>> model.recommend_for_basket(["a", "zzz"], strict=True)
        Traceback (most recent call last):
        ...
        recsys.errors.UnknownIdError: basket: 1 item(s) unknown to the model (strict=True): 'zzz'
        """
        self._check_fitted()
        k = check_int("k", k)
        found, row = self._basket_row(basket, strict)
        item_cols = self._allowed_columns(items, exclude)
        if len(found) == 0:
            block = self._fallback_scores(1, item_cols)
        elif self.supports_unknown_users:
            block = self._score_history(row, item_cols)
        else:
            block = self._similar_items(found, item_cols).sum(axis=0, keepdims=True)
        top, values = top_k_columns(block, k, row, item_cols)
        return Recommendations([0], top, values, self.items_, "basket")
