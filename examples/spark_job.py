"""Train on Spark, serve anywhere: Parquet -> split -> SparkALS -> metrics -> rs.save.

Submit it to a cluster (the cluster's session is used as is) or run it locally::

    spark-submit examples/spark_job.py events/ models/als --user user_id --item item_id
    python examples/spark_job.py events/ models/als          # local[*]

then serve the saved model on any machine with ``recsys serve models/als``.
"""

from __future__ import annotations

import argparse
import json

import recsys as rs
from recsys.spark import SparkALS, SparkInteractions, session, split
from recsys.spark import metrics as spark_metrics


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", help="Parquet file or directory of events")
    parser.add_argument("model_dir", help="where rs.save writes the trained model")
    parser.add_argument("--user", default="user_id")
    parser.add_argument("--item", default="item_id")
    parser.add_argument("--weight")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args(argv)

    spark = session(args.master)
    inter = SparkInteractions.read_parquet(args.events, spark=spark, user=args.user,
                                           item=args.item, weight=args.weight)
    train, test = split.random(inter, test_size=0.2, seed=42)
    model = SparkALS(factors=args.factors, iterations=args.iterations).fit(train)
    recs = model.recommend(k=10)                    # Spark DataFrame, external ids
    held_out = train.with_ids(test.events)          # test events with external ids
    scores = spark_metrics.evaluate(recs, held_out, k=10, n_items=inter.n_items)
    rs.save(model.to_local(), args.model_dir)       # the normal format: recsys serve loads it
    print(json.dumps(scores, indent=1))
    return scores


if __name__ == "__main__":
    main()
