"""The ranking interface every model family implements: ``Recommender``.

The public methods here do everything once for all families: validation, id mapping, the
unknown-user policy, seen-item filtering, allow/deny lists, batching and top-k (through
:mod:`recsys.ranking`). A family implements a few hooks:

Required
    ``_fit(interactions, dataset, show_progress)``
        Learn from the training data; set learned state as attributes ending in ``_``.
        Runs on a fresh copy of the model (see :meth:`Recommender.fit`), after the base has
        set ``users_``, ``items_``, ``user_items_`` and ``item_popularity_``.
    ``_score_history(history, item_cols)`` or ``_score(user_rows, item_cols)``
        Dense float scores (n_queries, n_columns) over ``item_cols`` (sorted item
        positions; None: every item). ``_score_history`` scores users given as interaction
        rows over the training items (a CSR matrix): a family that implements it folds in
        unknown users for free and sets ``supports_unknown_users = True``. ``_score``
        scores training users by row; by default it is ``_score_history`` of their
        training rows.

Optional
    ``_similar_items(item_rows, item_cols)``
        Dense item-item scores; by default cosine over the training interactions.
    ``_basket_scores(basket, item_cols, **options)``
        Scores of one basket (a one-row CSR); by default the basket folded in as a user, or
        the sum of its items' similar-item scores. ``options`` are the keyword arguments a
        family adds to :meth:`Recommender.recommend_for_basket`.
    ``_search_index()`` and ``_query_vectors(source, user_rows, seen)``
        Vector families rank through an :class:`~recsys.ranking.Index` over item vectors
        instead of dense scores: the index, and the queries' vectors.
    ``_fallback_scores(n_rows, item_cols)``
        The ranking of users nothing is known about; by default item popularity.
    ``_contributions(user_row, history, column)``
        For :meth:`Recommender.explain`: the parts of one user's score for one item, which
        sum to it, as ``(kind, names, values)``; ``user_row`` is -1 for a user given by a
        one-row ``history``. Families without an exact split leave it out and ``explain``
        says so.
    ``_restore(derived)`` and ``_derived_arrays()``
        Rebuild state derived from the learned arrays after ``fit`` and after loading; save
        derived state that is slow to rebuild (an ANN graph).
    ``_feature_columns()`` and ``_add_items(changes, features, show_progress)``
        The family's part of :meth:`Recommender.add_items` (families with
        ``supports_add_items``): the feature columns it reads, and, like ``_update`` for
        ``changes.new_items`` items without events, the frame's rows encoded into the
        item-indexed state.
    ``_update(changes, show_progress)``
        The family's part of :meth:`Recommender.update`, given a :class:`Changes`: runs on a
        shallow copy of the model after the base has set the grown ``users_``, ``items_``,
        ``user_items_`` and ``item_popularity_``; it must assign new arrays (never modify
        the old ones in place: the model still answers from them) so that every array
        indexed by user or item lines up with the new ids. Without it ``update`` raises.
"""

from __future__ import annotations

import abc
import contextlib
import copy
import enum
import inspect
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._checks import check_choice, check_int
from recsys.data.attributes import AttributeTable, ItemSets, align_attributes, compile_filter
from recsys.data.dataset import Dataset
from recsys.data.features import checked_ids
from recsys.data.ids import IdIndex, as_id_array
from recsys.data.interactions import Interactions
from recsys.errors import (
    ColumnError,
    ConfigError,
    DataError,
    NotFittedError,
    RecsysWarning,
    UnknownIdError,
)
from recsys.models.diversify import Diversify
from recsys.models.results import Recommendations
from recsys.ranking.index import Index
from recsys.ranking.topk import PAD, Allowed, empty_rows, take_rows

if TYPE_CHECKING:  # typing.Self is Python 3.11+; annotations are not evaluated
    from typing_extensions import Self

UNKNOWN_POLICIES = ("raise", "skip", "fallback")
HISTORY_MODES = ("append", "replace")
# Dense score blocks are cut to about this many cells (64 MiB of float32) per batch.
SCORE_BLOCK_CELLS = 1 << 24
# Queries per index search call: bounds the (queries x over-fetch) candidate arrays.
INDEX_BATCH = 4096

_REGISTRY: dict[str, type[Recommender]] = {}

__all__ = ["Changes", "Recommendations", "Recommender", "Source", "registered_models"]


class Source(enum.IntEnum):
    """How a query is scored; an int enum so that a batch's sources are one numpy array."""

    KNOWN = 0  # a user seen in training, scored from the model's state
    HISTORY = 1  # a user folded in from a history given with the request
    FALLBACK = 2  # nothing to go on (or a family that cannot fold in): the fallback ranking


# The members as module names: on Python 3.11 each ``Source.X`` lookup goes through the enum
# metaclass (about a microsecond), and a one-user request made a dozen of them.
SOURCES = tuple(Source)
KNOWN, HISTORY, FALLBACK = SOURCES


