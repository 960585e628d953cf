"""Association rules as a recommender: rules A -> C mined from baskets
(:mod:`recsys.models.rule_mining`), and items ranked by the strongest rule a history matches."""


from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NamedTuple, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._checks import check_choice, check_int
from recsys._memory import available_memory
from recsys.data.dataset import Dataset
from recsys.data.ids import IdIndex
from recsys.data.interactions import Interactions
from recsys.errors import ColumnError, ConfigError, DataError, ModelFileError
from recsys.models._state import expect, expect_range, expect_scalar
from recsys.models.base import Changes, Recommender, padded
from recsys.models.rule_mining import (
    exact_fraction,
    mine_mlxtend,
    mine_sparse,
    pair_candidates,
    pair_counts,
    rule_metrics,
    select_rules,
    support_count,
)

LOG = logging.getLogger("recsys")

ENGINES = ("sparse", "mlxtend")
METRICS = ("lift", "confidence")
ITEM_COLUMNS = ("item", "item_id")
# Counting tables up to this many cells are dense (np.bincount, 128 MiB of int64); larger code
# spaces are counted by sorting the codes instead, whose memory follows the data, not F^2.
DENSE_BINS = 1 << 24
# Pair tables up to this many cells are summed step by step (no array of all pair codes).
SMALL_TABLE = 1 << 14
# Combinations generated per vectorized step; bounds the temporaries of one step.
CHUNK = 1 << 22
# Rows of one length from which one step per position tuple beats one block step.
PER_TUPLE_MIN_ROWS = 2048
# Relative band around a threshold inside which the float test is not trusted and the
# comparison is redone in exact integer arithmetic (float ratios here are off by < 1e-15).
_TRIAGE = 1e-9


class _Matcher(NamedTuple):
    """Rules with one consequent and antecedents of one size, arranged for scoring.

    ``antecedents_t``: items x distinct antecedents (binary), so ``history @ antecedents_t``
    counts how many items of each antecedent a basket holds (size 1: None, the history's own
    entries are the matches); ``indptr``/``items``/``rule``: per distinct antecedent, its
    rules' consequents and rule numbers (CSR layout).
    """

    size: int
    antecedents_t: sp.csr_matrix | None
    indptr: np.ndarray
    items: np.ndarray
    rule: np.ndarray


def _matchers(antecedents: np.ndarray, consequents: np.ndarray,
              n_items: int) -> list[_Matcher]:
    single = (consequents[:, 1:] < 0).all(axis=1) if consequents.shape[1] > 1 else \
        np.ones(len(consequents), bool)
    sizes = (antecedents >= 0).sum(axis=1)
    out = []
    for size in np.unique(sizes[single]).tolist():
        rules = np.flatnonzero(single & (sizes == size))
        members = antecedents[rules, :size]
        if size == 1:
            groups, n_groups, matrix_t = members[:, 0].astype(np.int64), n_items, None
        else:
            distinct, groups = np.unique(members, axis=0, return_inverse=True)
            groups, n_groups = groups.ravel(), len(distinct)
            matrix = sp.csr_matrix(
                (np.ones(distinct.size, np.float32), distinct.ravel(),
                 np.arange(0, distinct.size + 1, size)), shape=(n_groups, n_items))
            matrix_t = matrix.T.tocsr()
        order = np.argsort(groups, kind="stable")
        indptr = np.zeros(n_groups + 1, np.int64)
        np.cumsum(np.bincount(groups, minlength=n_groups), out=indptr[1:])
        out.append(_Matcher(size, matrix_t, indptr,
                            consequents[rules[order], 0].astype(np.int64), rules[order]))
    return out


def _presence(history: sp.csr_matrix) -> sp.csr_matrix:
    """Binary rows: an item is in a basket when its (summed) stored weight is positive."""
    binary = sp.csr_matrix(history, dtype=np.float32, copy=True)
    binary.sum_duplicates()
    binary.data = (binary.data > 0).astype(np.float32)
    binary.eliminate_zeros()
    return binary


