"""The tuning study behind ``SparkALS()``'s defaults. Never looks at a test split to choose.

Protocol (that of ``benchmarks/tune_als.py``): MovieLens 100K, every rating an interaction,
split per user 80/20 with seed 42 (the test part is put aside); the training part is split
again 80/20 with seed 1 into a fit part and a validation part. Each configuration is fitted
on the fit part by ``SparkALS`` in local mode and scored by NDCG@10 on the validation part
with recsys's metric code (full ranking, fit items excluded, through ``to_local()``).

Spark's ``regParam`` is multiplied by each user's and item's number of interactions
(ALS-WR), so the grid is over that per-interaction penalty, around ``rs.ALS``'s fixed
penalty of 50 divided by the mean number of interactions per user (about 0.6 here).

Run ``python benchmarks/tune_spark_als.py [--data ../shared/data/ml-100k]
[--grid factors:64 reg:0.3,1,3 alpha:10 iterations:10] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
import warnings
from pathlib import Path

import pandas as pd

import recsys as rs
from recsys.spark import SparkALS, SparkInteractions, session

DEFAULT_GRID = {"factors": [64], "reg": [0.1, 0.3, 1.0], "alpha": [3.0, 10.0, 30.0],
                "iterations": [10]}


def parse_grid(items: list[str]) -> dict[str, list[float]]:
    grid = dict(DEFAULT_GRID)
    for item in items:
        name, values = item.split(":")
        grid[name] = [float(v) for v in values.split(",")]
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared"
                                              / "data" / "ml-100k"))
    parser.add_argument("--grid", nargs="*", default=[])
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)  # pyspark on pandas 3 (tested in tests/spark)
    frame = pd.read_csv(Path(args.data) / "u.data", sep="\t",
                        names=["user_id", "item_id", "rating", "timestamp"])
    inter = rs.Interactions.from_pandas(frame, "user_id", "item_id", weight="rating")
    train, _ = rs.split.random(inter, test_size=0.2, seed=42)
    fit, valid = rs.split.random(train, test_size=0.2, seed=1)
    spark = session("local[2]", spark_sql_shuffle_partitions=2)
    spark.sparkContext.setLogLevel("ERROR")
    fit_spark = SparkInteractions.from_spark(spark.createDataFrame(fit.to_pandas()),
                                             "user", "item", weight="weight")
    grid = parse_grid(args.grid)
    rows = []
    for factors, reg, alpha, iterations in itertools.product(
            grid["factors"], grid["reg"], grid["alpha"], grid["iterations"]):
        start = time.perf_counter()
        model = SparkALS(factors=int(factors), regularization=reg, alpha=alpha,
                         iterations=int(iterations), blocks=args.blocks).fit(fit_spark)
        local = model.to_local()
        seconds = time.perf_counter() - start
        ndcg = float(rs.evaluate(local, valid, train=fit, k=10).summary["ndcg@10"])
        rows.append({"factors": int(factors), "reg": reg, "alpha": alpha,
                     "iterations": int(iterations), "valid_ndcg@10": round(ndcg, 4),
                     "fit_s": round(seconds, 1)})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows).sort_values("valid_ndcg@10", ascending=False)
    print(table.to_string(index=False))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    spark.stop()


if __name__ == "__main__":
    main()