class Changes(NamedTuple):
    """What one :meth:`Recommender.update` adds, as a family's ``_update`` hook sees it.

    ``added`` holds the batch's summed weights over the grown users x items (canonical CSR);
    ``previous`` is ``user_items_`` before the update, padded to the same shape, so the new
    ``user_items_`` is their sum. ``order`` and ``times`` align with ``added.data``: the
    order of each (user, item) pair's latest event (its time when the events have times,
    else its position in the batch), and the times themselves (None without times).
    """

    source: Any  # the events as given (a Hybrid forwards them to its members)
    added: sp.csr_matrix
    previous: sp.csr_matrix
    users: np.ndarray  # rows of the users with events, sorted
    items: np.ndarray  # columns of the items with events, sorted
    n_old_users: int
    n_old_items: int
    order: np.ndarray
    times: np.ndarray | None

    @property
    def new_items(self) -> int:
        """Items that appear for the first time in this update."""
        return self.added.shape[1] - self.n_old_items

    def stored(self) -> np.ndarray:
        """For each entry of ``added``: whether its pair was stored before the update."""
        previous = self.previous
        presence = sp.csr_matrix((np.ones(previous.nnz, np.int8), previous.indices,
                                  previous.indptr), shape=previous.shape)
        rows = np.repeat(np.arange(self.added.shape[0]), np.diff(self.added.indptr))
        return np.asarray(presence[rows, self.added.indices]).ravel() > 0


