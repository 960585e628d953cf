"""Metric kernels vs the pandas merge/groupby style (and ranx, when installed), in one run.

Synthetic, seeded data: 100k users with top-100 lists of distinct items from a 20k catalog with
a long-tailed popularity, and 1-50 relevant items each (about a third of them planted in the
user's list, biased to the top, so the metrics are far from zero). Each row of the table times
the six accuracy metrics (precision, recall, ndcg, map, mrr, hit_rate) at the given cutoffs:

- ``ours``: ``recsys.evaluation.metrics.compute`` (one hit lookup shared by the six metrics);
  the six public functions called one by one are timed too (``ours, 6 calls``).
- ``pandas``: long frames of recommendations (user, item, rank) and relevant pairs
  (user, item), merged and grouped by user -- the usual notebook implementation.
- ``ranx``: only if it is importable (it is not a dependency; nothing is installed).

Both sides are checked to give the same per-user numbers before anything is printed. Timings
are the best of ``--repeat`` runs, the contenders taking turns (this is a shared 2-core
machine; the minimum is the least noisy estimate).

Run ``python benchmarks/metrics.py [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.evaluation import metrics

NAMES = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate")


# --------------------------------------------------------------------------- data


def make_data(
    n_users: int, n_items: int, list_length: int, max_relevant: int, seed: int
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Top-n lists of distinct items and a binary relevance matrix, both seeded."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / (np.arange(n_items) + 100.0)
    popularity /= popularity.sum()
    # Draw more candidates than needed, keep each row's first occurrences, in draw order.
    candidates = rng.choice(n_items, size=(n_users, int(list_length * 1.6)), p=popularity)
    order = np.argsort(candidates, axis=1, kind="stable")
    ranked = np.take_along_axis(candidates, order, axis=1)
    repeat = np.zeros(candidates.shape, dtype=bool)
    np.put_along_axis(repeat, order[:, 1:], ranked[:, 1:] == ranked[:, :-1], axis=1)
    position = np.where(repeat, candidates.shape[1], np.arange(candidates.shape[1]))
    keep = np.argsort(position, axis=1, kind="stable")[:, :list_length]
    if np.take_along_axis(repeat, keep, axis=1).any():
        raise RuntimeError("too few distinct candidates; raise the oversampling factor")
    recommended = np.take_along_axis(candidates, keep, axis=1)

    n_relevant = rng.integers(1, max_relevant + 1, size=n_users)
    rows = np.repeat(np.arange(n_users), n_relevant)
    planted = recommended[rows, (list_length * rng.random(rows.size) ** 2).astype(int)]
    drawn = rng.choice(n_items, size=rows.size, p=popularity)
    cols = np.where(rng.random(rows.size) < 0.35, planted, drawn)
    relevant = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_users, n_items))
    relevant.sum_duplicates()
    relevant.data[:] = 1.0
    return recommended, relevant


def long_frames(recommended: np.ndarray, relevant: sp.csr_matrix) -> tuple[pd.DataFrame, ...]:
    """The inputs in the shape the pandas style starts from (built outside the timing)."""
    n_users, width = recommended.shape
    recs = pd.DataFrame(
        {
            "user": np.repeat(np.arange(n_users), width),
            "item": recommended.ravel(),
            "rank": np.tile(np.arange(1, width + 1), n_users),
        }
    )
    rel = pd.DataFrame(
        {"user": np.repeat(np.arange(n_users), np.diff(relevant.indptr)), "item": relevant.indices}
    )
    return recs, rel


# --------------------------------------------------------------------------- contenders


def pandas_metrics(recs: pd.DataFrame, rel: pd.DataFrame, n_users: int, k: int) -> dict:
    """The six metrics at k the merge/groupby way; same definitions as recsys.

    The lists hold distinct items, so the repeat rule of recsys needs no counterpart here.
    """
    users = pd.RangeIndex(n_users, name="user")
    hit = recs[recs["rank"] <= k].merge(rel, on=["user", "item"], how="inner")
    hit = hit.sort_values(["user", "rank"])
    hit["nth"] = hit.groupby("user").cumcount() + 1
    hit["gain"] = 1.0 / np.log2(hit["rank"] + 1.0)
    hit["precision_at"] = hit["nth"] / hit["rank"]
    by_user = hit.groupby("user")
    n_hits = by_user.size().reindex(users, fill_value=0)
    n_rel = rel.groupby("user").size().reindex(users, fill_value=0)
    capped = n_rel.clip(upper=k)
    ideal = pd.Series(np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))]))
    idcg = pd.Series(ideal.to_numpy()[capped.to_numpy()], index=users)
    return {
        "precision": (n_hits / k).to_numpy(),
        "recall": (n_hits / n_rel).to_numpy(),
        "ndcg": (by_user["gain"].sum().reindex(users, fill_value=0.0) / idcg).to_numpy(),
        "map": (by_user["precision_at"].sum().reindex(users, fill_value=0.0) / capped).to_numpy(),
        "mrr": (1.0 / by_user["rank"].min()).reindex(users, fill_value=0.0).to_numpy(),
        "hit_rate": (n_hits > 0).astype(float).to_numpy(),
    }


def ours_compute(recommended: np.ndarray, relevant: sp.csr_matrix, ks: list[int]) -> dict:
    out = metrics.compute(recommended, relevant, NAMES, k=ks)
    return {k: {name: out[name][k] for name in NAMES} for k in ks}


def ours_calls(recommended: np.ndarray, relevant: sp.csr_matrix, ks: list[int]) -> dict:
    functions = {name: getattr(metrics, name) for name in NAMES}
    out = {name: fn(recommended, relevant, k=ks) for name, fn in functions.items()}
    return {k: {name: out[name][k] for name in NAMES} for k in ks}


def ranx_setup(recs: pd.DataFrame, rel: pd.DataFrame) -> Callable[[list[int]], dict] | None:
    """A closure running ranx.evaluate, or None when ranx is not installed.

    ranx is timed, not compared: its definitions need not match ours (MAP@k's normaliser,
    for one), and its Qrels/Run are built here, outside the timing.
    """
    try:
        from ranx import Qrels, Run, evaluate
    except ImportError:
        return None
    qrels = Qrels.from_df(
        rel.assign(q_id=rel["user"].astype(str).astype(object),
                   doc_id=rel["item"].astype(str).astype(object), score=1),
        q_id_col="q_id", doc_id_col="doc_id", score_col="score",
    )
    run = Run.from_df(
        recs.assign(q_id=recs["user"].astype(str).astype(object),
                    doc_id=recs["item"].astype(str).astype(object),
                    score=1.0 / recs["rank"]),
        q_id_col="q_id", doc_id_col="doc_id", score_col="score",
    )

    def run_ranx(ks: list[int]) -> dict:
        wanted = [f"{name}@{k}" for k in ks for name in NAMES]  # ranx uses the same names
        return evaluate(qrels, run, wanted, return_mean=True)

    return run_ranx


# --------------------------------------------------------------------------- harness


def interleaved(contenders: dict[str, tuple[Callable[[], object], int]]) -> tuple[dict, dict]:
    """Best time and last output of each contender, run round-robin up to its repeat count."""
    best = dict.fromkeys(contenders, float("inf"))
    outputs: dict[str, object] = {}
    for turn in range(max(repeat for _, repeat in contenders.values())):
        for name, (fn, repeat) in contenders.items():
            if turn < repeat:
                start = time.perf_counter()
                outputs[name] = fn()
                best[name] = min(best[name], time.perf_counter() - start)
    return best, outputs


def check_same(ours: dict, theirs: dict, k: int) -> None:
    for name in NAMES:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name}@{k} per user")
        assert np.isclose(np.mean(ours[name]), np.mean(theirs[name]), rtol=1e-12, atol=0), name


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--list-length", type=int, default=100)
    parser.add_argument("--max-relevant", type=int, default=50)
    parser.add_argument("--k", type=int, nargs="+", default=[10, 20, 100])
    parser.add_argument("--repeat", type=int, default=5, help="best of this many runs (ours)")
    parser.add_argument("--pandas-repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--ml100k", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data/ml-100k",
                        help="MovieLens 100K for the rs.compare timing (skipped if absent)")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    recommended, relevant = make_data(args.users, args.items, args.list_length,
                                      args.max_relevant, args.seed)
    recs, rel = long_frames(recommended, relevant)
    run_ranx = ranx_setup(recs, rel)
    print(f"data: {args.users:,} users x top-{args.list_length} lists, {args.items:,} items, "
          f"{relevant.nnz:,} relevant pairs (1-{args.max_relevant} per user); "
          f"built in {time.perf_counter() - t0:.1f} s; ranx: "
          f"{'installed' if run_ranx else 'not installed (skipped)'}")

    rows = []
    pandas_total = 0.0
    for k in args.k:
        # Interleave the contenders so that a burst of load on the shared machine hits all.
        contenders = {
            "pandas": (lambda k=k: pandas_metrics(recs, rel, args.users, k), args.pandas_repeat),
            "ours": (lambda k=k: ours_compute(recommended, relevant, [k])[k], args.repeat),
            "calls": (lambda k=k: ours_calls(recommended, relevant, [k])[k], args.repeat),
        }
        if run_ranx:
            contenders["ranx"] = (lambda k=k: run_ranx([k]), args.repeat)
        seconds, outputs = interleaved(contenders)
        check_same(outputs["ours"], outputs["pandas"], k)
        check_same(outputs["calls"], outputs["pandas"], k)
        pandas_total += seconds["pandas"]
        rows.append({
            "metric set": f"6 metrics @{k}", "ours_s": seconds["ours"],
            "ours_6_calls_s": seconds["calls"], "pandas_s": seconds["pandas"],
            "ranx_s": seconds.get("ranx"),
            "means": {name: float(np.mean(outputs["ours"][name])) for name in NAMES},
        })

    if len(args.k) > 1:
        ks = list(args.k)
        contenders = {
            "ours": (lambda: ours_compute(recommended, relevant, ks), args.repeat),
            "calls": (lambda: ours_calls(recommended, relevant, ks), args.repeat),
        }
        if run_ranx:
            contenders["ranx"] = (lambda: run_ranx(ks), args.repeat)
        seconds, _ = interleaved(contenders)
        rows.append({
            "metric set": "6 metrics @" + ",".join(map(str, ks)), "ours_s": seconds["ours"],
            "ours_6_calls_s": seconds["calls"], "pandas_s": pandas_total,
            "ranx_s": seconds.get("ranx"),
        })

    for row in rows:
        row["ratio"] = row["pandas_s"] / row["ours_s"]
        row["ratio_6_calls"] = row["pandas_s"] / row["ours_6_calls_s"]

    header = (f"{'metric set':<24} {'ours s':>8} {'pandas s':>9} {'ratio':>7} "
              f"{'ours, 6 calls s':>16} {'ratio':>7}" + (f" {'ranx s':>8}" if run_ranx else ""))
    print(header)
    print("-" * len(header))
    for row in rows:
        line = (f"{row['metric set']:<24} {row['ours_s']:>8.3f} {row['pandas_s']:>9.3f} "
                f"{row['ratio']:>6.1f}x {row['ours_6_calls_s']:>16.3f} "
                f"{row['ratio_6_calls']:>6.1f}x")
        if run_ranx:
            line += f" {row['ranx_s']:>8.3f}"
        print(line)
    print("pandas and ours agree per user (rtol 1e-9) on every metric at every k; the last row's "
          "pandas time is the sum of the rows above")

    compare_timing = time_compare(args.ml100k) if (args.ml100k / "u.data").exists() else None

    result = {
        "benchmark": "metrics",
        "compare": compare_timing,
        "params": {key: str(value) if isinstance(value, Path) else value
                   for key, value in vars(args).items()},
        "n_relevant_pairs": int(relevant.nnz),
        "ranx": bool(run_ranx),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "rows": rows,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return result


def time_compare(ml100k: Path) -> dict:
    """rs.compare of 5 fitted models on MovieLens 100K with 1,000 bootstrap resamples."""
    import recsys as rs

    inter = rs.datasets.movielens_100k(ml100k).interactions
    train, test = rs.split.random(inter, test_size=0.2, seed=42)
    started = time.perf_counter()
    models = {"Popularity": rs.Popularity(), "ItemKNN": rs.ItemKNN(), "ALS": rs.ALS(threads=1),
              "EASE": rs.EASE(), "RP3beta": rs.RP3beta()}
    for model in models.values():
        model.fit(train)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    table = rs.compare(models, train, test, k=10, baseline="Popularity", n_bootstrap=1000,
                       metrics=["ndcg", "recall", "precision", "map"])
    compare_s = time.perf_counter() - started
    print(f"\nrs.compare: 5 fitted models on ML-100K, 4 metrics, 1,000 bootstrap resamples, "
          f"paired tests + Holm: {compare_s:.2f} s (target < 10 s; fitting them took "
          f"{fit_s:.2f} s)")
    return {"compare_s": compare_s, "fit_s": fit_s, "rows": len(table)}


if __name__ == "__main__":
    main()
