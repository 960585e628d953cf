"""Implicit-feedback ALS on Spark MLlib, with recsys's weighting, ranking and a local twin."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_int, check_real
from recsys.data.weighting import resolve_weighting, weigh
from recsys.errors import DataError, NotFittedError
from recsys.models.weighted import check_weighting_params
from recsys.spark.interactions import ITEM, USER, WEIGHT, SparkInteractions

# Score cells (users x items, float64) computed at once while ranking: 256 MiB.
SCORE_CELLS = 1 << 25
# Groups the weighting runs in: each holds whole users (bm25 needs a user's row count).
WEIGHTING_GROUPS = 64


def _value_digest(events: Any) -> sp.csr_matrix:
    """Three stored values on which ``resolve_weighting`` decides exactly as on all of them:
    the minimum, the maximum and one value off the half-point grid, if any."""
    from pyspark.sql import functions as F

    off_grid = F.pmod(F.col(WEIGHT) * 2.0, F.lit(1.0)) != 0
    row = events.agg(F.min(WEIGHT), F.max(WEIGHT),
                     F.first(F.when(off_grid, F.col(WEIGHT)), ignorenulls=True)).first()
    values = [v for v in row if v is not None]
    return sp.csr_matrix(np.array([values], dtype=np.float64))


def _weigher(weighting: str, item_lengths: np.ndarray, k1: float, b: float):
    """A function of an Arrow table of whole users' events returning them weighed by
    :func:`recsys.models.factors.weigh`, the same code a single-machine fit runs."""
    import pyarrow as pa

    def apply(table: pa.Table) -> pa.Table:
        users = table.column(USER).to_numpy()
        local_users, rows = np.unique(users, return_inverse=True)
        matrix = sp.csr_matrix(
            (table.column(WEIGHT).to_numpy(), (rows, table.column(ITEM).to_numpy())),
            shape=(len(local_users), len(item_lengths)))
        weighed = weigh(matrix, weighting, item_lengths, k1, b)
        user_rows = np.repeat(np.arange(weighed.shape[0]), np.diff(weighed.indptr))
        return pa.table({USER: pa.array(local_users[user_rows], pa.int32()),
                         ITEM: pa.array(weighed.indices, pa.int32()),
                         WEIGHT: pa.array(weighed.data.astype(np.float64))})

    return apply


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of each row's ``k`` largest finite scores, by score descending and
    column ascending among equal scores (the tie rule of every recsys model).

    Every cell at least as large as the row's k-th largest value is a candidate (ties at the
    boundary included, so the lowest columns among them win), and only the candidates are
    sorted. Rows with fewer than k finite scores are padded with column -1 and NaN.
    """
    n_rows, n_cols = scores.shape
    columns = np.full((n_rows, k), -1, np.int64)
    values = np.full((n_rows, k), np.nan)
    if n_rows == 0 or n_cols == 0:
        return columns, values
    kth = np.partition(scores, n_cols - min(k, n_cols), axis=1)[:, n_cols - min(k, n_cols)]
    rows, cols = np.nonzero((scores >= kth[:, None]) & np.isfinite(scores))
    found = scores[rows, cols]
    order = np.lexsort((cols, -found, rows))
    rows, cols, found = rows[order], cols[order], found[order]
    starts = np.searchsorted(rows, np.arange(n_rows))
    place = np.arange(len(rows)) - starts[rows]
    keep = place < k
    columns[rows[keep], place[keep]] = cols[keep]
    values[rows[keep], place[keep]] = found[keep]
    return columns, values


