"""Batch export speed: ``recsys recommend`` (chunks ranked and appended to Parquet) against
the in-process batch call ``model.recommend(users, k)`` with the result kept in memory.

A synthetic ALS model (random factors, no fit) over ``--items`` items (100k by default) and
``--users`` users; each way is timed ``--repeats`` times, best run kept, and the table gives
users/s and the export's cost relative to the in-process call (target: within 10%).

Run ``python benchmarks/export.py [--items 100000 --users 20000 --k 20]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recsys as rs  # noqa: E402
from recsys.serving.export import export_recommendations  # noqa: E402


def synthetic_als(n_users: int, n_items: int, factors: int, seed: int = 0) -> rs.ALS:
    """A fitted-looking ALS: random factors, a few interactions per user (for exclude_seen)."""
    rng = np.random.default_rng(seed)
    # Every item once (so the catalog has n_items), then a few random ones per user.
    users = np.concatenate([np.arange(n_items) % n_users, np.repeat(np.arange(n_users), 5)])
    items = np.concatenate([np.arange(n_items), rng.integers(0, n_items, 5 * n_users)])
    inter = rs.Interactions.from_arrays([f"u{u}" for u in users], [f"i{i}" for i in items])
    model = rs.ALS(factors=factors, iterations=1, threads=1).fit(inter)
    model.user_factors_ = rng.normal(size=model.user_factors_.shape).astype(np.float32)
    model.item_factors_ = rng.normal(size=model.item_factors_.shape).astype(np.float32)
    model._restore()
    return model


def best_of(repeats: int, call) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = synthetic_als(args.users, args.items, args.factors)
    users = model.users_.ids
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "recs.parquet"
        in_process = best_of(args.repeats, lambda: model.recommend(users, k=args.k))
        export = best_of(args.repeats, lambda: export_recommendations(model, output, k=args.k))
        size = output.stat().st_size
    print(f"{model.n_users:,} users x {model.n_items:,} items, k={args.k}, "
          f"factors={args.factors}")
    print(f"{'way':<28}{'seconds':>10}{'users/s':>12}")
    for name, seconds in (("in-process recommend", in_process),
                          ("export to Parquet", export)):
        print(f"{name:<28}{seconds:>10.2f}{model.n_users / seconds:>12,.0f}")
    print(f"export / in-process: {export / in_process:.2f}x (file {size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
