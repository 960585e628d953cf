"""Validation studies behind the defaults of ItemKNN and BPR.

Protocol: per-user random 80/20 split (seed 42) of MovieLens 100K and of the demo data; the
study only looks at a validation split (20% of each training user's items, seed 7) carved
from the training part, never at the test part. For each family it prints NDCG@10 of every
grid point on both validation splits and their mean rank; a default should rank well on
both rather than win one.

    .venv/bin/python benchmarks/tune_defaults.py [--family ItemKNN|BPR] [--ml100k PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import recsys as rs

SPACES = {
    "ItemKNN": (rs.ItemKNN, {"similarity": ["cosine", "bm25", "tfidf"], "k": [20, 50, 100, 200]}),
    "BPR": (lambda **p: rs.BPR(threads=1, **p),
            {"factors": [64, 128], "learning_rate": [0.003, 0.01, 0.05],
             "regularization": [0.001, 0.01], "iterations": [30, 60, 100, 300]}),
}


def validation_split(inter: rs.Interactions) -> tuple[rs.Interactions, rs.Interactions]:
    train, _ = rs.split.random(inter, test_size=0.2, seed=42)
    return rs.split.random(train, test_size=0.2, seed=7)


def study(family: str, splits: dict) -> pd.DataFrame:
    factory, space = SPACES[family]
    tables = []
    for name, (fit, valid) in splits.items():
        trials = rs.tune(factory, space, fit, valid, metric="ndcg", k=10).trials
        tables.append(trials.set_index(list(space))["ndcg@10"].rename(f"{name} ndcg@10"))
    table = pd.concat(tables, axis=1)
    table["mean rank"] = table.rank(ascending=False).mean(axis=1)
    return table.sort_values("mean rank")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(SPACES), action="append")
    parser.add_argument("--ml100k", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data/ml-100k")
    args = parser.parse_args()
    splits = {"ml-100k": validation_split(rs.datasets.movielens_100k(args.ml100k).interactions),
              "demo": validation_split(rs.datasets.demo().interactions)}
    for family in args.family or sorted(SPACES):
        print(f"\n{family}")
        print(study(family, splits).to_string(float_format="%.4f"))


if __name__ == "__main__":
    main()
