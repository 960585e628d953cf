"""Hybrid vs its members: NDCG@10 and coverage@10 on MovieLens 100K and on the demo data.

Protocol (the one of ``benchmarks/quality.py``): per-user random 80/20 split, seed 42; the test
part is only used for the final table. The Hybrid's weights are fitted on a validation split
carved from the training part (20% of each training user's items, seed 7): members fitted on
the rest, ``fit_weights(valid, metric="ndcg", k=10)`` over a 0.1 grid, then the Hybrid (and so
every member) refitted on the whole training part with the weights found.

Members: the best collaborative model available (EASE and ALS are compared on the validation
split; ItemKNN when neither exists), ItemKNN (defaults) and ContentBased (MovieLens: genres and
title words; demo: category, brand, price bins, title and description). The fallback chain is
ContentBased for cold items, then Popularity.

    .venv/bin/python benchmarks/quality_hybrid.py [--ml100k ../shared/data/ml-100k]
        [--json PATH] [--threads 1]

:func:`hybrid_rows` is the piece ``benchmarks/quality.py`` can call to add these rows.

Measured here (one thread): the best CF model is ALS on both data sets. With fitted weights
the score-fused Hybrid beats it on NDCG@10 (ML-100K 0.4437 vs 0.4401, weights ALS 0.9 /
ItemKNN 0.1; demo 0.3733 vs 0.3719, ALS 0.7 / ItemKNN 0.3) but does not win on coverage@10
(0.2485 vs 0.2616; 0.4080 vs 0.4300): ItemKNN leans to popular items and the search gives
ContentBased weight 0. With ContentBased also standing in for the CF members on items
without training data, coverage goes up on ML-100K (0.2658) and NDCG@10 down (0.4340).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

import recsys as rs

SEED_TEST, SEED_VALID = 42, 7
CONTENT = {
    "ml-100k": dict(multilabel_columns=["genres"], text_columns=["title"]),
    "demo": dict(categorical_columns=["category", "brand"], numeric_columns=["price"],
                 numeric_bins=10, text_columns=["title", "description"]),
}


def with_items(inter: rs.Interactions, ds: rs.Dataset) -> rs.Dataset:
    return rs.Dataset(inter, item_features=ds.item_features, user_features=ds.user_features,
                      items=ds.items)


def cf_candidates(threads: int) -> dict[str, rs.Recommender]:
    out = {}
    if hasattr(rs, "EASE"):
        out["EASE"] = rs.EASE(threads=threads)
    if hasattr(rs, "ALS"):
        out["ALS"] = rs.ALS(threads=threads, seed=0)
    return out or {"ItemKNN": rs.ItemKNN(threads=threads)}


def best_cf(fit: rs.Dataset, valid: rs.Interactions, threads: int) -> tuple[str, rs.Recommender]:
    scores = {}
    for name, model in cf_candidates(threads).items():
        scores[name] = rs.evaluate(model.fit(fit), valid, k=10).summary["ndcg@10"]
    name = max(scores, key=scores.get)
    print(f"  best CF on validation: {name} "
          f"({', '.join(f'{k} {v:.4f}' for k, v in scores.items())})")
    return name, cf_candidates(threads)[name]


def hybrid_rows(name: str, ds: rs.Dataset, threads: int = 1) -> list[dict]:
    """Rows of the comparison table for one data set."""
    train, test = rs.split.random(ds.interactions, test_size=0.2, seed=SEED_TEST)
    fit, valid = rs.split.random(train, test_size=0.2, seed=SEED_VALID)
    fit_data, train_data = with_items(fit, ds), with_items(train, ds)
    cf_name, cf = best_cf(fit_data, valid, threads)
    content = rs.ContentBased(**CONTENT[name])
    members = {cf_name: cf, "ItemKNN": rs.ItemKNN(threads=threads), "ContentBased": content}
    rows = []

    def row(label: str, model: rs.Recommender, seconds: float, **extra) -> None:
        summary = rs.evaluate(model, test, k=10).summary
        rows.append({"data": name, "model": label, "ndcg@10": summary["ndcg@10"],
                     "recall@10": summary["recall@10"], "coverage@10": summary["coverage@10"],
                     "fit s": seconds, **extra})

    # (label, method, fallback chain, fit the weights?) The members are shared instances:
    # every Hybrid refits them in place, with the same seeds, so they are the same models.
    configs = [
        ("Hybrid score, equal weights", "score", [rs.Popularity()], False),
        ("Hybrid score, fitted weights", "score", [rs.Popularity()], True),
        ("Hybrid rrf, fitted weights", "rrf", [rs.Popularity()], True),
        # ContentBased also stands in for the CF members on items without training data.
        ("Hybrid score, fitted weights, cold fallback", "score", [content, rs.Popularity()],
         True),
    ]
    for label, method, fallback, search in configs:
        hybrid = rs.Hybrid(list(members.values()), method=method, fallback=fallback)
        extra: dict = {}
        if search:
            start = time.perf_counter()
            hybrid.fit(fit_data).fit_weights(valid, metric="ndcg", k=10, step=0.1)
            extra["weight search s"] = time.perf_counter() - start
            hybrid.set_params(weights=[round(float(w), 2) for w in hybrid.weights_])
        start = time.perf_counter()
        hybrid.fit(train_data)
        row(label, hybrid, time.perf_counter() - start,
            weights=[round(float(w), 2) for w in hybrid.weights_], **extra)
    for label, model in members.items():
        start = time.perf_counter()
        model.fit(train_data)
        row(label, model, time.perf_counter() - start)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ml100k", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data/ml-100k")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    rows = report(args.ml100k, args.threads)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))


def report(ml100k: Path, threads: int = 1) -> list[dict]:
    """Run the hybrid study on MovieLens 100K and the demo data; print its table."""
    rows = []
    with threadpool_limits(threads):
        for name, load in (("ml-100k", lambda: rs.datasets.movielens_100k(
                               ml100k, show_progress=False)),
                           ("demo", rs.datasets.demo)):
            print(f"{name}:")
            rows += hybrid_rows(name, load(), threads=threads)
    table = pd.DataFrame(rows)
    print(table.drop(columns=["weight search s"], errors="ignore").to_string(
        index=False, float_format="%.4f"))
    for data, group in table.groupby("data", sort=False):
        members = group[~group["model"].str.startswith("Hybrid")]
        best = members.loc[members["ndcg@10"].idxmax()]
        fitted = group[group["model"] == "Hybrid score, fitted weights"].iloc[0]
        widest = members.loc[members["coverage@10"].idxmax()]
        ratio = fitted["ndcg@10"] / best["ndcg@10"]
        print(f"{data}: fitted Hybrid ndcg@10 {fitted['ndcg@10']:.4f} vs best member "
              f"{best['model']} {best['ndcg@10']:.4f} ({ratio:.3f}x); coverage@10 "
              f"{fitted['coverage@10']:.4f} vs {best['model']} {best['coverage@10']:.4f} "
              f"(widest member: {widest['model']} {widest['coverage@10']:.4f})")
    return rows


if __name__ == "__main__":
    main()