def max_rule_scores(history: sp.csr_matrix, matchers: list[_Matcher], values: np.ndarray,
                    item_cols: np.ndarray | None, n_items: int) -> np.ndarray:
    """Dense (rows, cols) scores: per item, the max ``values[rule]`` over the rules whose
    antecedent is inside the row's basket and whose consequent is the item; 0 without one.

    Vectorized per antecedent size: matching is a sparse product (or the history entries
    themselves for size 1), then every matched rule is expanded and ``np.maximum.at`` takes
    the max per (row, item) -- a max-product, which scipy does not offer.
    """
    basket = _presence(history)
    n_rows = basket.shape[0]
    n_cols = n_items if item_cols is None else len(item_cols)
    scores = np.zeros((n_rows, n_cols), np.float32)
    if n_rows == 0 or n_cols == 0:
        return scores
    column = None
    if item_cols is not None:
        column = np.full(n_items, -1, np.int64)
        column[item_cols] = np.arange(len(item_cols))
    flat = scores.reshape(-1)
    for m in matchers:
        if m.antecedents_t is None:
            rows = np.repeat(np.arange(n_rows), np.diff(basket.indptr))
            groups = basket.indices.astype(np.int64)
        else:
            overlap = (basket @ m.antecedents_t).tocoo()
            hit = overlap.data == m.size
            rows, groups = overlap.row[hit].astype(np.int64), overlap.col[hit].astype(np.int64)
        starts = m.indptr[groups]
        lengths = m.indptr[groups + 1] - starts
        # Expand the matched antecedents' rules about CHUNK at a time (bounded temporaries).
        ends = np.cumsum(lengths)
        cuts = np.searchsorted(ends, np.arange(CHUNK, int(ends[-1]) if len(ends) else 0, CHUNK))
        for part in np.split(np.arange(len(groups)), cuts):
            _scatter_max(flat, n_cols, rows[part], starts[part], lengths[part], m, values,
                         column)
    return scores


def _scatter_max(flat: np.ndarray, n_cols: int, rows: np.ndarray, starts: np.ndarray,
                 lengths: np.ndarray, m: _Matcher, values: np.ndarray,
                 column: np.ndarray | None) -> None:
    """``flat[row, consequent] = max(., value)`` for every rule of the matched antecedents."""
    total = int(lengths.sum())
    if total == 0:
        return
    before = np.cumsum(lengths) - lengths
    at = np.repeat(starts - before, lengths) + np.arange(total)
    rows = np.repeat(rows, lengths)
    cols = m.items[at]
    if column is not None:
        cols = column[cols]
        allowed = cols >= 0
        rows, cols, at = rows[allowed], cols[allowed], at[allowed]
    np.maximum.at(flat, rows * n_cols + cols, values[m.rule[at]])


# ---------------------------------------------------------------------------- memory


# ---------------------------------------------------------------------------- the model


