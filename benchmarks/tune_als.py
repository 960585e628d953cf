"""The tuning study behind ``rs.ALS()``'s defaults. Never looks at a test split to choose.

Validation protocol
-------------------
Every data set is split like the quality benchmark (per-user random 80/20, seed 42); the test
part is put aside. The training part is split again (per-user random 80/20, seed 1) into a
fit part and a validation part; models are fitted on the fit part and scored by NDCG@10 on
the validation part (full ranking, fit items excluded). Data sets:

- ``ml100k``: MovieLens 100K, every rating an interaction (the quality benchmark's data).
- ``ml100k-sparse``: its training part with 30% of the entries kept (density / 3.3).
- ``ml100k-users30``: its training part restricted to 30% of the users.
- ``demo``: ``rs.datasets.demo()``, play-count-like values (``weighting="auto"`` -> log).

Part 1 -- does the penalty scale?  At factors 64 and 15 iterations, a grid over the raw
penalty (``scale_regularization=False``) and alpha on every data set; for each data set and
alpha the best raw penalty is divided by candidate scales: none; alpha; alpha times the mean
weight; the mean confidence of a user row (``alpha * sum(w) / n_users``, ALS-WR-like); and
``(n_users * n_items + alpha * sum(w)) / sqrt(n_users * n_items)`` (the total loss weight
over the geometric mean of users and items: the penalty that keeps the same solution when
the data are replicated). The scale under which the best *relative* penalty varies least
across data sets and alphas is the one ``scale_regularization=True`` applies. (Result: the
best raw penalty did not move with data size or density; it moves with alpha. Shipped:
penalty = regularization * alpha.)

Part 2 -- the defaults.  On ``ml100k`` validation only: factors {64, 128} x iterations
{15, 30} x alpha {5, 10, 20} x relative regularization {2.5, 5, 10}, with
``scale_regularization=True`` (36 fits). The best configuration is the default.

Part 3 -- check.  The chosen defaults on every data set's validation split, next to the
best configuration of Part 1's grid there (which was tuned per data set).

Finally, for the record only, the defaults' NDCG@10 on the ML-100K *test* split (fitted on the
whole training part): this number played no part in any choice.

Run ``python benchmarks/tune_als.py [--data ../shared/data/ml-100k] [--threads 1]
[--json PATH]``; it takes a few minutes on one core.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

import recsys as rs
from recsys.models.als import ALS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ml-100k"

PART1_PENALTIES = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
PART1_ALPHAS = (3.0, 10.0, 30.0)
PART2_GRID = {
    "factors": (64, 128),
    "iterations": (15, 30),
    "alpha": (5.0, 10.0, 20.0),
    "regularization": (2.5, 5.0, 10.0),
}


def _subsample(inter: rs.Interactions, keep: float, seed: int, by_user: bool) -> rs.Interactions:
    rng = np.random.default_rng(seed)
    rows, _, _ = inter.entries()
    if by_user:
        chosen = rng.random(inter.n_users) < keep
        mask = chosen[rows]
    else:
        mask = rng.random(len(rows)) < keep
    # A fresh Interactions: users and items left without entries disappear from the index.
    frame = inter.to_pandas()[mask]
    return rs.Interactions.from_pandas(frame, user="user", item="item", weight="weight")


def load_datasets(ml_path: Path) -> tuple[dict[str, tuple[rs.Interactions, rs.Interactions]],
                                          tuple[rs.Interactions, rs.Interactions]]:
    """``{name: (fit, validation)}`` and ML-100K's ``(train, test)`` for the final report."""
    ml = rs.datasets.movielens_100k(ml_path).interactions
    ml_train, ml_test = rs.split.random(ml, test_size=0.2, seed=42)
    demo_train, _ = rs.split.random(rs.datasets.demo().interactions, test_size=0.2, seed=42)
    bases = {
        "ml100k": ml_train,
        "ml100k-sparse": _subsample(ml_train, 0.3, seed=2, by_user=False),
        "ml100k-users30": _subsample(ml_train, 0.3, seed=3, by_user=True),
        "demo": demo_train,
    }
    return ({name: rs.split.random(base, test_size=0.2, seed=1) for name, base in bases.items()},
            (ml_train, ml_test))


def ndcg(model: ALS, fit: rs.Interactions, validation: rs.Interactions) -> float:
    model.fit(fit)
    return float(rs.evaluate(model, validation, k=10, metrics=("ndcg",)).summary["ndcg@10"])


def active_shape(inter: rs.Interactions) -> tuple[int, int]:
    matrix = inter.matrix
    return int((np.diff(matrix.indptr) > 0).sum()), int(np.unique(matrix.indices).size)


def part1(data: dict, threads: int) -> pd.DataFrame:
    rows = []
    for name, (fit, validation) in data.items():
        for alpha in PART1_ALPHAS:
            for penalty in PART1_PENALTIES:
                model = ALS(factors=64, iterations=15, alpha=alpha, regularization=penalty,
                            scale_regularization=False, threads=threads)
                rows.append({"data": name, "alpha": alpha, "penalty": penalty,
                             "ndcg@10": ndcg(model, fit, validation)})
    return pd.DataFrame(rows)


