"""Ranking metrics computed in Spark, with the definitions of :mod:`recsys.evaluation.metrics`.

``recommendations`` is a DataFrame of one row per (user, item) with a 1-based ``rank`` column
(what :meth:`recsys.spark.SparkALS.recommend` and ``Recommendations.to_pandas`` give);
``test`` holds the held-out (user, item[, weight]) rows. An item is relevant to a user when
its test weight is > 0 (every row is relevant without a weight column); repeated test rows of
a pair are one relevant item. The evaluated users are those with at least one relevant item,
whether or not they have recommendations (a user without any gets 0 everywhere). With
``hits@k`` the relevant items within ranks 1..k:

=============  ==============================================================================
precision@k    hits@k / k
recall@k       hits@k / |relevant|
ndcg@k         sum over hit ranks r of 1 / log2(r + 1), divided by the ideal
               sum_{r <= min(|relevant|, k)} 1 / log2(r + 1)  (binary gains)
map@k          sum over hit ranks r of precision@r, divided by min(|relevant|, k)
mrr@k          1 / rank of the first hit within the top k, else 0
hit_rate@k     1 if there is any hit in the top k, else 0
coverage@k     distinct items in any top-k list / n_items
=============  ==============================================================================

An item repeated in a user's list counts only at its best rank, as in the numpy kernels;
users are never collected to the driver, only the means (and, on request, the per-user
DataFrame stays in Spark).
"""

from __future__ import annotations

import math
from typing import Any

from recsys._checks import check_int
from recsys.errors import ColumnError
from recsys.evaluation.metrics import CORE_METRICS

__all__ = ["CORE_METRICS", "coverage", "evaluate", "per_user"]


def _require(frame: Any, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ColumnError(f"{what} has no column(s) {missing}; it has {frame.columns[:20]}")


def per_user(
    recommendations: Any,
    test: Any,
    k: int = 10,
    *,
    user: str = "user",
    item: str = "item",
    rank: str = "rank",
    weight: str | None = None,
) -> Any:
    """Per-user precision, recall, ndcg, map, mrr and hit_rate at ``k``, as a Spark DataFrame.

    Parameters
    ----------
    recommendations : pyspark.sql.DataFrame
        Columns ``user``, ``item``, ``rank`` (1 = best).
    test : pyspark.sql.DataFrame
        Columns ``user``, ``item`` and optionally ``weight``.
    k : int
        Cutoff.
    user, item, rank, weight : str
        Column names (the same user and item names in both frames).

    Returns
    -------
    pyspark.sql.DataFrame
        Columns ``user`` (as named), ``precision``, ``recall``, ``ndcg``, ``map``, ``mrr``,
        ``hit_rate``; one row per user with a relevant test item.

    Examples
    --------
    >>> from recsys.spark import metrics                       # doctest: +SKIP
    >>> metrics.per_user(recs, test, k=10).show()  # doctest: +SKIP
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    k = check_int("k", k)
    _require(recommendations, [user, item, rank], "recommendations")
    _require(test, [user, item] + ([weight] if weight else []), "test")
    relevant = test if weight is None else test.filter(F.col(weight) > 0)
    relevant = relevant.select(user, item).distinct()
    n_relevant = relevant.groupBy(user).agg(F.count(F.lit(1)).alias("_n"))
    best = (recommendations.filter(F.col(rank) <= k)
            .groupBy(user, item).agg(F.min(rank).alias("_r")))
    hits = best.join(relevant, [user, item])
    nth = F.row_number().over(Window.partitionBy(user).orderBy("_r"))
    per_hit = hits.select(user, "_r", (1.0 / F.log2(F.col("_r") + 1.0)).alias("_gain"),
                          (nth / F.col("_r")).alias("_precision"))
    sums = per_hit.groupBy(user).agg(
        F.count(F.lit(1)).alias("_hits"), F.sum("_gain").alias("_dcg"),
        F.min("_r").alias("_first"), F.sum("_precision").alias("_ap"))
    # The ideal DCG of m relevant items, m = 1..k, as a literal lookup array.
    ideal = [sum(1.0 / math.log2(r + 1.0) for r in range(1, m + 1)) for m in range(1, k + 1)]
    ideal_at = F.element_at(F.array(*[F.lit(v) for v in ideal]),
                            F.least(F.col("_n"), F.lit(k)).cast("int"))
    joined = n_relevant.join(sums, user, "left").fillna(0, subset=["_hits", "_dcg", "_ap"])
    hit_count = F.col("_hits").cast("double")
    return joined.select(
        user,
        (hit_count / k).alias("precision"),
        (hit_count / F.col("_n")).alias("recall"),
        (F.col("_dcg") / ideal_at).alias("ndcg"),
        (F.col("_ap") / F.least(F.col("_n"), F.lit(k))).alias("map"),
        F.coalesce(1.0 / F.col("_first"), F.lit(0.0)).alias("mrr"),
        (F.col("_hits") > 0).cast("double").alias("hit_rate"),
    )


def coverage(recommendations: Any, n_items: int, k: int = 10, *, item: str = "item",
             rank: str = "rank") -> float:
    """Share of the ``n_items`` catalog items present in any top-k list.

    Examples
    --------
    >>> metrics.coverage(recs, n_items=1682, k=10)             # doctest: +SKIP
    0.31
    """
    from pyspark.sql import functions as F

    k = check_int("k", k)
    n_items = check_int("n_items", n_items)
    _require(recommendations, [item, rank], "recommendations")
    distinct = (recommendations.filter(F.col(rank) <= k).select(item).distinct().count())
    return distinct / n_items


def evaluate(
    recommendations: Any,
    test: Any,
    k: int = 10,
    *,
    n_items: int | None = None,
    user: str = "user",
    item: str = "item",
    rank: str = "rank",
    weight: str | None = None,
) -> dict[str, float]:
    """Mean of every per-user metric at ``k`` (``"ndcg@10"`` ...), plus ``"coverage@k"`` when
    ``n_items`` is given, and ``"users"``, the number of evaluated users. Only these numbers
    reach the driver.

    Examples
    --------
    >>> metrics.evaluate(recs, test, k=10, n_items=1682)      # doctest: +SKIP
    {'precision@10': ..., 'ndcg@10': ..., 'coverage@10': ..., 'users': 943}
    """
    from pyspark.sql import functions as F

    table = per_user(recommendations, test, k, user=user, item=item, rank=rank, weight=weight)
    row = table.agg(*[F.avg(m).alias(m) for m in CORE_METRICS],
                    F.count(F.lit(1)).alias("users")).first()
    out = {f"{m}@{k}": float(row[m]) if row[m] is not None else float("nan")
           for m in CORE_METRICS}
    if n_items is not None:
        out[f"coverage@{k}"] = coverage(recommendations, n_items, k, item=item, rank=rank)
    out["users"] = int(row["users"])
    return out