class AssociationRules(Recommender):
    """Association rules A -> C mined from baskets; recommends by the strongest matching rule.

    Baskets: when ``fit`` gets a :class:`~recsys.Dataset` whose ``events`` have the column
    ``basket_column`` (``rs.datasets.baskets``, the demo's purchases), each basket id is a
    basket; events without a basket id (views) belong to none. Otherwise each user's history
    (a row of the interactions) is one basket. Items keep the interactions' item index.

    Parameters
    ----------
    min_support : float or int
        A share of the baskets in (0, 1], or an absolute count (an ``int`` >= 1; so ``1``
        is one basket and ``1.0`` is all of them). See Notes for the exact rule.
    min_confidence : float
        Keep rules with count(A and C) / count(A) >= this, in [0, 1].
    min_lift : float
        Keep rules with confidence / support(C) >= this (>= 0; 0 keeps all).
    max_len : int or None
        Largest itemset (antecedent + consequent). ``engine="sparse"``: 2 (1 -> 1 rules) or 3
        (also 2 -> 1). ``engine="mlxtend"``: any >= 2, or None for no limit.
    engine : {"sparse", "mlxtend"}
        Our sparse co-occurrence miner, or mlxtend's fpgrowth + association_rules. Both give
        identical rules where both apply (rules with one consequent, ``max_len <= 3``).
    metric : {"lift", "confidence"}
        What ranks recommendations (``recommend_for_basket`` can override it per call).
    basket_column : str or None
        Column of ``Dataset.events`` holding basket ids; None always uses user histories.
    item_column : str or None
        Item column of ``Dataset.events``; None takes "item", else "item_id".
    max_memory : int or None
        Bytes mining may use; None means the memory available when ``fit`` starts. Mining
        that would need more is refused before it allocates, with the estimate.

    Attributes
    ----------
    rules_ : pandas.DataFrame
        One row per rule: ``antecedents``, ``consequents`` (frozensets of external item
        ids), ``antecedent support``, ``consequent support``, ``support``, ``confidence``,
        ``lift``, ``leverage``, ``conviction`` (as in mlxtend), and the integer counts
        ``count``, ``antecedent count``, ``consequent count``. Built on access from the
        arrays below.
    antecedents_, consequents_ : numpy.ndarray of int32, shape (n_rules, width)
        Item indices of each rule, padded with -1; canonical order (antecedent size and
        items, then consequent size and items).
    count_, antecedent_count_, consequent_count_ : numpy.ndarray of int64
        Baskets holding A and C, A, and C.
    item_counts_ : numpy.ndarray of int64
        Baskets holding each item (0 for items that never occur in a basket).
    n_baskets_ : int
        Number of baskets, empty ones included.
    min_count_ : int
        The integer support threshold used.

    Notes
    -----
    **Thresholds.** Support is applied on integer counts: an itemset is frequent when its
    count >= ``min_count_``, the smallest integer whose share of the baskets reaches
    ``min_support`` (exact fractions of the decimal written: 0.006 of 9,835 baskets is
    59.01, so 60; 0.07 of 100 is 7, where float arithmetic would say 8). Confidence and lift
    are compared exactly too (``count * q >= p * antecedent_count`` for ``min_confidence =
    p/q``), so a rule exactly on a threshold is kept, as ``>=`` promises. mlxtend compares
    floats; on an exact boundary its rounding may drop such a rule (or, for support, it
    derives ``ceil(min_support * n)`` in floats and can lose itemsets).

    **Baskets.** An item repeated in a basket counts once. Empty baskets (a user with no
    stored entry, or a basket id whose only event has no item) count in the number of
    baskets, as mlxtend counts every row of its one-hot frame: drop them beforehand to get
    shares of non-empty baskets. In a history an item is present when its weight is
    positive. Items that never occur have count 0 and appear in no rule. Event items unknown
    to the interactions' item index are an error.

    **Ranking.** A basket (a user's history, or ``recommend_for_basket``'s items) scores
    each item by its strongest rule: the max of the metric over the rules with one
    consequent, that item, whose antecedent lies inside the basket. Items without such a
    rule score 0 and come after, by item index. Rules with several consequents (mlxtend
    engine, ``max_len >= 3``) are listed in ``rules_`` but do not rank.

    **Cost (sparse engine).** With F frequent items and s_b the frequent items of basket b:
    time and memory O(nnz + sum_b s_b^2) for pairs plus O(sum_b t_b^3) for triples (t_b:
    items of b in some frequent pair), and a counting table of F^2 cells (dense up to 2^24
    cells, else sorted codes). The estimate is checked before anything large is allocated.
    1M baskets x 20k items (5M entries) mine 1 -> 1 rules in well under a second.
    Scoring a batch is one sparse product per antecedent size plus a scatter-max over the
    matched rules.

    Examples
    --------
    >>> import pandas as pd, recsys as rs
    >>> table = pd.DataFrame({"basket_id": [1, 1, 2, 2, 3, 3, 4],
    ...                       "item": ["milk", "bread", "milk", "bread", "milk", "jam", "jam"]})
    >>> model = rs.AssociationRules(min_support=2, min_confidence=0.5).fit(
    ...     rs.datasets.baskets(table))
    >>> rules = model.rules_
    >>> [(set(a), set(c), round(float(conf), 3)) for a, c, conf
    ...  in zip(rules["antecedents"], rules["consequents"], rules["confidence"])]
    [({'milk'}, {'bread'}, 0.667), ({'bread'}, {'milk'}, 1.0)]
    >>> model.recommend_for_basket(["bread"], k=1)[0]
    ['milk']
    """

    supports_unknown_users = True

    def __init__(
        self,
        min_support: float | int = 0.01,
        min_confidence: float = 0.1,
        min_lift: float = 0.0,
        max_len: int | None = 2,
        engine: str = "sparse",
        metric: str = "lift",
        basket_column: str | None = "basket_id",
        item_column: str | None = None,
        max_memory: int | None = None,
    ) -> None:
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.min_lift = min_lift
        self.max_len = max_len
        self.engine = engine
        self.metric = metric
        self.basket_column = basket_column
        self.item_column = item_column
        self.max_memory = max_memory

    # ------------------------------------------------------------------ fitting
    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        check_choice("engine", self.engine, ENGINES)
        check_choice("metric", self.metric, METRICS)
        if self.max_len is None and self.engine == "mlxtend":
            max_len = None
        else:
            max_len = check_int("max_len", self.max_len, minimum=2)
            if self.engine == "sparse" and max_len > 3:
                raise ConfigError(f"engine='sparse' mines 1 -> 1 and 2 -> 1 rules (max_len 2 "
                                  f"or 3), got max_len={self.max_len!r}; use engine='mlxtend' "
                                  "for longer rules")
        min_confidence = exact_fraction("min_confidence", self.min_confidence, 0, 1)
        min_lift = exact_fraction("min_lift", self.min_lift, 0, None)
        support_count(self.min_support, 1)  # type and range errors before any data work
        budget = self._memory_budget()

        baskets, item_counts = self._baskets(interactions, dataset)
        n_baskets = baskets.shape[0]
        min_count = support_count(self.min_support, n_baskets)
        if self.engine == "sparse":
            candidates = mine_sparse(baskets, item_counts, min_count, cast(int, max_len), budget)
        else:
            candidates = mine_mlxtend(baskets, item_counts, min_count, max_len, min_confidence,
                                      budget)
        rules = select_rules(candidates, n_baskets, min_confidence, min_lift)

        self.n_baskets_ = int(n_baskets)
        self.min_count_ = int(min_count)
        self.basket_source_ = "events" if self._uses_basket_ids(dataset) else "users"
        self.pair_counts_ = None  # counted on the first update
        self.item_counts_ = item_counts.astype(np.int64)
        self.antecedents_ = rules.antecedents
        self.consequents_ = rules.consequents
        self.count_ = rules.count
        self.antecedent_count_ = rules.antecedent_count
        self.consequent_count_ = rules.consequent_count
        self._restore()
        log = LOG.warning if len(rules.count) == 0 else LOG.info
        log("AssociationRules: %d rules from %d baskets (itemsets counted >= %d times)",
            len(rules.count), n_baskets, min_count)

    def _update(self, changes: Changes, show_progress: bool) -> None:
        """Baskets are user histories: the changed users' baskets leave the counts and come
        back grown (item and pair counts), and the 1 -> 1 rules are re-derived from the
        counts with the thresholds of the grown number of baskets. The pair counts are
        counted once, on the first update, then kept (``pair_counts_``)."""
        if getattr(self, "basket_source_", None) != "users":
            raise ConfigError("AssociationRules mined from basket ids cannot be updated with "
                              "user events: fit it again on all the baskets")
        if self.engine != "sparse" or self.max_len != 2:
            raise ConfigError("AssociationRules.update re-derives 1 -> 1 rules from pair "
                              "counts: it needs engine='sparse' and max_len=2 (fit again "
                              "for longer rules)")
        n_users, n_items = changes.added.shape
        grown = self.user_items_
        old_rows = _presence(changes.previous[changes.users])
        new_rows = _presence(grown[changes.users])
        counts = (pair_counts(_presence(changes.previous)) if self.pair_counts_ is None
                  else padded(self.pair_counts_, (n_items, n_items)))
        counts = sp.csr_matrix(counts + pair_counts(new_rows) - pair_counts(old_rows))
        counts.eliminate_zeros()
        self.pair_counts_ = counts
        item_counts = np.pad(self.item_counts_, (0, n_items - len(self.item_counts_)))
        self.item_counts_ = (item_counts + np.bincount(new_rows.indices, minlength=n_items)
                             - np.bincount(old_rows.indices, minlength=n_items))
        self.n_baskets_ = int(n_users)
        self.min_count_ = int(support_count(self.min_support, n_users))
        pairs = counts.tocoo()
        frequent = pairs.data >= self.min_count_
        rules = select_rules(  # the thresholds of fit, on the grown number of baskets
            pair_candidates(pairs.row[frequent].astype(np.int32),
                            pairs.col[frequent].astype(np.int32),
                            pairs.data[frequent].astype(np.int64), self.item_counts_),
            n_users, exact_fraction("min_confidence", self.min_confidence, 0, 1),
            exact_fraction("min_lift", self.min_lift, 0, None))
        self.antecedents_, self.consequents_ = rules.antecedents, rules.consequents
        self.count_, self.antecedent_count_ = rules.count, rules.antecedent_count
        self.consequent_count_ = rules.consequent_count
        self._restore()

    def _memory_budget(self) -> int | None:
        if self.max_memory is None:
            return available_memory()
        return check_int("max_memory", self.max_memory, minimum=1)

    def _baskets(self, interactions: Interactions,
                 dataset: Dataset | None) -> tuple[sp.csr_matrix, np.ndarray]:
        """Baskets x items CSR whose structure is the presence, and the item counts."""
        if self._uses_basket_ids(dataset):
            assert dataset is not None and dataset.events is not None  # for mypy
            return self._baskets_from_events(dataset.events, interactions.items)
        matrix = interactions.matrix  # canonical CSR: sorted, unique indices
        if matrix.nnz and matrix.data.min() <= 0:
            matrix = _presence(matrix)
            return matrix, np.bincount(matrix.indices, minlength=matrix.shape[1])
        # The base class counted stored entries per item already (exact in float32 below
        # 2^24 baskets): with every weight positive these are the basket counts.
        counts = (self.item_popularity_.astype(np.int64) if matrix.shape[0] < (1 << 24)
                  else np.bincount(matrix.indices, minlength=matrix.shape[1]))
        return matrix, counts

    def _uses_basket_ids(self, dataset: Dataset | None) -> bool:
        """Whether baskets come from the basket ids of the dataset's events."""
        events = dataset.events if dataset is not None else None
        return (self.basket_column is not None and events is not None
                and self.basket_column in events.columns)

    def _baskets_from_events(self, events: pd.DataFrame,
                             items: IdIndex) -> tuple[sp.csr_matrix, np.ndarray]:
        item_column = self.item_column
        if item_column is None:
            item_column = next((c for c in ITEM_COLUMNS if c in events.columns), None)
        if item_column is None or item_column not in events.columns:
            raise ColumnError(f"events have no item column {item_column or ITEM_COLUMNS!r}; "
                              f"they have {list(events.columns)[:20]} (pass item_column=)")
        basket_codes, basket_ids = pd.factorize(events[self.basket_column])
        in_basket = basket_codes >= 0  # events without a basket id (views, carts) are in none
        if not in_basket.any():
            raise DataError(f"events column {self.basket_column!r} holds no basket id")
        # Factorize first: only the distinct event items go through the id lookup.
        item_codes, item_ids = pd.factorize(events[item_column])
        column_of = items.to_index(item_ids, missing="ignore")
        item_codes = item_codes[in_basket]
        # A basket id whose item is missing is an empty basket: counted, holding nothing.
        has_item = item_codes >= 0
        baskets = basket_codes[in_basket][has_item]
        columns = column_of[item_codes[has_item]]
        if (columns < 0).any():
            unknown = np.flatnonzero(columns < 0)
            first = np.flatnonzero(in_basket)[np.flatnonzero(has_item)[unknown[0]]]
            raise DataError(
                f"events column {item_column!r} holds {len(unknown)} item(s) not in the "
                f"interactions' item index; first {events[item_column].iloc[first]!r} at row "
                f"{events.index[first]!r}")
        matrix = sp.csr_matrix(
            (np.ones(len(columns), np.float32), (baskets, columns)),
            shape=(len(basket_ids), len(items)))
        matrix.sum_duplicates()  # an item repeated in a basket counts once
        return matrix, np.bincount(matrix.indices, minlength=len(items))

    def _restore(self, derived: Mapping[str, np.ndarray] | None = None) -> None:
        # The matchers are quick to rebuild: nothing derived is saved.
        self._matchers = _matchers(self.antecedents_, self.consequents_, len(self.items_))
        metrics = rule_metrics(self.count_, self.antecedent_count_, self.consequent_count_,
                               self.n_baskets_)
        self._values = {name: metrics[name].astype(np.float32) for name in METRICS}

    # ------------------------------------------------------------------ results
    @property
    def rules_(self) -> pd.DataFrame:
        """The rules as a DataFrame with external item ids (see the class docstring)."""
        self._check_fitted()
        ids = self.items_.ids.tolist()

        def sets(array: np.ndarray) -> list[frozenset]:
            return [frozenset([ids[i] for i in row if i >= 0]) for row in array.tolist()]

        columns: dict[str, Any] = {"antecedents": sets(self.antecedents_),
                                   "consequents": sets(self.consequents_)}
        columns.update(rule_metrics(self.count_, self.antecedent_count_,
                                    self.consequent_count_, self.n_baskets_))
        columns["count"] = self.count_
        columns["antecedent count"] = self.antecedent_count_
        columns["consequent count"] = self.consequent_count_
        return pd.DataFrame(columns)

    # ------------------------------------------------------------------ scoring
    def _rule_scores(self, history: sp.csr_matrix, item_cols: np.ndarray | None,
                     metric: str) -> np.ndarray:
        check_choice("metric", metric, METRICS)
        return max_rule_scores(history, self._matchers, self._values[metric], item_cols,
                               len(self.items_))

    def _score_history(self, history: sp.csr_matrix, item_cols: np.ndarray | None) -> np.ndarray:
        return self._rule_scores(history, item_cols, self.metric)

    def _contributions(self, user_row: int, history: sp.csr_matrix,
                       column: int) -> tuple[str, np.ndarray, np.ndarray]:
        """The score is the strongest matching rule's ``metric``: that rule is the one part
        (named ``"a, b -> c (lift 2.31)"``); ties go to the first rule mined."""
        values = self._values[self.metric]
        candidates = np.flatnonzero((self.consequents_ == column).any(axis=1))
        antecedents = self.antecedents_[candidates]
        matching = candidates[((antecedents < 0)
                               | np.isin(antecedents, history.indices)).all(axis=1)]
        if len(matching) == 0:
            return "rule", np.zeros(0, dtype=object), np.zeros(0)
        best = int(matching[np.argmax(values[matching])])  # ties: the first rule mined
        antecedent = self.antecedents_[best]
        ids = ", ".join(str(i) for i in self.items_.to_ids(antecedent[antecedent >= 0]))
        name = (f"{ids} -> {self.items_.to_ids(np.array([column]))[0]} "
                f"({self.metric} {float(values[best]):.3g})")
        return "rule", np.array([name], dtype=object), np.array([float(values[best])])

    def _similar_items(self, item_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        # An item's neighbours are the consequents of its 1 -> 1 rules: score it as a basket.
        rows = sp.csr_matrix(
            (np.ones(len(item_rows), np.float32), item_rows, np.arange(len(item_rows) + 1)),
            shape=(len(item_rows), len(self.items_)))
        return self._rule_scores(rows, item_cols, self.metric)

    def _basket_scores(self, basket: sp.csr_matrix, item_cols: np.ndarray | None,
                       metric: str | None = None, **options: Any) -> np.ndarray:
        """A basket's items ranked by their strongest matching rule, by ``metric``
        ({"lift", "confidence"}; the model's ``metric`` by default), passed as
        ``recommend_for_basket(basket, metric=...)``.

        Examples
        --------
        >>> import pandas as pd, recsys as rs
        >>> table = pd.DataFrame({"basket_id": [1, 1, 2, 2, 3],
        ...                       "item": ["milk", "bread", "milk", "bread", "jam"]})
        >>> model = rs.AssociationRules(min_support=2, min_confidence=0.5).fit(
        ...     rs.datasets.baskets(table))
        >>> model.recommend_for_basket(["bread"], k=1, metric="confidence")[0]
        ['milk']
        """
        if options:
            super()._basket_scores(basket, item_cols, **options)  # raises, naming the option
        return self._rule_scores(basket, item_cols, self.metric if metric is None else metric)

    def _check_state(self) -> None:
        n_items, n_rules = len(self.items_), len(self.count_)
        for name in ("antecedents_", "consequents_"):
            sides = expect(self, name, (n_rules, None), dtype="int32")
            expect_range(self, name, -1, n_items)
            # Each row: its items first, then -1 padding; at least one item.
            present = sides >= 0
            if n_rules and (sides.shape[1] == 0 or not present[:, 0].all()
                            or (np.diff(present.astype(np.int8), axis=1) > 0).any()):
                raise ModelFileError(f"AssociationRules.{name}: rows must list their items "
                                     "first, then -1 padding")
        count, antecedent, consequent = (
            expect(self, name, (n_rules,), dtype="int64")
            for name in ("count_", "antecedent_count_", "consequent_count_"))
        item_counts = expect(self, "item_counts_", (n_items,), dtype="int64")
        n_baskets = expect_scalar(self, "n_baskets_", (int,),
                                  lambda v: check_int("n_baskets_", v))
        expect_scalar(self, "min_count_", (int,), lambda v: check_int("min_count_", v))
        # Counts of baskets: a rule's is at most its antecedent's and its consequent's, and
        # none exceeds the number of baskets (the metrics divide by them).
        if ((item_counts < 0) | (item_counts > n_baskets)).any():
            raise ModelFileError("AssociationRules.item_counts_ holds counts outside "
                                 f"[0, n_baskets_ = {n_baskets}]")
        if n_rules and ((count < 1) | (count > np.minimum(antecedent, consequent))
                        | (np.maximum(antecedent, consequent) > n_baskets)).any():
            raise ModelFileError("AssociationRules.count_, antecedent_count_ and "
                                 "consequent_count_ disagree: a rule's count must be in "
                                 "[1, min(antecedent, consequent)] <= n_baskets_")
        if getattr(self, "pair_counts_", None) is not None:  # kept by update
            expect(self, "pair_counts_", (n_items, n_items), sparse=True, dtype="int64")
        check_choice("metric", self.metric, METRICS)  # ranks every basket
