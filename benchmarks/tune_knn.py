"""Validation study behind ItemKNN's defaults (similarity, k).

Protocol: per-user random 80/20 split (seed 42) of MovieLens 100K and of the demo data; the
study only looks at a validation split (20% of each training user's items, seed 7) carved
from the training part, never at the test part. Prints NDCG@10 on both validation splits.

    .venv/bin/python benchmarks/tune_knn.py [--ml100k ../shared/data/ml-100k]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import pandas as pd

import recsys as rs


def validation_split(inter: rs.Interactions) -> tuple[rs.Interactions, rs.Interactions]:
    train, _ = rs.split.random(inter, test_size=0.2, seed=42)
    return rs.split.random(train, test_size=0.2, seed=7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ml100k", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data/ml-100k")
    args = parser.parse_args()
    splits = {"ml-100k": validation_split(rs.datasets.movielens_100k(args.ml100k).interactions),
              "demo": validation_split(rs.datasets.demo().interactions)}
    rows = []
    for similarity, k in itertools.product(["cosine", "bm25", "tfidf"], [20, 50, 100, 200]):
        row = {"similarity": similarity, "k": k}
        for name, (fit, valid) in splits.items():
            model = rs.ItemKNN(similarity=similarity, k=k).fit(fit)
            row[f"{name} ndcg@10"] = rs.evaluate(model, valid, k=10).summary["ndcg@10"]
        rows.append(row)
    table = pd.DataFrame(rows)
    table["mean rank"] = table.filter(like="ndcg").rank(ascending=False).mean(axis=1)
    print(table.sort_values("mean rank").to_string(index=False, float_format="%.4f"))


if __name__ == "__main__":
    main()
