"""What a filter costs: a filtered request against an unfiltered one at 100k items (issue 15).

The model is a synthetic ALS (``benchmarks/export.py``'s ``synthetic_als``: random factors,
a few interactions per user) over ``--items`` items (100k by default) with item attributes:
``in_stock`` (true for 90% of the items), ``category`` (20 values) and ``price``. Each
request ranks one known user, top 10, seen items excluded, under:

- ``none``: no filter (the reference);
- ``in_stock``: ``{"in_stock": true}`` (keeps 90%: a mask inside the selection);
- ``in_stock+price``: ``{"in_stock": true, "price": {"lt": 500}}`` (about 45%);
- ``category``: ``{"category": {"in": ["c1", "c2"]}}`` (10%: gathered, scored alone);
- ``set``: ``{"set": "promo"}``, a named set of 1,000 items.

In process: ``model.recommend(user, k=10, where=...)``, the median over ``--requests``
users, the conditions interleaved per user. Over HTTP: the same requests through a real
``python -m recsys serve`` on loopback, one keep-alive client sending them back to back
(median latency per condition, interleaved). Ratios are filtered / unfiltered; the issue's
target is at most 1.5.

Run ``python benchmarks/filters.py [--items 100000] [--requests 2000] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from export import synthetic_als  # noqa: E402
from serve import RawClient, Server  # noqa: E402

import recsys as rs  # noqa: E402

CONDITIONS = {
    "none": None,
    "in_stock": {"in_stock": True},
    "in_stock+price": {"in_stock": True, "price": {"lt": 500}},
    "category": {"category": {"in": ["c1", "c2"]}},
    "set": {"set": "promo"},
}


def shop_model(n_items: int, n_users: int, factors: int, seed: int) -> rs.ALS:
    model = synthetic_als(n_users, n_items, factors, seed)
    rng = np.random.default_rng(seed)
    model.set_item_attributes(pd.DataFrame({
        "in_stock": rng.random(n_items) < 0.9,
        "category": [f"c{c}" for c in rng.integers(0, 20, n_items)],
        "price": rng.uniform(0, 1000, n_items),
    }, index=model.items_.ids))
    model.item_sets["promo"] = rng.choice(model.items_.ids, 1000, replace=False)
    return model


def in_process(model: rs.Recommender, users: np.ndarray) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in CONDITIONS}
    for user in users:
        for name, where in CONDITIONS.items():
            started = time.perf_counter()
            model.recommend(user, k=10, where=where)
            times[name].append(time.perf_counter() - started)
    return {name: float(np.median(values)) for name, values in times.items()}


async def over_http(port: int, users: np.ndarray) -> dict[str, float]:
    client = RawClient(port)
    times: dict[str, list[float]] = {name: [] for name in CONDITIONS}
    try:
        for user in users:
            for name, where in CONDITIONS.items():
                body = {"user": str(user), "k": 10}
                if where is not None:
                    body["where"] = where
                payload = json.dumps(body).encode()
                started = time.perf_counter()
                status, answer = await client.post("/recommend", payload)
                times[name].append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"{name}: HTTP {status}: {answer[:200]!r}")
    finally:
        await client.close()
    return {name: float(np.median(values)) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--requests", type=int, default=2000, help="users per condition")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    model = shop_model(args.items, args.users, args.factors, args.seed)
    users = np.random.default_rng(args.seed + 1).choice(model.users_.ids, args.requests)
    in_process(model, users[:50])  # warm-up: compiled kernels, lazily built lookups
    local = in_process(model, users)
    with tempfile.TemporaryDirectory() as directory:
        model_dir = rs.save(model, Path(directory) / "model")
        server = Server(Path(model_dir), Path(directory) / "server.log", timeout=600)
        try:
            asyncio.run(over_http(server.port, users[:50]))
            remote = asyncio.run(over_http(server.port, users))
        finally:
            server.stop()
    print(f"{args.items:,} items, ALS {args.factors} factors, top 10 of one known user, "
          f"median of {args.requests} requests per condition (interleaved)")
    print(f"{'filter':16} {'in process ms':>14} {'ratio':>6} {'HTTP ms':>9} {'ratio':>6}")
    rows = []
    for name in CONDITIONS:
        row = {"filter": name, "in_process_ms": local[name] * 1e3,
               "in_process_ratio": local[name] / local["none"],
               "http_ms": remote[name] * 1e3, "http_ratio": remote[name] / remote["none"]}
        rows.append(row)
        print(f"{name:16} {row['in_process_ms']:14.3f} {row['in_process_ratio']:6.2f} "
              f"{row['http_ms']:9.3f} {row['http_ratio']:6.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
