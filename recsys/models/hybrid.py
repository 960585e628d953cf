"""Hybrid recommender: fuse the rankings of several models, with fallbacks for what they miss.

Every member scores the same items; each member's scores are normalised per user over its own
candidate list (its top ``candidates`` items), then combined as a weighted sum. A fallback
chain stands in for a member on the users or items it cannot score (a user known only from a
``history`` for a member that cannot fold in; items without interactions for a member that
needs them).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._checks import check_choice, check_int, check_real
from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError, DataError, ModelFileError
from recsys.models._fusion import Query, fusion_values, weighted_sum
from recsys.models._state import expect, expect_scalar
from recsys.models._weight_search import fit_weights
from recsys.models.base import EVENT_COLUMNS, Changes, Recommender
from recsys.models.popularity import Popularity
from recsys.ranking.topk import excluded_mask, take_rows
from recsys.split import random as random_split

if TYPE_CHECKING:  # typing.Self is Python 3.11+; annotations are not evaluated
    from typing_extensions import Self

LOG = logging.getLogger("recsys")

METHODS = ("score", "rank", "rrf")
NORMALIZATIONS = ("minmax", "zscore", "rank")


def _as_model_list(value: Any, name: str, allow_empty: bool) -> list[Recommender]:
    if value is None:
        models: list = []
    elif isinstance(value, Recommender):
        models = [value]
    else:
        try:
            models = list(value)
        except TypeError:
            raise ConfigError(f"{name} must be a Recommender or a list of them, "
                              f"got {value!r}") from None
    bad = [m for m in models if not isinstance(m, Recommender)]
    if bad:
        raise ConfigError(f"{name} must hold Recommender instances, got {bad[0]!r}")
    if not models and not allow_empty:
        raise ConfigError(f"{name} must name at least one model")
    return models


def _restricted(dataset: Dataset, part: Interactions, held_out: Interactions) -> Dataset:
    """The Dataset with ``part`` as its interactions and, so that no member learns from the
    held-out entries through them, its events without the held-out (user, item) pairs; the
    events are dropped when they have no user and item column to match."""
    events = dataset.events
    if events is not None:
        user = next((c for c in ("user_id", "user") if c in events.columns), None)
        item = next((c for c in ("item_id", "item") if c in events.columns), None)
        if user is None or item is None:
            events = None
        else:
            rows = held_out.users.to_index(events[user].to_numpy(), missing="ignore")
            cols = held_out.items.to_index(events[item].to_numpy(), missing="ignore")
            known = (rows >= 0) & (cols >= 0)
            held = np.zeros(len(events), bool)
            held[known] = np.asarray(held_out.matrix[rows[known], cols[known]]).ravel() != 0
            events = events[~held]
    return dataclasses.replace(dataset, interactions=part, events=events)


class Hybrid(Recommender):
    """Weighted fusion of several recommenders, with a fallback chain.

    Parameters
    ----------
    models : list of Recommender
        The members, as instances; :meth:`fit` fits them **in place** (pass clones to keep
        fitted originals). They are fitted on the same data, so a member that needs side
        information (ContentBased, LightFM) requires fitting the Hybrid on a Dataset.
    weights : "auto", list of float or None
        "auto" (the default): chosen at :meth:`fit` on a validation split carved from the
        training data (see Notes), so that the fusion is never below its best member there.
        A list: one non-negative weight per member, used as given; only their ratios matter.
        None: equal weights. :func:`recsys.fit_weights` runs the same search, with more
        options, on a Hybrid fitted already.
    method : {"score", "rank", "rrf"}
        "score": weighted sum of each member's scores normalised by ``normalize``;
        "rank": weighted Borda count (each member's list scaled from 1 for its first item to
        0 for its last; the same as ``method="score", normalize="rank"``); "rrf": reciprocal
        rank fusion, ``sum_m w_m / (rrf_k + rank_m)`` (Cormack et al., 2009).
    normalize : {"minmax", "zscore", "rank"}
        Per-user normalisation of each member's scores over its candidate list
        (``method="score"`` only).
    fallback : Recommender or list of Recommender, optional
        A chain of models standing in for a member where it cannot score: for users given
        only by a ``history`` to a member that cannot fold them in, the first model of the
        chain that can (``supports_unknown_users``) takes that member's part; for items
        without training interactions (cold items), members that cannot score them
        (``supports_cold_items`` false) take that part from the first model of the chain that
        can (ContentBased, LightFM). Users with nothing to go on (unknown, no history) get
        the first :class:`Popularity` of the chain under ``on_unknown="fallback"``. Fallback
        models are fitted in place too.
    candidates : int, optional
        Length of each member's candidate list: items beyond a member's top ``candidates``
        (ties broken by item order) get its lowest value. None: every item is a candidate.
        :func:`recsys.fit_weights` can choose it with the weights.
    rrf_k : float
        Rank offset of ``method="rrf"``.
    valid_size : float
        ``weights="auto"``: share of each user's training entries held out for validation,
        in (0, 1) (:func:`recsys.split.random`).
    seed : int
        ``weights="auto"``: seed of the validation split.

    Attributes
    ----------
    weights_ : numpy.ndarray
        The weights in use, summing to 1: found on the validation split (``weights="auto"``),
        from ``weights`` as given, or the best found by :func:`recsys.fit_weights`.
    candidates_ : int or None
        The candidate-list length in use: ``candidates`` after :meth:`fit`, or the one
        :func:`recsys.fit_weights` chose.
    weight_search_ : numpy.ndarray or None
        After a search (``weights="auto"`` or :func:`recsys.fit_weights`): one row per trial,
        the weights, then the validation metric, the validation catalog coverage and the
        candidate-list length (``inf`` for None). None when nothing was searched.

    Notes
    -----
    The default weights (``weights="auto"``): the training data is split per user
    (``valid_size``, ``seed``); unfitted clones of the members (and fallbacks) are fitted
    on the larger part, and every weight vector of the 0.1 grid that sums to 1 (a sample of
    200 with more than four members; the uniform weights and each member alone always among
    them) is scored on the held-out part by NDCG@10 and catalog coverage@10. The best one
    sets a bar, and the kept vector is the most balanced one within one paired standard
    error of it (:func:`recsys.fit_weights` with its defaults): what the validation split
    cannot tell apart is settled towards balance, which carried over to test better than
    the argmax. Each member alone is a trial, so on the validation split the Hybrid is
    never worse than its best member by more than that standard error.
    Then the members themselves are fitted on all the training data with those weights.
    Cost: every member is fitted twice (once on 1 - ``valid_size`` of the data), plus one
    fusion and top-k of the validation users per trial (66 trials for three members). Events
    of a :class:`~recsys.data.dataset.Dataset` (baskets for AssociationRules) reach the
    validation fit without the held-out (user, item) pairs. When the split holds out nothing
    (every user has a single interaction), the weights are equal and a warning is logged.

    Measured (NDCG@10 on a per-user 80/20 test split, seed 42; the README has the table):
    ``Hybrid([ALS(), ContentBased(categorical_columns=["category", "brand"]),
    AssociationRules()], method="rrf")`` on the demo data scored 0.267 with equal weights
    against 0.372 for ALS alone, and 0.372 with ``weights="auto"``. The default Hybrid of
    ALS, EASE and RP3beta (``benchmarks/defaults.py``) against its best member, EASE on all
    four data sets: MovieLens 100K 0.4535 vs 0.4529, Steam play 0.3127 vs 0.3089, groceries
    0.2452 vs 0.2432, demo 0.3759 vs 0.3724 (paired standard errors 0.0012-0.0024), and wider
    on each (coverage@10 0.226 vs 0.187, 0.152 vs 0.147, 0.462 vs 0.420, 0.314 vs 0.307). Keeping
    the argmax instead, with a floor at the best member's coverage (the previous rule),
    kept ALS alone on MovieLens: validation ranks ALS first (0.290 vs 0.275 for EASE, on
    64% of the data), test ranks EASE first (0.453 vs 0.440), 3.6 standard errors lost.

    Items a user interacted with (and, in :meth:`similar_items`, the query item) are never
    candidates: normalising over them would let seen items, which most members score
    highest, squash the scale of the items that can be recommended. With
    ``exclude_seen=False`` they are therefore ranked after the unseen candidates.

    Scoring a batch costs the members' scoring plus O(n_users x n_items) per member for the
    normalisation (a partial sort for the candidate lists); memory holds one dense block per
    member at a time.

    Persistence: :func:`recsys.save` writes each member (and fallback) into a subdirectory
    of the model directory, as returned by :meth:`_members`.

    Examples
    --------
    >>> import recsys as rs
    >>> ds = rs.datasets.demo()
    >>> hybrid = rs.Hybrid([rs.ItemKNN(), rs.ContentBased(categorical_columns=["category"])],
    ...                    weights=[0.7, 0.3], fallback=rs.Popularity()).fit(ds)
    >>> len(hybrid.recommend(ds.interactions.users.ids[:3], k=5))
    3
    """

    def __init__(
        self,
        models: Sequence[Recommender],
        weights: Sequence[float] | str | None = "auto",
        method: str = "score",
        normalize: str = "minmax",
        fallback: Recommender | Sequence[Recommender] | None = None,
        candidates: int | None = 100,
        rrf_k: float = 60.0,
        valid_size: float = 0.2,
        seed: int = 0,
    ) -> None:
        self.models = models
        self.weights = weights
        self.method = method
        self.normalize = normalize
        self.fallback = fallback
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.valid_size = valid_size
        self.seed = seed

    # ------------------------------------------------------------------ composition
    def _member_list(self) -> list[Recommender]:
        return _as_model_list(self.models, "models", allow_empty=False)

    def _fallback_list(self) -> list[Recommender]:
        return _as_model_list(self.fallback, "fallback", allow_empty=True)

    def _members(self) -> dict[str, Recommender]:
        """Every distinct sub-model by a name usable as a directory (for persistence)."""
        named: dict[str, Recommender] = {}
        seen: set[int] = set()
        for prefix, models in (("model", self._member_list()),
                               ("fallback", self._fallback_list())):
            for position, model in enumerate(models):
                if id(model) not in seen:  # one instance may serve as member and fallback
                    seen.add(id(model))
                    named[f"{prefix}-{position}"] = model
        return named

    # The capability flags follow the members: a Hybrid folds in users when any of its models
    # can, and scores cold items when any can.
    @property
    def supports_unknown_users(self) -> bool:  # type: ignore[override]
        return any(m.supports_unknown_users for m in self._members().values())

    @property
    def supports_cold_items(self) -> bool:  # type: ignore[override]
        return any(m.supports_cold_items for m in self._members().values())

    @property
    def uses_item_features(self) -> bool:  # type: ignore[override]
        return any(m.uses_item_features for m in self._members().values())

    def clone(self) -> Hybrid:
        """An unfitted copy whose members and fallbacks are unfitted clones too."""
        clones = {id(m): m.clone() for m in self._members().values()}
        params = self.get_params()
        params["models"] = [clones[id(m)] for m in self._member_list()]
        fallback = self.fallback
        if isinstance(fallback, Recommender):
            params["fallback"] = clones[id(fallback)]
        elif fallback is not None:
            params["fallback"] = [clones[id(m)] for m in self._fallback_list()]
        return type(self)(**params)

    # ------------------------------------------------------------------ fitting
    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        check_choice("method", self.method, METHODS)
        check_choice("normalize", self.normalize, NORMALIZATIONS)
        if self.candidates is not None:
            check_int("candidates", self.candidates)
        check_real("rrf_k", self.rrf_k)
        if not 0 < check_real("valid_size", self.valid_size, strict=True) < 1:
            raise ConfigError(f"valid_size must be in (0, 1), got {self.valid_size!r}")
        check_int("seed", self.seed, minimum=0)
        members = self._member_list()
        if len({id(m) for m in members}) < len(members):
            raise ConfigError("models lists the same instance twice; pass separate instances")
        # A list longer than the catalog holds every item: the same fusion, one bound to check.
        self.candidates_ = (None if self.candidates is None
                            else min(int(self.candidates), interactions.n_items))
        self.weight_search_: np.ndarray | None = None
        if isinstance(self.weights, str):
            check_choice("weights", self.weights, ("auto",))
            # Searched before the members are fitted in place: a failed search leaves them be.
            self.weights_, self.weight_search_ = self._validated_weights(
                interactions, dataset, show_progress)
        else:
            self.weights_ = self._initial_weights(len(members))
        data = dataset if dataset is not None else interactions
        for model in self._members().values():
            model.fit(data, show_progress=show_progress)
            if len(model.items_) != interactions.n_items:
                raise DataError(f"{type(model).__name__} was fitted on {len(model.items_)} "
                                f"items, the Hybrid on {interactions.n_items}")

    def _validated_weights(self, interactions: Interactions, dataset: Dataset | None,
                           show_progress: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """``weights="auto"``: the weights best on a validation split carved from the
        training data, found by unfitted clones of the members fitted on the rest."""
        n_members = len(self._member_list())
        part, valid = random_split(interactions, test_size=self.valid_size, seed=self.seed)
        if not (valid.matrix.data > 0).any():
            LOG.warning("Hybrid: no validation entry to fit the weights on (users have too "
                        "few interactions); equal weights")
            return np.full(n_members, 1.0 / n_members), None
        inner = self.clone().set_params(weights=None)
        inner.fit(part if dataset is None else _restricted(dataset, part, valid),
                  show_progress=show_progress)
        fit_weights(inner, valid)
        return inner.weights_, inner.weight_search_

    def _update(self, changes: Changes, show_progress: bool) -> None:
        """Every member takes the events, each on its own copy (see :meth:`_own_members`)."""
        self._own_members()
        for model in self._members().values():
            model.update(changes.source, show_progress=show_progress)

    def _own_members(self) -> None:
        """Replace the members (and fallbacks) by shallow copies, one per distinct model.

        The base class runs ``_update`` / ``_add_items`` on a copy of the Hybrid whose
        member list is still the original's; members update by swapping their own state,
        so updating the originals would change the Hybrid still answering requests. On
        copies, the original keeps its members as they were, and a service can apply an
        event batch without a deep copy of every member's arrays.
        """
        copies: dict[int, Recommender] = {}

        def own(models: list[Recommender]) -> list[Recommender]:
            return [copies.setdefault(id(m), copy.copy(m)) for m in models]

        self.models = own(self._member_list())
        if self.fallback is not None:
            self.fallback = own(self._fallback_list())

    def add_items(self, features: pd.DataFrame, *, show_progress: bool = False) -> Self:
        """Add items to every member: members with ``add_items`` (ContentBased, LightFM)
        score them from ``features`` at once; the others grow their ids as an
        :meth:`update` with no events would (an item-item model scores them 0 until the
        next fit, and warns). ``features`` holds the columns of every member that reads
        features, each member getting its own; a column no member reads is an error.
        All-or-nothing across members; see :meth:`Recommender.add_items`."""
        return super().add_items(features, show_progress=show_progress)

    @property
    def supports_add_items(self) -> bool:  # type: ignore[override]
        return any(m.supports_add_items for m in self._members().values())

    def _feature_columns(self) -> tuple[list[str], list[str]]:
        required: list[str] = []
        readable: list[str] = []
        for model in self._members().values():
            if model.supports_add_items:
                own_required, own_readable = model._feature_columns()
                required += [c for c in own_required if c not in required]
                readable += [c for c in own_readable if c not in readable]
        return required, readable

    def _add_items(self, changes: Changes, features: pd.DataFrame,
                   show_progress: bool) -> None:
        self._own_members()
        for model in self._members().values():
            if model.supports_add_items:
                own = [c for c in model._feature_columns()[1] if c in features.columns]
                model.add_items(features[[EVENT_COLUMNS[1], *own]],
                                show_progress=show_progress)
            else:
                model._apply(changes, model.users_, self.items_,
                             lambda member: member._update(changes, show_progress))

    def _initial_weights(self, n_members: int) -> np.ndarray:
        if self.weights is None:
            return np.full(n_members, 1.0 / n_members)
        try:
            weights = [check_real("weights", w) for w in self.weights]
        except TypeError:
            raise ConfigError(f"weights must be a list of numbers, got {self.weights!r}") \
                from None
        if len(weights) != n_members:
            raise ConfigError(f"weights has {len(weights)} value(s) for {n_members} models")
        total = sum(weights)
        if total <= 0:
            raise ConfigError("weights must not all be 0")
        return np.asarray(weights, np.float64) / total

    # ------------------------------------------------------------------ scoring
    def _can_score(self, model: Recommender, kind: Query) -> bool:
        return kind != Query.HISTORY or model.supports_unknown_users

    def _raw_scores(self, model: Recommender, kind: Query, query: Any,
                    item_cols: np.ndarray | None) -> np.ndarray:
        if kind == Query.KNOWN:
            return model._score(query, item_cols)
        if kind == Query.HISTORY:
            return model._score_history(query, item_cols)
        return model._similar_items(query, item_cols)

    def _member_values(self, kind: Query, query: Any, excluded: sp.csr_matrix,
                       item_cols: np.ndarray | None, depth: int | None,
                       active: np.ndarray | None = None) -> list[np.ndarray | None]:
        """Each member's values normalised over its best ``depth`` candidates, fallbacks
        applied; None for members not ``active`` (by default those of weight 0) and for
        members nobody can stand in for."""
        active = self.weights_ > 0 if active is None else active
        n_rows = excluded.shape[0]
        columns = np.arange(self.n_items) if item_cols is None else item_cols
        cold_cols = self.item_popularity_[columns] == 0
        if kind == Query.ITEMS:
            cold_rows = self.item_popularity_[query] == 0
        else:
            cold_rows = np.zeros(n_rows, bool)
        invalid = excluded_mask(excluded, item_cols)
        fallbacks = self._fallback_list()
        cache: dict[int, np.ndarray] = {}

        def values_of(model: Recommender, skip_cold: bool) -> np.ndarray:
            key = id(model) * 2 + skip_cold
            if key not in cache:
                scores = self._raw_scores(model, kind, query, item_cols)
                mask = (invalid | cold_cols[None, :]) if skip_cold else invalid
                cache[key] = fusion_values(scores, mask, self.method, self.normalize, depth,
                                           self.rrf_k)
            return cache[key]

        def first(capable) -> Recommender | None:
            return next((f for f in fallbacks if capable(f)), None)

        out: list[np.ndarray | None] = []
        for is_active, model in zip(active, self._member_list(), strict=True):
            if not is_active:
                out.append(None)
                continue
            if not self._can_score(model, kind):
                stand_in = first(lambda f: self._can_score(f, kind))
                out.append(None if stand_in is None else
                           values_of(stand_in, not stand_in.supports_cold_items))
                continue
            if model.supports_cold_items:
                out.append(values_of(model, False))
                continue
            values = values_of(model, True)
            cold_stand_in = first(lambda f: f.supports_cold_items and self._can_score(f, kind))
            if cold_stand_in is not None and (cold_cols.any() or cold_rows.any()):
                values = values.copy()
                substitute = values_of(cold_stand_in, False)
                values[:, cold_cols] = substitute[:, cold_cols]
                values[cold_rows] = substitute[cold_rows]
            out.append(values)
        return out

    def _fused(self, kind: Query, query: Any, excluded: sp.csr_matrix,
               item_cols: np.ndarray | None) -> np.ndarray:
        n_cols = self.n_items if item_cols is None else len(item_cols)
        values = self._member_values(kind, query, excluded, item_cols, self.candidates_)
        return weighted_sum(values, self.weights_, (excluded.shape[0], n_cols))

    def _score(self, user_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        seen = take_rows(self.user_items_, user_rows)
        return self._fused(Query.KNOWN, user_rows, seen, item_cols)

    def _score_history(self, history: sp.csr_matrix, item_cols: np.ndarray | None) -> np.ndarray:
        return self._fused(Query.HISTORY, history, history, item_cols)

    def _contributions(self, user_row: int, history: sp.csr_matrix,
                       column: int) -> tuple[str, np.ndarray, np.ndarray]:
        """The fused score split over the members: weight times the member's normalised
        value (a member's own ``explain`` then tells its part)."""
        if user_row >= 0:
            kind, query = Query.KNOWN, np.array([user_row])
        else:
            kind, query = Query.HISTORY, history
        # Normalised over the whole candidate lists, as when ranking.
        values = self._member_values(kind, query, history, None, self.candidates_)
        names = np.array([f"{i}: {type(m).__name__}" for i, m in enumerate(self._member_list())],
                         dtype=object)
        parts = np.array([0.0 if v is None or w <= 0 else float(w * v[0, column])
                          for w, v in zip(self.weights_, values, strict=True)])
        return "model", names, parts

    def _similar_items(self, item_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        itself = sp.csr_matrix((np.ones(len(item_rows)), (np.arange(len(item_rows)), item_rows)),
                               shape=(len(item_rows), self.n_items))
        return self._fused(Query.ITEMS, item_rows, itself, item_cols)

    def _fallback_scores(self, n_rows: int, item_cols: np.ndarray | None) -> np.ndarray:
        popularity = next((f for f in self._fallback_list() if isinstance(f, Popularity)), None)
        if popularity is None:
            return super()._fallback_scores(n_rows, item_cols)
        empty = sp.csr_matrix((n_rows, self.n_items), dtype=np.float32)
        return popularity._score_history(empty, item_cols)

    def _check_state(self) -> None:
        check_choice("method", self.method, METHODS)  # these three shape every answer
        check_choice("normalize", self.normalize, NORMALIZATIONS)
        check_real("rrf_k", self.rrf_k)
        members = self._member_list()
        expect(self, "weights_", (len(members),), dtype="float64")
        if self.candidates_ is not None:
            expect_scalar(self, "candidates_", (int,), lambda v: check_int("candidates_", v))
            if self.candidates_ > len(self.items_):
                raise ModelFileError(f"Hybrid.candidates_ = {self.candidates_} exceeds the "
                                     f"{len(self.items_)} items")
        for model in (*members, *self._fallback_list()):
            if not isinstance(model, Recommender) or len(model.items_) != len(self.items_):
                raise ModelFileError(f"Hybrid member {type(model).__name__} does not rank the "
                                     f"Hybrid's {len(self.items_)} items")