def _ranker(item_factors: np.ndarray, k: int):
    """A function of Arrow record batches (user, factors, seen items) yielding each user's
    top k unseen items: float64 scores, recsys's tie rule."""
    import pyarrow as pa

    items = item_factors.astype(np.float64)
    block = max(1, SCORE_CELLS // max(1, len(items)))

    def rank(batches):
        for batch in batches:
            users = batch.column(0).to_numpy()
            vectors = np.asarray(batch.column(1).flatten().to_numpy(), np.float64).reshape(
                len(users), items.shape[1])
            seen = batch.column(2)
            for start in range(0, len(users), block):
                stop = min(start + block, len(users))
                scores = vectors[start:stop] @ items.T
                part = seen.slice(start, stop - start)
                flat = part.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
                lengths = part.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
                scores[np.repeat(np.arange(stop - start), lengths), flat] = -np.inf
                columns, values = top_k(scores, k)
                valid = columns >= 0
                rows, ranks = np.nonzero(valid)
                yield pa.RecordBatch.from_pydict({
                    USER: pa.array(users[start:stop][rows], pa.int32()),
                    ITEM: pa.array(columns[valid], pa.int32()),
                    "score": pa.array(values[valid].astype(np.float32)),
                    "rank": pa.array(ranks + 1, pa.int32()),
                })

    return rank


class SparkALS:
    """Implicit-feedback ALS (Hu et al. 2008) trained by ``pyspark.ml.recommendation.ALS``.

    A stored weight ``w`` (after ``weighting``) becomes a positive of confidence
    ``1 + alpha * w``; every other cell is a negative of confidence 1. Spark scales the L2
    penalty of each user and item by its number of interactions (ALS-WR): ``regularization``
    is Spark's ``regParam`` and its numbers do not carry over from :class:`recsys.ALS`.

    Parameters
    ----------
    factors : int
        Dimension of the user and item vectors (Spark's ``rank``).
    regularization : float
        Spark's ``regParam``: the penalty per interaction of a user or item.
    alpha : float
        Confidence of a positive per unit of weight.
    iterations : int
        ALS sweeps (Spark's ``maxIter``).
    weighting : {"auto", "binary", "raw", "log", "bm25"}
        As in :class:`recsys.ALS`, by the same code
        (:func:`recsys.models.factors.resolve_weighting` and ``weigh``), run on the
        executors over whole users.
    bm25_k1, bm25_b : float
        BM25 parameters (``weighting="bm25"``).
    seed : int
        Seed of Spark's initial factors.
    blocks : int or None
        Spark's ``numUserBlocks`` and ``numItemBlocks``: how many pieces each side of a sweep
        is cut into. None: one per core of the cluster (``defaultParallelism``); Spark's own
        default of 10 only adds tasks on a small cluster. The result does not depend on it
        beyond the random start.

    Attributes
    ----------
    model_ : pyspark.ml.recommendation.ALSModel
    interactions_ : SparkInteractions
        The training interactions (their id maps and seen items).
    weighting_ : str
    item_lengths_ : numpy.ndarray
        Column sums of the training values (BM25 statistics, needed by fold-in).

    Notes
    -----
    **Defaults** (64 factors, regParam 0.3, alpha 3, 15 iterations) come from
    ``benchmarks/tune_spark_als.py``: configurations scored by NDCG@10 on a validation split
    carved from MovieLens 100K's training part (``rs.ALS()`` scores 0.273 there). The ratio
    of penalty to confidence decides: regParam / alpha near 0.1 was best (alpha 3: 0.265;
    regParam 0.6 and 1 at alpha 3 and 10: 0.256-0.259; 0.1 at alpha 1: 0.259), ratios of
    0.03 or 0.3 lost 0.01-0.05; 10 or 15 iterations scored alike. ALS-WR's penalty follows
    each user's and item's number of interactions, which is why the number is not
    ``rs.ALS``'s. On the test split (``tests/spark/test_als.py``, which requires 95% of
    ``rs.ALS()``) they score NDCG@10 = 0.450 against ``rs.ALS()``'s 0.442.

    Examples
    --------
    >>> import recsys as rs  # doctest: +SKIP
    >>> from recsys.spark import SparkALS  # doctest: +SKIP
    >>> model = SparkALS(factors=32).fit(train)  # doctest: +SKIP
    >>> model.recommend(k=10).show(3)  # doctest: +SKIP
    >>> rs.save(model.to_local(), "models/als")  # doctest: +SKIP
    """

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.3,
        alpha: float = 3.0,
        iterations: int = 15,
        weighting: str = "auto",
        bm25_k1: float = 100.0,
        bm25_b: float = 0.8,
        seed: int = 0,
        blocks: int | None = None,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.weighting = weighting
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.seed = seed
        self.blocks = blocks

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (
            "factors", "regularization", "alpha", "iterations", "weighting", "bm25_k1",
            "bm25_b", "seed", "blocks")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"SparkALS({args})"

    # ------------------------------------------------------------------ fitting
    def fit(self, interactions: SparkInteractions) -> SparkALS:
        """Train on :class:`~recsys.spark.SparkInteractions`; returns ``self``."""
        from pyspark.ml.recommendation import ALS
        from pyspark.sql import functions as F

        if not isinstance(interactions, SparkInteractions):
            raise DataError(f"SparkALS.fit expects SparkInteractions, got "
                            f"{type(interactions).__name__}")
        factors = check_int("factors", self.factors)
        iterations = check_int("iterations", self.iterations)
        regularization = check_real("regularization", self.regularization)
        alpha = check_real("alpha", self.alpha, strict=True)
        seed = check_int("seed", self.seed, minimum=0)
        k1, b = check_weighting_params(self)
        events = interactions.events
        self.weighting_ = resolve_weighting(self.weighting, _value_digest(events))
        n_items = interactions.n_items
        lengths = events.groupBy(ITEM).agg(F.sum(WEIGHT).alias("s")).toArrow()
        self.item_lengths_ = np.zeros(n_items, np.float32)
        self.item_lengths_[lengths.column(ITEM).to_numpy()] = lengths.column("s").to_numpy()
        weighed = (events.select(USER, ITEM, WEIGHT)
                   .groupBy(F.pmod(F.col(USER), F.lit(WEIGHTING_GROUPS)))
                   .applyInArrow(_weigher(self.weighting_, self.item_lengths_, k1, b),
                                 f"{USER} int, {ITEM} int, {WEIGHT} double"))
        blocks = (events.sparkSession.sparkContext.defaultParallelism if self.blocks is None
                  else check_int("blocks", self.blocks))
        als = ALS(rank=factors, maxIter=iterations, regParam=regularization, alpha=alpha,
                  implicitPrefs=True, userCol=USER, itemCol=ITEM, ratingCol=WEIGHT,
                  seed=seed, coldStartStrategy="drop", numUserBlocks=blocks,
                  numItemBlocks=blocks)
        self.model_ = als.fit(weighed)
        self.interactions_ = interactions
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("SparkALS is not fitted; call fit() first")

    def _item_factors(self) -> np.ndarray:
        """Item vectors in item-index order; items without a training event get zeros."""
        return _factor_array(self.model_.itemFactors, self.interactions_.n_items,
                             self.model_.rank)

    # ------------------------------------------------------------------ ranking
    def recommend(self, users: Any = None, k: int = 10, exclude_seen: bool = True) -> Any:
        """Top-k items per user as a Spark DataFrame (user, item, score, rank), external ids.

        Parameters
        ----------
        users : pyspark.sql.DataFrame, list of ids or None
            Whom to rank for: None means every user with a training event; a DataFrame
            gives them in its first column. Ids unknown to the model are skipped.
        k : int
        exclude_seen : bool
            Leave out each user's training items (Spark's ``recommendForAllUsers`` keeps
            them).

        Returns
        -------
        pyspark.sql.DataFrame
            One row per (user, recommended item): ``user``, ``item``, ``score`` (float,
            the float64 inner product rounded to float32), ``rank`` (1 = best). Ties are
            broken by item index, as every recsys model does, so the lists equal
            ``to_local().recommend``'s.
        """
        from pyspark.sql import functions as F

        self._check_fitted()
        k = check_int("k", k)
        inter = self.interactions_
        factors = self.model_.userFactors.select(F.col("id").alias(USER), "features")
        if users is not None:
            wanted = users if hasattr(users, "columns") else inter.users.sparkSession \
                .createDataFrame([(u,) for u in np.asarray(users).tolist()], ["_id"])
            wanted = wanted.select(F.col(wanted.columns[0]).alias("_id"))
            chosen = wanted.join(inter.users, wanted["_id"] == inter.users["id"]) \
                .select(F.col("idx").cast("int").alias(USER))
            factors = factors.join(chosen, USER)
        if exclude_seen:
            seen = inter.events.groupBy(USER).agg(F.collect_list(ITEM).alias("_seen"))
            table = factors.join(seen, USER, "left")
        else:
            table = factors.withColumn("_seen", F.array().cast("array<int>"))
        ranked = table.select(USER, "features", "_seen").mapInArrow(
            _ranker(self._item_factors(), k),
            f"{USER} int, {ITEM} int, score float, rank int")
        return inter.with_ids(ranked).select("user", "item", "score", "rank")

    # ------------------------------------------------------------------ local twin
    def to_local(self):
        """The trained model as a fitted :class:`recsys.ALS`, ready for ``rs.save``,
        ``recommend`` and ``recsys serve``.

        It holds the Spark vectors as trained (``refine_users=False``), the training
        interactions (seen items), the weighting and its statistics. Spark's penalty grows
        with a user's number of interactions; the local model folds new users in with one
        fixed penalty, that of a user with the mean number of interactions
        (``regularization * nnz / n_users``), expressed per unit of alpha.
        """
        from recsys.models.als import ALS

        self._check_fitted()
        local_inter = self.interactions_.to_local()
        n_users = local_inter.n_users
        penalty = float(self.regularization) * local_inter.nnz / max(n_users, 1)
        model = ALS(factors=self.model_.rank, regularization=penalty / float(self.alpha),
                    alpha=float(self.alpha), iterations=int(self.iterations),
                    weighting=self.weighting, refine_users=False, bm25_k1=self.bm25_k1,
                    bm25_b=self.bm25_b, seed=int(self.seed))
        model.users_ = local_inter.users
        model.items_ = local_inter.items
        model.user_items_ = local_inter.matrix
        model.item_popularity_ = np.bincount(
            local_inter.matrix.indices, minlength=local_inter.n_items).astype(np.float32)
        model.weighting_ = self.weighting_
        model.item_lengths_ = self.item_lengths_.copy()
        model.regularization_ = penalty
        model.alpha_ = float(self.alpha)
        model.weight_scale_ = 1.0  # Spark's confidences are the weights as given
        model.user_factors_ = _factor_array(self.model_.userFactors, n_users, self.model_.rank)
        model.item_factors_ = self._item_factors()
        model._restore()
        return model


def _factor_array(frame: Any, n_rows: int, rank: int) -> np.ndarray:
    """An ALSModel factor DataFrame (id, features) as a dense float32 array by id."""
    table = frame.toArrow()
    ids = table.column("id").to_numpy()
    vectors = np.asarray(table.column("features").combine_chunks().flatten().to_numpy(),
                         np.float32).reshape(len(ids), rank)
    out = np.zeros((n_rows, rank), np.float32)
    out[ids] = vectors
    return out
