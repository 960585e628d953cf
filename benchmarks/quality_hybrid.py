"""Hybrid vs its members: NDCG@10 and coverage@10 on MovieLens 100K and on the demo data.

Protocol (the one of ``benchmarks/quality.py``): per-user random 80/20 split, seed 42; the test
part is only used for the final table. Every choice of the Hybrid is made on a validation
split carved from the training part (20% of each training user's items, seed 7): members
fitted on the rest, then ``rs.fit_weights(hybrid, valid, metric="ndcg", k=10, step=0.1,
candidates=(20, 50, 100), tolerance=0, min_coverage="best_member")`` picks the weights (0.1
grid) and the candidate-list length under a coverage floor (only fusions whose validation
coverage@10 reaches that of the best member alone are eligible, the best NDCG@10 among them
wins), then the Hybrid (and so every member) is refitted on the whole training part with
what was found. "NDCG-only search" is the same search without the floor and the length, as
``fit_weights`` worked before.

Members: the best collaborative model available (EASE and ALS are compared on the validation
split; ItemKNN when neither exists), ItemKNN (defaults) and ContentBased (MovieLens: genres and
title words; demo: category, brand, price bins, title and description). The fallback chain is
Popularity (and ContentBased first, for cold items, in the "cold fallback" row).

    .venv/bin/python benchmarks/quality_hybrid.py [--ml100k ../shared/data/ml-100k]
        [--json PATH] [--threads 1]

:func:`hybrid_rows` is the piece ``benchmarks/quality.py`` can call to add these rows, and
:func:`target_checks` the issue's pass/fail.

Measured here (one thread; NDCG@10 / coverage@10 on the test split). The best CF model is ALS
on both data sets.

    ML-100K  ALS 0.4401 / 0.2616, ItemKNN 0.3767 / 0.1308, ContentBased 0.0540 / 0.2622
             Hybrid fitted 0.4402 / 0.2640 (ALS 0.9, ContentBased 0.1; lists of 20)  PASS
             NDCG-only search 0.4437 / 0.2485 (ALS 0.9, ItemKNN 0.1)
    demo     ALS 0.3719 / 0.4300, ItemKNN 0.3558 / 0.3800, ContentBased 0.0949 / 0.9860
             Hybrid fitted 0.3731 / 0.4440 (ALS 0.7, ItemKNN 0.2, ContentBased 0.1; 20)  PASS
             NDCG-only search 0.3733 / 0.4080 (ALS 0.7, ItemKNN 0.3)

Both pass, but on ML-100K the NDCG@10 margin is +0.0001 (paired standard error over the test
users 0.0004): a tie, not a win; on the demo it is +0.0012 (s.e. 0.0012). The target sits at
the edge of what fusing these members can reach. In a one-off study (not this script) that
selected on an inner validation split (carved from the fitting part, seeds 107-109) and
checked on the outer one (seeds 7-9, the test split unused), the same rule raised coverage@10
over ALS on all three ML-100K splits but left NDCG@10 0.0003-0.0011 below it, and met both
conditions on 2 of the 3 demo splits. On
those ML-100K splits at most 5 of 1,320 (fusion method, length, weights) settings beat ALS on
both metrics at all, and the NDCG-only search itself fell below ALS on NDCG@10 in two of the
three. Measured there and not kept: choosing the widest fusion within one or two standard
errors of the best validation NDCG (it gave away more NDCG on held-out data); searching rank
fusion, reciprocal-rank fusion and z-score normalisation too, and a log-popularity penalty on
the fused score (no consistent gain; fitted rrf reduces to ALS alone, see its row).
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
# The Hybrid the target is about, and the candidate-list lengths its search tries (2k, 5k, 10k).
FITTED = "Hybrid score, fitted"
LENGTHS = (20, 50, 100)
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


# The search this benchmark measures: the best validation NDCG under a coverage floor
# (``rs.fit_weights``'s default until it kept the most balanced weights within one standard
# error, without a floor; ``benchmarks/defaults.py`` measures that default).
FLOORED = {"tolerance": 0, "min_coverage": "best_member"}


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

    # (label, method, fallback chain, fit_weights arguments or None for equal weights). The
    # members are shared instances: every Hybrid refits them in place, with the same seeds,
    # so they are the same models.
    configs = [
        ("Hybrid score, equal weights", "score", [rs.Popularity()], None),
        ("Hybrid score, NDCG-only search", "score", [rs.Popularity()],
         dict(tolerance=0)),
        (FITTED, "score", [rs.Popularity()], dict(FLOORED, candidates=LENGTHS)),
        ("Hybrid rrf, fitted", "rrf", [rs.Popularity()], dict(FLOORED, candidates=LENGTHS)),
        # ContentBased also stands in for the CF members on items without training data.
        ("Hybrid score, fitted, cold fallback", "score", [content, rs.Popularity()],
         dict(FLOORED, candidates=LENGTHS)),
    ]
    for label, method, fallback, search in configs:
        hybrid = rs.Hybrid(list(members.values()), method=method, fallback=fallback)
        extra: dict = {}
        if search is not None:
            start = time.perf_counter()
            rs.fit_weights(hybrid.fit(fit_data), valid, metric="ndcg", k=10, step=0.1, **search)
            extra["weight search s"] = time.perf_counter() - start
            hybrid.set_params(weights=[round(float(w), 2) for w in hybrid.weights_],
                              candidates=hybrid.candidates_)
        start = time.perf_counter()
        hybrid.fit(train_data)
        row(label, hybrid, time.perf_counter() - start,
            weights=[round(float(w), 2) for w in hybrid.weights_],
            candidates=hybrid.candidates_, **extra)
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
    for label, ok in target_checks(table).items():
        print(f"{'PASS' if ok else 'MISS'}  {label}")
    return rows


def target_checks(table: pd.DataFrame) -> dict[str, bool]:
    """Issue 6's target per data set: the fitted Hybrid at least matches its best member
    (by NDCG@10 on the test split) on NDCG@10 and beats it on coverage@10."""
    checks = {}
    for data, group in table.groupby("data", sort=False):
        members = group[~group["model"].str.startswith("Hybrid")]
        best = members.loc[members["ndcg@10"].idxmax()]
        fitted = group[group["model"] == FITTED].iloc[0]
        label = (f"{data}: fitted Hybrid ndcg@10 {fitted['ndcg@10']:.4f} >= {best['model']} "
                 f"{best['ndcg@10']:.4f} and coverage@10 {fitted['coverage@10']:.4f} > "
                 f"{best['coverage@10']:.4f}")
        checks[label] = bool(fitted["ndcg@10"] >= best["ndcg@10"]
                             and fitted["coverage@10"] > best["coverage@10"])
    return checks


if __name__ == "__main__":
    main()
