"""Association rules mined by Spark's FPGrowth, thresholded exactly as recsys does."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_choice, check_int
from recsys.data.ids import IdIndex
from recsys.errors import ColumnError, ConfigError, DataError, NotFittedError
from recsys.models.rule_mining import Candidates, exact_fraction, select_rules, support_count
from recsys.models.rules import METRICS

# Relative slack of the float prefilter in Spark; the exact test runs on the driver.
_SLACK = 1e-9


class SparkAssociationRules:
    """Association rules A -> c (one consequent) mined by ``pyspark.ml.fpm.FPGrowth``.

    FPGrowth finds the frequent itemsets on the cluster; the rules and their counts are
    derived there too (joins on the itemsets), and only the candidate rules reach the driver,
    where recsys's exact thresholds keep the same rules as :class:`recsys.AssociationRules`
    (``min_support`` as an integer count, confidence and lift compared in exact arithmetic).

    Parameters
    ----------
    min_support : float or int
        A share of the baskets in (0, 1] or an absolute count (see
        :class:`recsys.AssociationRules`).
    min_confidence, min_lift : float
    max_len : int
        Largest itemset (antecedent + consequent), at least 2.
    metric : {"lift", "confidence"}
        What ranks :meth:`recommend_for_basket`.

    Attributes
    ----------
    rules_ : pandas.DataFrame
        Exactly the columns of ``recsys.AssociationRules.rules_``.
    n_baskets_, min_count_ : int

    Examples
    --------
    >>> from recsys.spark import SparkAssociationRules          # doctest: +SKIP
    >>> model = SparkAssociationRules(min_support=0.01).fit(df)  # doctest: +SKIP
    >>> model.recommend_for_basket(["whole milk"], k=3).to_pandas()  # doctest: +SKIP
    >>> local = model.to_local()    # an rs.AssociationRules  # doctest: +SKIP
    """

    def __init__(self, min_support: float | int = 0.01, min_confidence: float = 0.1,
                 min_lift: float = 0.0, max_len: int = 2, metric: str = "lift") -> None:
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.min_lift = min_lift
        self.max_len = max_len
        self.metric = metric

    def __repr__(self) -> str:
        return (f"SparkAssociationRules(min_support={self.min_support!r}, "
                f"min_confidence={self.min_confidence!r}, min_lift={self.min_lift!r}, "
                f"max_len={self.max_len!r}, metric={self.metric!r})")

    # ------------------------------------------------------------------ fitting
    def fit(self, df: Any, items: str = "items", *, basket: str | None = None,
            item: str | None = None) -> SparkAssociationRules:
        """Mine the rules of a DataFrame of baskets.

        Parameters
        ----------
        df : pyspark.sql.DataFrame
            One basket per row in the array column ``items``; or, with ``basket`` and
            ``item``, a long table of one row per (basket, item).
        items : str
            The array column (one-basket-per-row layout).
        basket, item : str, optional
            Columns of the long layout.

        Returns
        -------
        self

        Raises
        ------
        recsys.errors.ColumnError
            A named column is missing.
        recsys.errors.DataError
            A null basket array, a null item or a null basket id; the message names the
            column and shows a row. An item repeated in a basket counts once.
        """
        from pyspark.ml.fpm import FPGrowth
        from pyspark.sql import functions as F

        max_len = check_int("max_len", self.max_len, minimum=2)
        min_confidence = exact_fraction("min_confidence", self.min_confidence, 0, 1)
        min_lift = exact_fraction("min_lift", self.min_lift, 0, None)
        check_choice("metric", self.metric, METRICS)
        support_count(self.min_support, 1)
        baskets = _baskets(df, items, basket, item)
        n_baskets = baskets.count()
        if n_baskets == 0:
            raise DataError("no baskets: the DataFrame is empty")
        min_count = support_count(self.min_support, n_baskets)
        counts = (baskets.select(F.explode("items").alias("item")).groupBy("item")
                  .agg(F.count(F.lit(1)).alias("count")).orderBy("item").toArrow())
        item_index = IdIndex(counts.column("item").to_numpy(zero_copy_only=False))
        item_counts = counts.column("count").to_numpy().astype(np.int64)
        # FPGrowth keeps itemsets of count >= ceil(minSupport * n): half a basket below the
        # integer threshold makes that ceiling exactly min_count whatever the float rounding.
        fp = FPGrowth(itemsCol="items", minSupport=(min_count - 0.5) / n_baskets,
                      minConfidence=0.0)
        itemsets = fp.fit(baskets).freqItemsets.filter(F.size("items") <= max_len)
        candidates = _candidates(itemsets, item_index, item_counts, n_baskets, max_len,
                                 float(min_confidence))
        rules = select_rules(candidates, n_baskets, min_confidence, min_lift)
        self.n_baskets_ = int(n_baskets)
        self.min_count_ = int(min_count)
        self.local_ = self._local(item_index, item_counts, rules)
        return self

    def _local(self, item_index: IdIndex, item_counts: np.ndarray, rules: Candidates):
        from recsys.models.rules import AssociationRules

        longer = self.max_len > 3
        model = AssociationRules(
            min_support=self.min_support, min_confidence=self.min_confidence,
            min_lift=self.min_lift, max_len=self.max_len,
            engine="mlxtend" if longer else "sparse", metric=self.metric)
        n_items = len(item_index)
        # Baskets are not users: the local model knows the items and rules, no basket rows.
        model.users_ = IdIndex(np.empty(0, dtype=item_index.ids.dtype))
        model.items_ = item_index
        model.user_items_ = sp.csr_matrix((0, n_items), dtype=np.float32)
        model.item_popularity_ = item_counts.astype(np.float32)
        model.n_baskets_ = self.n_baskets_
        model.min_count_ = self.min_count_
        model.item_counts_ = item_counts
        model.antecedents_ = rules.antecedents
        model.consequents_ = rules.consequents
        model.count_ = rules.count
        model.antecedent_count_ = rules.antecedent_count
        model.consequent_count_ = rules.consequent_count
        model._restore()
        return model

    # ------------------------------------------------------------------ results
    def _check_fitted(self) -> None:
        if not hasattr(self, "local_"):
            raise NotFittedError("SparkAssociationRules is not fitted; call fit() first")

    @property
    def rules_(self):
        """The rules as a pandas DataFrame, with the columns of
        ``recsys.AssociationRules.rules_``."""
        self._check_fitted()
        return self.local_.rules_

    def recommend_for_basket(self, basket: Any, k: int = 10, **kwargs: Any):
        """Items to add to a basket (see ``recsys.AssociationRules.recommend_for_basket``);
        the rules are few, so this runs on the driver."""
        self._check_fitted()
        return self.local_.recommend_for_basket(basket, k=k, **kwargs)

    def to_local(self):
        """The rules as a fitted :class:`recsys.AssociationRules` (``rs.save``,
        ``recsys serve``); it knows items and rules, not the training baskets."""
        self._check_fitted()
        return self.local_


def _baskets(df: Any, items: str, basket: str | None, item: str | None) -> Any:
    """One row per basket with a column "items": an array of distinct, non-null items."""
    from pyspark.sql import functions as F

    if (basket is None) != (item is None):
        raise ConfigError("give both basket= and item= for a long table, or neither")
    if basket is not None and item is not None:
        missing = [c for c in (basket, item) if c not in df.columns]
        if missing:
            raise ColumnError(f"column(s) {missing} not in the DataFrame; it has "
                              f"{df.columns[:20]}")
        _refuse(df, F.col(basket).isNull(), f"column {basket!r} has missing (null) basket ids")
        _refuse(df, F.col(item).isNull(), f"column {item!r} has missing (null) items")
        return df.groupBy(basket).agg(F.collect_set(item).alias("items")).select("items")
    if items not in df.columns:
        raise ColumnError(f"column {items!r} not in the DataFrame; it has {df.columns[:20]}")
    _refuse(df, F.col(items).isNull(), f"column {items!r} has missing (null) baskets")
    _refuse(df, F.exists(items, lambda x: x.isNull()),
            f"column {items!r} has baskets holding a missing (null) item")
    return df.select(F.array_distinct(items).alias("items"))


def _refuse(df: Any, condition: Any, what: str) -> None:
    bad = df.filter(condition)
    rows = bad.limit(1).collect()
    if rows:
        raise DataError(f"{what}: {bad.count()} row(s); for example {rows[0].asDict()}")


def _candidates(itemsets: Any, item_index: IdIndex, item_counts: np.ndarray, n_baskets: int,
                max_len: int, min_confidence: float) -> Candidates:
    """Every rule (itemset minus one item) -> (that item) with its three counts, computed
    by joins in Spark; rules clearly below ``min_confidence`` are dropped there."""
    from pyspark.sql import functions as F

    keyed = itemsets.select(F.array_sort("items").alias("key"), F.col("freq"))
    pairs = (keyed.filter(F.size("key") >= 2)
             .select("key", "freq", F.explode("key").alias("consequent"))
             .select(F.array_remove("key", F.col("consequent")).alias("antecedent"),
                     "consequent", F.col("freq").alias("count")))
    rules = (pairs.join(keyed.select(F.col("key").alias("antecedent"),
                                     F.col("freq").alias("antecedent_count")), "antecedent")
             .filter(F.col("count") >= F.col("antecedent_count") * min_confidence
                     * (1 - _SLACK)))
    table = rules.toArrow()
    n = table.num_rows
    width = max_len - 1
    antecedents = np.full((n, width), -1, np.int64)
    if n:
        lists = table.column("antecedent").combine_chunks()
        lengths = lists.value_lengths().to_numpy()
        flat = item_index.to_index(lists.flatten().to_numpy(zero_copy_only=False))
        rows = np.repeat(np.arange(n), lengths)
        places = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        # Sorted item indices inside an antecedent, as recsys's miners store them.
        antecedents[rows, places] = flat
        antecedents = np.sort(np.where(antecedents < 0, np.iinfo(np.int64).max, antecedents),
                              axis=1)
        antecedents[antecedents == np.iinfo(np.int64).max] = -1
    consequents = item_index.to_index(
        table.column("consequent").to_numpy(zero_copy_only=False)).reshape(n, 1)
    return Candidates(antecedents.astype(np.int32), consequents.astype(np.int32),
                      table.column("count").to_numpy().astype(np.int64),
                      table.column("antecedent_count").to_numpy().astype(np.int64),
                      item_counts[consequents.ravel()])