def candidate_scales(fit: rs.Interactions, alpha: float) -> dict[str, float]:
    """What a relative penalty would be multiplied by, under each candidate rule."""
    weighted = ALS()._weighted_training_input(fit)  # the weights "auto" resolves to
    n_users, n_items = active_shape(fit)
    confidence = float(np.abs(weighted.data).sum())
    cells = float(n_users) * n_items
    return {
        "none": 1.0,
        "alpha": alpha,
        "alpha*mean(w)": alpha * confidence / weighted.nnz,
        "user-mean": alpha * confidence / n_users,
        "sqrt-cells": (cells + alpha * confidence) / np.sqrt(cells),
    }


def scales(data: dict, grid: pd.DataFrame) -> pd.DataFrame:
    """Best raw penalty per (data set, alpha) divided by each candidate scale."""
    best = grid.loc[grid.groupby(["data", "alpha"])["ndcg@10"].idxmax()].reset_index(drop=True)
    out = []
    for _, row in best.iterrows():
        rules = candidate_scales(data[row["data"]][0], row["alpha"])
        out.append({"data": row["data"], "alpha": row["alpha"], "best penalty": row["penalty"],
                    "ndcg@10": row["ndcg@10"],
                    **{f"rel. {name}": row["penalty"] / scale for name, scale in rules.items()}})
    return pd.DataFrame(out)


def part2(fit: rs.Interactions, validation: rs.Interactions, threads: int) -> pd.DataFrame:
    rows = []
    keys = list(PART2_GRID)
    for values in np.array(np.meshgrid(*PART2_GRID.values(), indexing="ij"),
                           dtype=object).reshape(len(keys), -1).T:
        params = dict(zip(keys, values, strict=True))
        params["factors"], params["iterations"] = int(params["factors"]), int(params["iterations"])
        start = time.perf_counter()
        score = ndcg(ALS(threads=threads, **params), fit, validation)
        rows.append({**params, "ndcg@10": score, "fit+eval s": time.perf_counter() - start})
    return pd.DataFrame(rows).sort_values("ndcg@10", ascending=False, ignore_index=True)


def part3(data: dict, grid: pd.DataFrame, defaults: dict, threads: int) -> pd.DataFrame:
    rows = []
    for name, (fit, validation) in data.items():
        tuned = grid[grid["data"] == name]["ndcg@10"].max()
        ours = ndcg(ALS(threads=threads, **defaults), fit, validation)
        raw = ndcg(ALS(threads=threads, scale_regularization=False, regularization=0.01,
                       alpha=1.0, factors=100, iterations=15), fit, validation)
        rows.append({"data": name, "defaults": ours, "best of part-1 grid": tuned,
                     "ratio": ours / tuned, "implicit defaults": raw})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    pd.set_option("display.width", 160)
    data, (ml_train, ml_test) = load_datasets(args.data)
    for name, (fit, validation) in data.items():
        n_users, n_items = active_shape(fit)
        print(f"{name}: fit {fit.nnz} entries, {n_users} users x {n_items} items, "
              f"validation {validation.nnz}")

    grid = part1(data, args.threads)
    table1 = scales(data, grid)
    print("\nPart 1 grid: NDCG@10 by raw penalty (columns)\n")
    print(grid.pivot_table(index=["data", "alpha"], columns="penalty", values="ndcg@10")
          .to_string(float_format=lambda v: f"{v:.4f}"))
    print("\nPart 1: best raw penalty per data set and alpha, and what it is relative to "
          "each candidate scale\n")
    print(table1.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    rel = [c for c in table1.columns if c.startswith("rel. ")]
    spread = {c[5:]: float(table1[c].max() / table1[c].min()) for c in rel}
    print("\nmax/min of the best relative penalty over all (data set, alpha):",
          {k: round(v, 2) for k, v in spread.items()})

    table2 = part2(*data["ml100k"], args.threads)
    print("\nPart 2: ml100k validation, scale_regularization=True\n")
    print(table2.to_string(float_format=lambda v: f"{v:.4f}"))
    best = table2.iloc[0]
    defaults = {"factors": int(best["factors"]), "iterations": int(best["iterations"]),
                "alpha": float(best["alpha"]), "regularization": float(best["regularization"])}
    print("\nchosen:", defaults, "| shipped rs.ALS() defaults:",
          {k: ALS().get_params()[k] for k in defaults})

    table3 = part3(data, grid, defaults, args.threads)
    print("\nPart 3: the chosen defaults on every validation split\n")
    print(table3.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    test_ndcg = float(rs.evaluate(ALS(threads=args.threads).fit(ml_train), ml_test,
                                  k=10).summary["ndcg@10"])
    print(f"\nreport only: rs.ALS() defaults on the ML-100K test split, NDCG@10 = "
          f"{test_ndcg:.4f} (target 0.428)")
    result = {"part1": table1.to_dict("records"), "part1_spread": spread,
              "part2": table2.to_dict("records"), "chosen": defaults,
              "part3": table3.to_dict("records"), "ml100k_test_ndcg@10": test_ndcg}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
