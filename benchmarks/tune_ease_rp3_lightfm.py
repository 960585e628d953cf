"""Validation studies behind the defaults of EASE, RP3beta and LightFM.

Protocol (the one of ``benchmarks/quality.py``): MovieLens 100K, every rating an interaction,
per-user random 80/20 split with seed 42. The studies never look at that test part: they fit
on a validation split carved from the training part (20% of each training user's items, seed
7) and report NDCG@10 on it, full ranking, training items excluded. The demo data set gets
the same treatment.

To see whether a default generalises beyond one density, ML-100K is also reshaped:

- ``ml-thin``: every user keeps a random half of their fitting interactions (half the
  density, same users and items);
- ``ml-half-users``: a random half of the users (half the users per item, same density per
  user); validated on the same users.

EASE: the regularisation is compared as a fixed constant and as a multiple of the mean
number of users per item (the mean nonzero diagonal of X^T X). The scaled form is invariant
to duplicating users; the table shows which form loses least against each data set's best.

Run (single-threaded BLAS and LightFM; about 25 minutes on one core for all studies)::

    .venv/bin/python benchmarks/tune_ease_rp3_lightfm.py
        [--family ease|rp3beta|lightfm|lightfm-features|all]
        [--ml100k ../shared/data/ml-100k] [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

import recsys as rs

SEED_TEST, SEED_VALID, SEED_RESHAPE = 42, 7, 3


def validation_split(inter: rs.Interactions) -> tuple[rs.Interactions, rs.Interactions]:
    """Fitting and validation parts of the training split (the test split is never used)."""
    train, _ = rs.split.random(inter, test_size=0.2, seed=SEED_TEST)
    return rs.split.random(train, test_size=0.2, seed=SEED_VALID)


def user_subset(inter: rs.Interactions, keep_users: np.ndarray) -> rs.Interactions:
    rows = np.repeat(np.arange(inter.n_users), np.diff(inter.matrix.indptr))
    return inter.select(keep_users[rows], step="study", reason="user subset")


def splits(ml100k: Path) -> dict[str, tuple[rs.Dataset, rs.Interactions]]:
    """name -> (Dataset to fit on, validation interactions)."""
    out = {}
    for name, ds in (("ml-100k", rs.datasets.movielens_100k(ml100k, show_progress=False)),
                     ("demo", rs.datasets.demo())):
        fit, valid = validation_split(ds.interactions)
        out[name] = (rs.Dataset(fit, item_features=ds.item_features,
                                user_features=ds.user_features), valid)
        if name == "ml-100k":
            thin, _ = rs.split.random(fit, test_size=0.5, seed=SEED_RESHAPE)
            out["ml-thin"] = (rs.Dataset(thin), valid)
            keep = np.random.default_rng(SEED_RESHAPE).random(fit.n_users) < 0.5
            out["ml-half-users"] = (rs.Dataset(user_subset(fit, keep)),
                                    user_subset(valid, keep))
    return out


def ndcg(model: rs.Recommender, data: rs.Dataset, valid: rs.Interactions) -> float:
    model.fit(data)
    return float(rs.evaluate(model, valid, k=10).summary["ndcg@10"])


def regret_summary(table: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    """Per row: NDCG lost against each data set's best row (worst case and mean)."""
    loss = table[datasets].max() - table[datasets]
    return table.assign(worst_loss=loss.max(axis=1), mean_loss=loss.mean(axis=1))


# --------------------------------------------------------------------------- EASE
def users_per_item(inter: rs.Interactions) -> float:
    """Mean users per item over items with any (EASE's default l2 is a multiple of it)."""
    counts = np.bincount(inter.matrix.indices[inter.matrix.data > 0], minlength=inter.n_items)
    return float(counts[counts > 0].mean())