def padded(matrix: sp.csr_matrix, shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix grown to ``shape`` with empty rows and columns (no copy of its arrays).

    Examples
    --------
    >>> padded(sp.csr_matrix([[1.0]]), (2, 3)).toarray().tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    rows = shape[0] - matrix.shape[0]
    indptr = np.concatenate([matrix.indptr, np.full(rows, matrix.indptr[-1],
                                                    matrix.indptr.dtype)])
    out = sp.csr_matrix((matrix.data, matrix.indices, indptr), shape=shape, copy=False)
    out.has_sorted_indices = matrix.has_sorted_indices
    return out


def replace_rows(matrix: sp.csr_matrix, rows: np.ndarray, values: sp.csr_matrix) -> sp.csr_matrix:
    """``matrix`` with row ``rows[i]`` replaced by row i of ``values`` (a new matrix).

    Examples
    --------
    >>> replace_rows(sp.csr_matrix([[1.0], [2.0]]), np.array([1]),
    ...              sp.csr_matrix([[5.0]])).toarray().tolist()
    [[1.0], [5.0]]
    """
    source = np.arange(matrix.shape[0])
    source[rows] = matrix.shape[0] + np.arange(len(rows))
    stacked = sp.vstack([matrix, sp.csr_matrix(values, dtype=matrix.dtype)], format="csr")
    return sp.csr_matrix(stacked[source])


EVENT_COLUMNS = ("user_id", "item_id")


def as_events(events: Any) -> tuple[Interactions, bool]:
    """Events for :meth:`Recommender.update` as Interactions whose ``timestamps`` order the
    pairs (the latest event's time, else the position of its last row) and whether those
    are real times. A frame is validated by :meth:`Interactions.from_pandas`: an error names
    the column and the row, and nothing is applied."""
    if isinstance(events, Interactions):
        if events.timestamps is not None:
            return events, True
        return Interactions(events.matrix, events.users, events.items,
                            np.arange(events.nnz, dtype=np.int64)), False
    if not isinstance(events, pd.DataFrame):
        raise DataError("update expects an Interactions or a DataFrame with columns user_id, "
                        f"item_id[, weight, timestamp], got {type(events).__name__}")
    timed = "timestamp" in events.columns
    frame = events
    if not timed:  # the row order orders a pair's events (for order-aware families)
        frame = events.assign(timestamp=np.arange(len(events), dtype=np.int64))
    inter = Interactions.from_pandas(
        frame, *EVENT_COLUMNS, weight="weight" if "weight" in events.columns else None,
        timestamp="timestamp", duplicates="sum")
    return inter, timed


def item_ids_of(features: Any) -> np.ndarray:
    """The ``item_id`` column of an :meth:`Recommender.add_items` frame, checked: present,
    no missing and no repeated id (the row named)."""
    column = EVENT_COLUMNS[1]
    if not isinstance(features, pd.DataFrame):
        raise DataError(f"add_items expects a DataFrame with an {column!r} column and the "
                        f"feature columns, got {type(features).__name__}")
    if column not in features.columns:
        raise ColumnError(f"add_items needs the item ids in a column {column!r}; the frame "
                          f"has {list(features.columns)[:20]}")
    ids = checked_ids(features, column)
    return as_id_array(ids.to_numpy())


def registered_models() -> dict[str, type[Recommender]]:
    """Every Recommender subclass by class name (what :func:`recsys.load` may construct)."""
    import recsys.models  # noqa: F401  (importing the package registers the families)

    return dict(_REGISTRY)


def as_scores(block: np.ndarray) -> np.ndarray:
    """A family's scores as ranked and returned: float32 (ties at float32 go by item)."""
    return np.asarray(block, dtype=np.float32)


def as_interactions(data: Interactions | Dataset) -> tuple[Interactions, Dataset | None]:
    """The interactions of ``data`` and the dataset around them, if any."""
    if isinstance(data, Dataset):
        return data.interactions, data
    if isinstance(data, Interactions):
        return data, None
    raise DataError(f"fit expects an Interactions or a Dataset, got {type(data).__name__}")


class Recommender(abc.ABC):
    """Base class of all recommenders. See the module docstring for the hooks a family
    implements.

    Capability flags (class attributes) drive the generic logic:

    - ``supports_unknown_users``: can score users absent at fit time from their history.
    - ``supports_cold_items``: can score items without interactions (from their features).
    - ``supports_add_items``: has :meth:`add_items` (scores a new item from its features).
    - ``uses_item_features``: reads ``Dataset.item_features`` in ``fit``.
    - ``uses_order``: scores a history by the order of its items (session models): a
      ``history`` then reaches the family with each item's position (1 for the first,
      duplicates keep their latest) as its value.
    """

    supports_unknown_users: ClassVar[bool] = False
    supports_cold_items: ClassVar[bool] = False
    supports_add_items: ClassVar[bool] = False
    uses_item_features: ClassVar[bool] = False
    uses_order: ClassVar[bool] = False

    # Set by fit (declared, not assigned: ``is_fitted`` looks for them).
    users_: IdIndex
    items_: IdIndex
    user_items_: sp.csr_matrix
    item_popularity_: np.ndarray

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        scores = any(getattr(cls, hook) is not getattr(Recommender, hook)
                     for hook in ("_score", "_score_history"))
        if not scores:
            raise TypeError(f"{cls.__name__} must implement _score_history or _score")
        _REGISTRY[cls.__name__] = cls

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        """Learn from the training data (see the module docstring)."""

    def _score(self, user_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        return self._score_history(take_rows(self.user_items_, user_rows), item_cols)

    def _score_history(self, history: sp.csr_matrix, item_cols: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} cannot score from a history")

    def _similar_items(self, item_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        binary = self.user_items_.astype(bool).astype(np.float32).tocsc()
        norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel())
        normalized = binary @ sp.diags(1.0 / np.maximum(norms, 1e-12))
        columns = normalized if item_cols is None else normalized[:, item_cols]
        return (normalized[:, item_rows].T @ columns).toarray()

    def _basket_scores(self, basket: sp.csr_matrix, item_cols: np.ndarray | None,
                       **options: Any) -> np.ndarray:
        if options:
            raise ConfigError(f"recommend_for_basket of {type(self).__name__} takes no "
                              f"argument {sorted(options)[0]!r}")
        if self.supports_unknown_users:
            return self._score_history(basket, item_cols)
        return self._similar_items(basket.indices, item_cols).sum(axis=0, keepdims=True)

    def _search_index(self) -> Index | None:
        return None

    def _contributions(self, user_row: int, history: sp.csr_matrix,
                       column: int) -> tuple[str, np.ndarray, np.ndarray]:
        raise ConfigError(f"explain is not available for {type(self).__name__}: its scores "
                          "have no exact split into parts")

    def _query_vectors(self, source: Source, user_rows: np.ndarray,
                       seen: sp.csr_matrix) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no query vectors")

    def _fallback_scores(self, n_rows: int, item_cols: np.ndarray | None) -> np.ndarray:
        popularity = self.item_popularity_
        if item_cols is not None:
            popularity = popularity[item_cols]
        return np.broadcast_to(popularity, (n_rows, len(popularity)))

    def _restore(self, derived: Mapping[str, np.ndarray] | None = None) -> None:
        """Rebuild state derived from the learned arrays; ``derived`` holds what
        :meth:`_derived_arrays` returned when the model was saved (None after ``fit``).
        Nothing to rebuild by default."""
        return None

    def _derived_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _check_state(self) -> None:
        """Check that the family's learned state fits together, after :func:`recsys.load`
        set it from files and before any other method runs: shapes against ``users_`` /
        ``items_`` (whose own consistency the loader has checked), positions in range,
        scalars of the right type. Raise :class:`recsys.errors.ModelFileError` naming the
        attribute (helpers in ``recsys.models._state``). Nothing by default."""
        return None

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor arguments, as given."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
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
    def fit(self, data: Interactions | Dataset, show_progress: bool = False) -> Self:
        """Learn from interactions (or a Dataset, for families that use side features).

        The fit is transactional: the new state is built on a copy of the model and
        assigned in one step at the end, so a fit that fails (bad parameters, bad data, an
        interrupt) leaves a previously fitted model exactly as it was, still answering.

        Parameters
        ----------
        data : Interactions or Dataset
        show_progress : bool
            Show a progress bar on long fits.

        Returns
        -------
        self

        Examples
        --------
        >>> import recsys as rs
        >>> inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "a"])
        >>> model = rs.ItemKNN(k=5).fit(inter)
        >>> try:
        ...     model.set_params(k=-1).fit(inter)
        ... except rs.errors.ConfigError:
        ...     pass
        >>> model.recommend(["u2"], k=1)["u2"]  # still the model fitted with k=5
        ['b']
        """
        interactions, dataset = as_interactions(data)
        if interactions.nnz == 0:
            raise DataError("cannot fit on interactions with no stored entries")
        fresh = copy.copy(self)
        fresh.__dict__ = {name: getattr(self, name) for name in self._param_names()}
        with self._rollback_members():  # members (a Hybrid's) are fitted in place
            fresh.users_ = interactions.users
            fresh.items_ = interactions.items
            fresh.user_items_ = interactions.matrix
            # Users per item: the fallback ranking for users no family can score.
            fresh.item_popularity_ = np.bincount(
                interactions.matrix.indices, minlength=interactions.n_items).astype(np.float32)
            fresh._fit(interactions, dataset, show_progress)
            self._carry_item_rules(fresh)
        self.__dict__ = fresh.__dict__  # one assignment: readers see old or new, never a mix
        return self

    # ------------------------------------------------------------------ updating
    def update(self, events: Interactions | pd.DataFrame, *,
               show_progress: bool = False) -> Self:
        """Add interactions to a fitted model without refitting it.

        New users and items extend the id maps; the events join ``user_items_`` (weights of
        a repeated user-item pair add up, as ``duplicates="sum"`` at fit) and the item
        popularity; then each family updates its learned state as cheaply as it exactly can
        (README, "Updating a model": history-based families score from the grown history,
        ALS re-solves the changed users and items, Popularity recounts).

        The update is transactional: the new state is built aside and assigned at the end,
        so a reader sees old or new arrays, and an update that fails (a bad row, an
        interrupt) leaves the model answering exactly as before.

        Parameters
        ----------
        events : Interactions or DataFrame
            A frame has columns ``user_id``, ``item_id``, optionally ``weight`` (1 per row
            without it) and ``timestamp`` (numbers, datetimes or ISO 8601 strings), with the
            rules of :meth:`Interactions.from_pandas` (an error names the column and row).
        show_progress : bool
            Show a progress bar on long updates.

        Returns
        -------
        self

        Examples
        --------
        >>> import pandas as pd
        >>> import recsys as rs
        >>> inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "a"])
        >>> model = rs.ItemKNN(k=5).fit(inter)
        >>> model.recommend("u2", k=1)["u2"]
        ['b']
        >>> _ = model.update(pd.DataFrame({"user_id": ["u2", "u3"], "item_id": ["b", "a"]}))
        >>> model.recommend("u3", k=1)["u3"]  # a new user, known from its events
        ['b']
        >>> model.recommend("u2", k=1)["u2"]  # u2 has seen everything now
        []
        """
        self._check_fitted()
        batch, timed = as_events(events)
        user_index = self.users_.to_index(batch.users.ids, missing="ignore")
        item_index = self.items_.to_index(batch.items.ids, missing="ignore")
        users = self.users_.extend(batch.users.ids[user_index < 0])
        items = self.items_.extend(batch.items.ids[item_index < 0])
        user_index[user_index < 0] = len(self.users_) + np.arange(int((user_index < 0).sum()))
        item_index[item_index < 0] = len(self.items_) + np.arange(int((item_index < 0).sum()))
        batch_rows, batch_cols, values = batch.entries()
        rows, cols = user_index[batch_rows], item_index[batch_cols]
        order = np.lexsort((cols, rows))  # canonical CSR order in the grown index
        shape = (len(users), len(items))
        indptr = np.zeros(shape[0] + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
        added = sp.csr_matrix((values[order], cols[order].astype(np.int32), indptr),
                              shape=shape)
        added.has_sorted_indices = True
        added.has_canonical_format = True
        keys = np.asarray(batch.timestamps)[order]
        changes = Changes(events, added, padded(self.user_items_, shape), np.unique(rows),
                          np.unique(cols), len(self.users_), len(self.items_), keys,
                          keys if timed else None)
        self._apply(changes, users, items, lambda fresh: fresh._update(changes, show_progress))
        return self

    def _apply(self, changes: Changes, users: IdIndex, items: IdIndex,
               learn: Callable[[Recommender], None]) -> None:
        """Grow the ids, history and popularity by ``changes`` on a copy of the model, run
        ``learn`` on the copy (the family's step), then swap the copy's state in."""
        user_items = sp.csr_matrix(changes.previous + changes.added, dtype=np.float32)
        user_items.sort_indices()
        fresh = copy.copy(self)
        fresh.__dict__ = dict(self.__dict__)
        fresh.users_, fresh.items_, fresh.user_items_ = users, items, user_items
        fresh.item_popularity_ = np.bincount(user_items.indices,
                                             minlength=len(items)).astype(np.float32)
        # Only the copy changes: a Hybrid's step updates copies of its members.
        learn(fresh)
        if len(items) > len(self.items_):  # item attributes and sets: realigned, not shared
            for name in ("_item_table", "_item_attributes", "_item_sets"):
                fresh.__dict__.pop(name, None)
            self._carry_item_rules(fresh)
        self.__dict__ = fresh.__dict__  # one assignment: readers see old or new, never a mix

    # ------------------------------------------------------------------ adding items
    def add_items(self, features: pd.DataFrame, *, show_progress: bool = False) -> Self:
        """Add items, or replace the features of known ones, without refitting: a new item
        is scored from its features alone (families with ``supports_add_items``:
        :class:`~recsys.models.content.ContentBased`, :class:`~recsys.models.lightfm.LightFM`,
        and a :class:`~recsys.models.hybrid.Hybrid` holding one of them).

        Features are encoded as at fit, with the fitted vocabularies and scalings: a
        category, label or term the model has not seen sets no feature. New items have no
        interactions (their popularity is 0) until events arrive through :meth:`update`.
        All-or-nothing, like :meth:`update`: a bad frame raises an error naming the column
        or row and nothing is applied.

        Parameters
        ----------
        features : pandas.DataFrame
            One row per item: the item id in column ``item_id`` (as in :meth:`update`'s
            events), and the columns the family was fitted with (see the family's
            ``add_items``); a column the model does not use is an error.
        show_progress : bool
            Show a progress bar on long additions.

        Returns
        -------
        self

        Raises
        ------
        recsys.errors.ConfigError
            The family cannot score items from features (its name is in the message).
        recsys.errors.DataError
            A missing, repeated or NaN id, a missing or unknown column, a value of the wrong
            type (the column and row named).

        Examples
        --------
        >>> import pandas as pd, recsys as rs
        >>> inter = rs.Interactions.from_arrays(["u1", "u2", "u2"], ["a", "b", "c"])
        >>> items = pd.DataFrame({"genres": ["Drama", "Drama|War", "War"]}, index=["a", "b", "c"])
        >>> model = rs.ContentBased(multilabel_columns=["genres"]).fit(
        ...     rs.Dataset(inter, items=items))
        >>> new = pd.DataFrame({"item_id": ["d"], "genres": ["Drama"]})
        >>> model.add_items(new).recommend("u1", k=2)["u1"]
        ['d', 'b']
        """
        self._check_fitted()
        if not self.supports_add_items:
            raise ConfigError(f"{type(self).__name__} cannot score an item from its features, "
                              "so it has no add_items: new items join through update(events) "
                              "(ContentBased, LightFM and a Hybrid holding one have add_items)")
        ids = item_ids_of(features)
        required, readable = self._feature_columns()
        unknown = [c for c in features.columns if c != EVENT_COLUMNS[1] and c not in readable]
        if unknown:
            raise ColumnError(f"add_items: column(s) {unknown} are not item features of this "
                              f"{type(self).__name__}; it reads {readable}")
        absent = [c for c in required if c not in features.columns]
        if absent:
            raise ColumnError(f"add_items: feature column(s) {absent} missing; this "
                              f"{type(self).__name__} reads {readable}")
        new = self.items_.to_index(ids, missing="ignore") < 0
        items = self.items_.extend(ids[new])
        shape = (len(self.users_), len(items))
        empty = sp.csr_matrix(shape, dtype=np.float32)
        none = np.zeros(0, np.int64)
        changes = Changes(features, empty, padded(self.user_items_, shape), none, none,
                          len(self.users_), len(self.items_), none, None)
        self._apply(changes, self.users_, items,
                    lambda fresh: fresh._add_items(changes, features, show_progress))
        return self

    def _feature_columns(self) -> tuple[list[str], list[str]]:
        """For :meth:`add_items`: the feature columns a frame must hold, and those it may
        hold (raise :class:`~recsys.errors.ConfigError` when the model cannot add items)."""
        raise NotImplementedError(f"{type(self).__name__} has no _feature_columns")

    def _add_items(self, changes: Changes, features: pd.DataFrame,
                   show_progress: bool) -> None:
        """The family's part of :meth:`add_items`: as ``_update`` (on a copy, ids and
        history already grown by ``changes.new_items`` items without events), and the rows
        of ``features`` (ids and columns checked) encoded into the item-indexed state."""
        raise NotImplementedError(f"{type(self).__name__} has no _add_items")

    def _update(self, changes: Changes, show_progress: bool) -> None:
        raise ConfigError(f"{type(self).__name__} cannot be updated with events; fit it "
                          "again on all the data")

    def _warn_unscored(self, changes: Changes, until: str = "the next fit") -> None:
        """Say how many new items the model cannot score until ``until``."""
        if changes.new_items:
            warnings.warn(
                f"{type(self).__name__}.update: {changes.new_items} new item(s) cannot be "
                f"scored until {until}; they score as no evidence (0) meanwhile",
                RecsysWarning, stacklevel=4)

    @contextlib.contextmanager
    def _rollback_members(self) -> Iterator[None]:
        """Members (a Hybrid's) change in place: put every one back if the block fails."""
        members = self._submodels()
        saved = [dict(member.__dict__) for member in members]
        try:
            yield
        except BaseException:
            for member, state in zip(members, saved, strict=True):
                member.__dict__ = state
            raise

    def _submodels(self) -> list[Recommender]:
        """Every model this one fits in place (a Hybrid's members), recursively."""
        members = getattr(self, "_members", None)
        if members is None:
            return []
        out: list[Recommender] = []
        for member in members().values():
            out += [member, *member._submodels()]
        return out

    def _carry_item_rules(self, fresh: Recommender) -> None:
        """Item attributes and named sets outlive a refit: realigned to the new items."""
        table = self.__dict__.get("_item_table")
        sets = self.__dict__.get("_item_sets")
        if table is not None:
            fresh.set_item_attributes(table)
        for name, ids in ({} if sets is None else sets).items():
            fresh.item_sets[name] = ids

    # ------------------------------------------------------------------ item rules
    def set_item_attributes(self, frame: pd.DataFrame) -> Self:
        """Attach item attributes for ``where=`` filters; no refit needed.

        Parameters
        ----------
        frame : pandas.DataFrame
            Indexed by item id, one column per attribute (category, brand, price,
            in_stock, valid_until, ...). Replaces any table attached before. Items of the
            model missing from it hold missing values (they satisfy no condition); rows of
            ids the model does not know are ignored. Kept across refits.

        Returns
        -------
        self

        Examples
        --------
        >>> import pandas as pd, recsys as rs
        >>> inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "c"])
        >>> model = rs.Popularity().fit(inter)
        >>> attributes = pd.DataFrame({"in_stock": [True, False, True]}, index=["a", "b", "c"])
        >>> model.set_item_attributes(attributes).recommend(
        ...     ["u2"], k=3, where={"in_stock": True})["u2"]
        ['a']
        """
        self._check_fitted()
        self._item_attributes = align_attributes(frame, self.items_.ids)
        self._item_table = frame.copy()
        return self

    @property
    def item_attributes(self) -> pd.DataFrame:
        """The item attributes aligned to the model's items (no columns when none were
        attached); see :meth:`set_item_attributes`."""
        self._check_fitted()
        attributes = self.__dict__.get("_item_attributes")
        return pd.DataFrame(index=self.items_.ids) if attributes is None else attributes

    def _attribute_table(self) -> AttributeTable:
        """The item attributes with their columns' fast forms for filters, kept while the
        table is the same object (attaching attributes, and every update, replaces it)."""
        attributes = self.item_attributes
        table = self.__dict__.get("_filter_table")
        if table is None or table.frame is not attributes:
            table = AttributeTable(attributes)
            self.__dict__["_filter_table"] = table
        return table

    @property
    def item_sets(self) -> ItemSets:
        """Named item sets usable as ``where={"set": name}``:
        ``model.item_sets["in_stock"] = ids``. Kept across refits."""
        self._check_fitted()
        if "_item_sets" not in self.__dict__:
            self._item_sets = ItemSets(self._item_mask)
        return self._item_sets

    def _item_mask(self, ids: np.ndarray) -> np.ndarray:
        found = self.items_.to_index(as_id_array(ids), missing="ignore")
        mask = np.zeros(len(self.items_), bool)
        mask[found[found >= 0]] = True
        return mask

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
        where: Mapping | None = None,
        diversify: Diversify | None = None,
        history_mode: str = "append",
    ) -> Recommendations:
        """Top-k items for each user.

        Parameters
        ----------
        users : id or list of ids
            External user ids.
        k : int
            List length, at least 1 (``k <= 0`` raises :class:`~recsys.errors.ConfigError`).
            A ``k`` above the number of recommendable items is allowed: those lists are
            shorter (``-1`` / NaN padding in ``positions`` / ``scores``, at most as wide as
            the catalog).
        exclude_seen : bool
            Drop items the user interacted with (in training, or in ``history``).
        items : list of item ids, optional
            Allow-list: only these items may be recommended (unknown ids are ignored).
        exclude : list of item ids, optional
            Deny-list: never recommend these.
        history : dict user -> list of items, or DataFrame with columns user, item[, weight]
            Interactions to score users from (fold-in): of users the model does not know,
            or new interactions of known users (see ``history_mode``). Families that cannot
            fold in treat unknown users as unknown and use the history only to exclude seen
            items. Items unknown to the model are ignored and
            listed in a :class:`~recsys.errors.RecsysWarning` (an error under ``strict``); a
            history with no known item is no evidence, and its user is treated as unknown.
        on_unknown : {"raise", "skip", "fallback"}
            Unknown users (not in training, not foldable): raise an error naming them, leave
            them out of the result, or give them the most popular items.
        strict : bool
            Raise instead of warning when ``history`` holds items unknown to the model. The
            allow/deny lists are filters, not evidence, and never raise for unknown items.
        where : mapping, optional
            A filter over the item attributes (:meth:`set_item_attributes`) and named item
            sets (:attr:`item_sets`), e.g. ``{"in_stock": True, "price": {"lt": 500}}``; see
            :mod:`recsys.data.attributes` for the language. Combined with ``items`` and
            ``exclude``; applied inside the ranking like an allow-list.
        history_mode : {"append", "replace"}
            For known users given a ``history``: "append" (default) adds it to what the
            model knows of them, so a backend sends only the events since the last fit;
            "replace" scores them from the given history alone. Families that cannot fold in
            score known users from the model's state either way, and never recommend an item
            of the history; order-aware families (sessions) take a history as the whole
            session.
        diversify : Diversify, optional
            Re-rank each list for diversity (MMR over an attribute or item vectors, caps per
            attribute value) from an over-fetched candidate list; see
            :class:`~recsys.models.diversify.Diversify`.

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
        k = self._list_length(k)
        check_choice("on_unknown", on_unknown, UNKNOWN_POLICIES)
        user_ids = as_id_array(users)
        rows = self.users_.to_index(user_ids, missing="ignore")
        # int(): numpy converts a plain int several times faster than an IntEnum member.
        source = np.where(rows >= 0, int(KNOWN), int(FALLBACK))
        history_rows = np.full(len(user_ids), -1, np.int64)
        history_matrix = None
        if history is not None:
            check_choice("history_mode", history_mode, HISTORY_MODES)
            history_users, history_matrix = self._history_matrix(history, strict)
            history_rows = history_users.to_index(user_ids, missing="ignore")
            if history_mode == "append":
                history_rows, history_matrix = self._appended(rows, history_rows,
                                                              history_matrix)
            if self.supports_unknown_users:
                # A history without a known item carries no preference: the fallback ranks it.
                given = history_rows >= 0
                given[given] = np.diff(history_matrix.indptr)[history_rows[given]] > 0
                source[given] = int(HISTORY)
        unknown = source == int(FALLBACK)
        if unknown.any():
            if on_unknown == "raise":
                self.users_.to_index(user_ids[unknown], what="user")
            if on_unknown == "skip":
                keep = ~unknown
                user_ids, rows, source, history_rows = (
                    user_ids[keep], rows[keep], source[keep], history_rows[keep])
        allowed = self._allowed(items, exclude, where)
        width = k if diversify is None else min(diversify.candidates(k), len(self.items_))
        positions, scores = self._rank(source, rows, history_rows, history_matrix, allowed,
                                       width, exclude_seen)
        if diversify is not None:
            positions, scores = diversify.apply(self, positions, scores, k)
        return Recommendations(user_ids, positions, scores, self.items_, "user",
                               sources=np.asarray(source, np.int8))

    def _list_length(self, k: Any) -> int:
        """``k`` checked, and capped at the number of items: no list can be longer."""
        return min(check_int("k", k), len(self.items_))

    def _allowed(self, items: Iterable | None, exclude: Iterable | None,
                 where: Mapping | None = None) -> Allowed:
        """The allow-list, deny-list and filter as the ranking applies them."""
        if items is None and exclude is None and where is None:
            return Allowed()
        mask = (np.ones(len(self.items_), bool) if where is None else
                compile_filter(where, self._attribute_table(), self.item_sets.masks()))
        if items is not None:
            listed = np.zeros(len(self.items_), bool)
            found = self.items_.to_index(as_id_array(items), missing="ignore")
            listed[found[found >= 0]] = True
            mask &= listed
        if exclude is not None:
            found = self.items_.to_index(as_id_array(exclude), missing="ignore")
            mask[found[found >= 0]] = False
        return Allowed.of(mask)

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
        user_rows = np.asarray(user_rows)
        if self.uses_order:  # positions in the order given (by time when a frame has it)
            order = (np.lexsort((frame["timestamp"].to_numpy(), user_rows))
                     if "timestamp" in frame.columns else np.argsort(user_rows, kind="stable"))
            weights = np.empty(len(frame), np.float32)
            starts = np.searchsorted(user_rows[order], user_rows[order])
            weights[order] = np.arange(len(frame)) - starts + 1
        known = cols >= 0
        matrix = sp.coo_matrix((weights[known], (user_rows[known], cols[known])),
                               shape=(len(user_index), len(self.items_)), dtype=np.float32)
        if self.uses_order:  # a repeated item keeps its latest position
            frame_known = pd.DataFrame({"r": matrix.row, "c": matrix.col, "w": matrix.data})
            latest = frame_known.groupby(["r", "c"], sort=True)["w"].max().reset_index()
            matrix = sp.coo_matrix((latest["w"], (latest["r"], latest["c"])),
                                   shape=matrix.shape, dtype=np.float32)
        matrix = matrix.tocsr()
        matrix.sum_duplicates()
        return user_index, matrix

    def _rank(
        self,
        source: np.ndarray,
        rows: np.ndarray,
        history_rows: np.ndarray,
        history: sp.csr_matrix | None,
        allowed: Allowed,
        k: int,
        exclude_seen: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Positions and scores of the top k, queries ranked in batches of one source."""
        n_queries = len(rows)
        n_cols = len(self.items_) if allowed.columns is None else len(allowed.columns)
        index = self._search_index()
        batch = INDEX_BATCH if index is not None else max(1, SCORE_BLOCK_CELLS // max(1, n_cols))
        present = np.flatnonzero(np.bincount(source, minlength=len(SOURCES)))
        if len(present) == 1 and n_queries <= batch:  # one request: no gathering, no copies
            return self._rank_batch(SOURCES[present[0]], slice(None), rows, history_rows,
                                    history, allowed, k, exclude_seen)
        positions = np.full((n_queries, k), PAD, np.int64)
        scores = np.full((n_queries, k), np.nan, np.float32)
        for code in present.tolist():
            members = np.flatnonzero(source == code)
            for start in range(0, len(members), batch):
                chunk = members[start:start + batch]
                positions[chunk], scores[chunk] = self._rank_batch(
                    SOURCES[code], chunk, rows, history_rows, history, allowed, k,
                    exclude_seen)
        return positions, scores

    def _rank_batch(
        self,
        source: Source,
        chunk: np.ndarray | slice,
        rows: np.ndarray,
        history_rows: np.ndarray,
        history: sp.csr_matrix | None,
        allowed: Allowed,
        k: int,
        exclude_seen: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The top k of the queries ``chunk`` (positions into ``rows``, or a slice), all of
        ``source``: through the family's index when it has one, else its dense scores."""
        rows, history_rows = rows[chunk], history_rows[chunk]
        seen = self._seen_rows(source, rows, history_rows, history)
        exclude = seen if exclude_seen else None
        cols = allowed.columns
        if source is FALLBACK:
            return allowed.top_k(self._fallback_scores(len(rows), cols), k, exclude)
        index = self._search_index()
        if index is not None:
            vectors = self._query_vectors(source, rows, seen)
            return index.search_unchecked(vectors, k, exclude, allowed.positions())
        block = (self._score(rows, cols) if source is KNOWN
                 else self._score_history(seen, cols))
        return allowed.top_k(as_scores(block), k, exclude, overwrite=True)

    def _appended(self, rows: np.ndarray, history_rows: np.ndarray,
                  history: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix]:
        """History rows of known users extended by their training rows (new rows appended
        to ``history``; the others unchanged)."""
        both = np.flatnonzero((rows >= 0) & (history_rows >= 0))
        if len(both) == 0 or self.uses_order:  # a session is given whole
            return history_rows, history
        combined = take_rows(self.user_items_, rows[both]) + take_rows(history,
                                                                       history_rows[both])
        out = history_rows.copy()
        out[both] = history.shape[0] + np.arange(len(both))
        return out, sp.vstack([history, sp.csr_matrix(combined, dtype=np.float32)],
                              format="csr")

    def _seen_rows(self, source: Source, rows: np.ndarray, history_rows: np.ndarray,
                   history: sp.csr_matrix | None) -> sp.csr_matrix:
        """The queries' interactions: training rows of known users (with their appended
        history, if any), else the given history (an empty row for users without one)."""
        if source is HISTORY:
            return take_rows(history, history_rows)
        with_history = history_rows >= 0
        # The common request carries no history: no matrix is built for it (a scipy
        # constructor costs more than ranking one user on a small catalog).
        if history is None or not with_history.any():
            return (empty_rows(len(rows), len(self.items_)) if source is FALLBACK
                    else take_rows(self.user_items_, rows))
        given = take_rows(history, np.maximum(history_rows, 0)).multiply(
            with_history[:, None]).tocsr()
        if source is FALLBACK:
            return given
        return sp.csr_matrix(take_rows(self.user_items_, rows) + given)

    def explain(self, user: Any, item: Any, n: int = 5,
                history: Mapping | pd.DataFrame | None = None,
                strict: bool = False) -> pd.DataFrame:
        """Why ``item`` scores what it does for ``user``: the parts of the score, largest
        first, which sum to it (exactly, in float64).

        Item-item families (ItemKNN, RP3beta, EASE) and ALS split the score over the user's
        history items ("because you bought X"); AssociationRules credits the items of the
        strongest matching rule; Popularity gives one part; BPR and LMF split it over latent
        factors; a Hybrid over its members; ContentBased over features and history items.

        Parameters
        ----------
        user : id
            A user known at fit time, or one given in ``history``.
        item : id
        n : int
            Parts to return, largest contribution first (parts of 0 left out).
        history : dict or DataFrame, optional
            As in :meth:`recommend`: interactions of a user unknown to the model (they take
            precedence for a known user).
        strict : bool
            As in :meth:`recommend`, for items of ``history`` unknown to the model.

        Returns
        -------
        pandas.DataFrame
            Columns ``kind``, ``name``, ``contribution`` and ``share`` (contribution / score);
            the score is in ``frame.attrs["score"]``.

        Examples
        --------
        >>> import recsys as rs
        >>> inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u2"], ["a", "b", "a", "c"])
        >>> model = rs.ItemKNN(similarity="cosine").fit(inter)
        >>> model.explain("u1", "c")[["kind", "name"]].values.tolist()
        [['item', 'a']]
        """
        self._check_fitted()
        n = check_int("n", n)
        column = int(self.items_.to_index(as_id_array(item), what="item")[0])
        row, user_row = None, -1
        if history is not None:
            users, matrix = self._history_matrix(history, strict)
            found = users.to_index(as_id_array(user), missing="ignore")[0]
            row = take_rows(matrix, np.array([found])) if found >= 0 else None
        if row is None:
            if user not in self.users_:
                raise UnknownIdError(f"user {user!r} is unknown to the model; pass its "
                                     "interactions as history=", [user])
            user_row = int(self.users_.to_index(as_id_array(user))[0])
            row = take_rows(self.user_items_, np.array([user_row]))
        kind, names, values = self._contributions(user_row, row, column)
        values = np.asarray(values, dtype=np.float64)
        score = float(values.sum())
        keep = np.flatnonzero(values != 0)
        keep = keep[np.lexsort((keep, -np.abs(values[keep])))][:n]
        frame = pd.DataFrame({"kind": kind, "name": np.asarray(names, dtype=object)[keep],
                              "contribution": values[keep]})
        frame["share"] = frame["contribution"] / score if score != 0 else np.nan
        frame.attrs["score"] = score
        return frame

    def similar_items(
        self,
        items: Any,
        k: int = 10,
        candidates: Iterable | None = None,
        exclude: Iterable | None = None,
        on_unknown: str = "raise",
        where: Mapping | None = None,
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
        where : mapping, optional
            A filter over item attributes and sets, as in :meth:`recommend`.

        Returns
        -------
        Recommendations keyed by item; :meth:`Recommendations.to_pandas` names the query
        column "query_item" (and the similar items "item").
        """
        self._check_fitted()
        k = self._list_length(k)
        check_choice("on_unknown", on_unknown, ("raise", "skip"))
        item_ids = as_id_array(items)
        rows = self.items_.to_index(item_ids, missing=on_unknown if on_unknown == "raise"
                                    else "ignore", what="item")
        item_ids, rows = item_ids[rows >= 0], rows[rows >= 0]
        allowed = self._allowed(candidates, exclude, where)
        itself = sp.csr_matrix((np.ones(len(rows), np.float32), (np.arange(len(rows)), rows)),
                               shape=(len(rows), len(self.items_)))
        top, values = allowed.top_k(as_scores(self._similar_items(rows, allowed.columns)), k,
                                    itself, overwrite=True)
        return Recommendations(item_ids, top, values, self.items_, "query_item")

    def recommend_for_basket(
        self,
        basket: Iterable,
        k: int = 10,
        items: Iterable | None = None,
        exclude: Iterable | None = None,
        strict: bool = False,
        where: Mapping | None = None,
        **options: Any,
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
        where : mapping, optional
            A filter over item attributes and sets, as in :meth:`recommend`.
        **options
            Family-specific scoring options (``metric=`` for :class:`AssociationRules`).

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
        k = self._list_length(k)
        found, row = self._basket_row(basket, strict)
        allowed = self._allowed(items, exclude, where)
        if len(found) == 0:
            block = self._fallback_scores(1, allowed.columns)
        else:
            block = self._basket_scores(row, allowed.columns, **options)
        top, values = allowed.top_k(as_scores(block), k, row)
        return Recommendations([0], top, values, self.items_, "basket")