def study_ease(data: dict) -> pd.DataFrame:
    names = list(data)
    mean_weight = {name: users_per_item(ds.interactions) for name, (ds, _) in data.items()}
    print("mean users per item: " + ", ".join(f"{n} {v:.1f}" for n, v in mean_weight.items()))
    rows = []
    for l2 in (100, 200, 300, 400, 500, 600, 800, 1600):
        rows.append({"rule": "fixed", "value": l2, **{
            n: ndcg(rs.EASE(l2=float(l2)), *data[n]) for n in names}})
    for factor in (5, 10, 15, 20, 30):
        rows.append({"rule": "x mean users/item", "value": factor, **{
            n: ndcg(rs.EASE(l2=factor * mean_weight[n]), *data[n]) for n in names}})
    return regret_summary(pd.DataFrame(rows), names)


# --------------------------------------------------------------------------- RP3beta
def study_rp3beta(data: dict) -> pd.DataFrame:
    names = [n for n in data if n != "ml-half-users"]
    rows = []
    for alpha, beta, k in itertools.product((0.5, 0.75, 1.0), (0.2, 0.3, 0.4, 0.5, 0.6),
                                            (100, 200, 400)):
        rows.append({"alpha": alpha, "beta": beta, "k": k, **{
            n: ndcg(rs.RP3beta(alpha=alpha, beta=beta, k=k), *data[n]) for n in names}})
    return regret_summary(pd.DataFrame(rows), names)


# --------------------------------------------------------------------------- LightFM
def study_lightfm(data: dict) -> pd.DataFrame:
    """Hyperparameters of pure collaborative filtering (identity features only)."""
    names = ["ml-100k", "demo"]
    rows = []
    grid = [dict(components=c, learning_rate=lr, epochs=e)
            for c, lr, e in itertools.product((32, 64, 128), (0.01, 0.02, 0.05), (25, 50))]
    grid += [dict(components=64, learning_rate=0.01, epochs=100),
             dict(components=64, learning_rate=0.02, epochs=50, item_alpha=1e-6,
                  user_alpha=1e-6)]
    for params in grid:
        start = time.perf_counter()
        # Fitted on the interactions alone: epochs, learning rate and size are chosen here,
        # side features in study_lightfm_features.
        scores = {n: ndcg(rs.LightFM(threads=1, **params), data[n][0].interactions, data[n][1])
                  for n in names}
        rows.append({**params, **scores, "seconds": time.perf_counter() - start})
    return regret_summary(pd.DataFrame(rows), names)


def study_lightfm_features(data: dict) -> pd.DataFrame:
    """Side features on the shipped hyperparameters (64 components, lr 0.02, 50 epochs: as
    good as 128 components on ML-100K at half the cost)."""
    names = ["ml-100k", "demo"]
    base = dict(components=64, learning_rate=0.02, epochs=50, threads=1)
    rows = []
    for label, extra in (("identity only", None),
                         ("identity + item, side-normalised", {"use_user_features": False}),
                         ("identity + item + user, side-normalised (default)", {}),
                         ("identity + item + user, row-normalised", {"normalize_features": "row"}),
                         ("identity + item + user, as given", {"normalize_features": None}),
                         ("side features only", {"identity_features": False})):
        start = time.perf_counter()
        scores = {n: ndcg(rs.LightFM(**base, **(extra or {})),
                          data[n][0].interactions if extra is None else data[n][0], data[n][1])
                  for n in names}
        rows.append({"features": label, **scores, "seconds": time.perf_counter() - start})
    return regret_summary(pd.DataFrame(rows), names)


STUDIES = {"ease": study_ease, "rp3beta": study_rp3beta, "lightfm": study_lightfm,
           "lightfm-features": study_lightfm_features}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=[*STUDIES, "all"], default="all")
    parser.add_argument("--ml100k", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data/ml-100k")
    parser.add_argument("--json", type=Path, help="also write the tables as JSON")
    args = parser.parse_args()
    data = splits(args.ml100k)
    tables = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for family in STUDIES if args.family == "all" else [args.family]:
            table = STUDIES[family](data)
            tables[family] = table
            print(f"\n== {family}: validation NDCG@10 (loss = best of column - this row)")
            print(table.sort_values("mean_loss").to_string(index=False, float_format="%.4f"))
    if args.json:
        args.json.write_text(json.dumps({k: t.to_dict(orient="records")
                                         for k, t in tables.items()}, indent=2))


if __name__ == "__main__":
    main()
