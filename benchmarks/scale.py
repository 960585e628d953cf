"""One machine vs Spark in local mode: ingestion, ALS and association rules at scale.

Data (seeded, generated in chunks and written before anything is timed):

- interactions: ``20M * scale`` events of ``1M * scale`` users (ids "u0000001", strings as
  shops have them) on ``100k * scale`` items, item popularity Zipf (item ranked r drawn with
  probability proportional to 1/r), users' activity Zipf-like too; written as a Parquet
  dataset partitioned into 32 files.
- baskets: ``1M * scale`` baskets of 1 + Poisson(4) Zipf-drawn items out of ``20k * scale``.

Contenders, each in a fresh child process whose whole process tree (the Spark JVM and
Python workers included) is sampled for resident memory every 50 ms; the table shows its
peak and wall-clock times:

- ingest: ``pandas.read_parquet`` + ``Interactions.from_pandas`` vs
  ``Interactions.read_parquet(batch_size=1M)`` (streamed, bounded memory).
- ALS: ``rs.ALS`` (streamed ingestion, fit, top-10 for every user) vs ``SparkALS`` in local
  mode (``SparkInteractions.read_parquet``, fit, ``recommend`` for every user written to
  Parquet), the same factors and iterations.
- rules: ``rs.AssociationRules(engine="sparse")`` vs ``SparkAssociationRules`` (FPGrowth),
  the same thresholds (support 0.001, confidence 0.1, 1 -> 1 rules).

Run ``python benchmarks/scale.py --scale 0.05 [--factors 32] [--iterations 5]
[--only ingest,als,rules] [--json PATH]``; ``--scale 1`` is the full 20M-event study (it
needs tens of GB of disk and memory and hours on a small machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

SECTIONS = ("ingest", "als", "rules")
CONTENDERS = {
    "ingest": ("pandas", "streamed"),
    "als": ("rs.ALS", "SparkALS"),
    "rules": ("rs.AssociationRules", "SparkAssociationRules"),
}


# --------------------------------------------------------------------------- data
def _zipf(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return rng.choice(n, size=size, p=weights / weights.sum())


def write_interactions(root: Path, scale: float, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_events, n_users, n_items = (max(1000, int(x * scale)) for x in (20e6, 1e6, 1e5))
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    files = 32
    for part in range(files):
        size = n_events // files
        users = np.minimum(rng.zipf(1.3, size) - 1 + rng.integers(0, n_users, size) // 4,
                           n_users - 1)
        table = pa.table({
            "user_id": pa.array(np.char.add("u", np.char.zfill(users.astype(str), 7))),
            "item_id": pa.array(_zipf(rng, n_items, size)),
            "weight": pa.array(rng.integers(1, 6, size).astype(np.float32)),
        })
        pq.write_table(table, root / f"part-{part:03d}.parquet")


def write_baskets(root: Path, scale: float, seed: int = 1) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_baskets, n_items = max(1000, int(1e6 * scale)), max(100, int(2e4 * scale))
    rng = np.random.default_rng(seed)
    sizes = 1 + rng.poisson(4, n_baskets)
    items = _zipf(rng, n_items, int(sizes.sum()))
    baskets = np.repeat(np.arange(n_baskets), sizes)
    root.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"basket_id": baskets, "item": items}), root / "baskets.parquet")


# --------------------------------------------------------------------------- contenders
def _spark(cores: str):
    import warnings

    from recsys.spark import session

    warnings.simplefilter("ignore", FutureWarning)  # pyspark on pandas 3 (tested in tests/spark)
    spark = session(f"local[{cores}]", spark_driver_memory="8g")
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_child(section: str, who: str, data: Path, args: argparse.Namespace) -> dict:
    import recsys as rs

    out: dict = {}
    start = time.perf_counter()
    if section == "ingest":
        if who == "pandas":
            import pandas as pd

            frame = pd.read_parquet(data / "events")
            inter = rs.Interactions.from_pandas(frame, "user_id", "item_id", weight="weight")
        else:
            inter = rs.Interactions.read_parquet(data / "events", weight="weight",
                                                 batch_size=1 << 20)
        out["read_s"] = time.perf_counter() - start
        out["nnz"] = inter.nnz
    elif section == "als" and who == "rs.ALS":
        inter = rs.Interactions.read_parquet(data / "events", weight="weight",
                                             batch_size=1 << 20)
        out["read_s"] = time.perf_counter() - start
        start = time.perf_counter()
        model = rs.ALS(factors=args.factors, iterations=args.iterations, threads=0).fit(inter)
        out["fit_s"] = time.perf_counter() - start
        start = time.perf_counter()
        ids = inter.users.ids
        for block in range(0, len(ids), 65536):
            model.recommend(ids[block:block + 65536], k=10)
        out["recommend_all_s"] = time.perf_counter() - start
    elif section == "als":
        from recsys.spark import SparkALS, SparkInteractions

        spark = _spark(args.cores)
        inter = SparkInteractions.read_parquet(data / "events", spark=spark, user="user_id",
                                               item="item_id", weight="weight")
        out["nnz"] = inter.nnz
        out["read_s"] = time.perf_counter() - start
        start = time.perf_counter()
        model = SparkALS(factors=args.factors, iterations=args.iterations).fit(inter)
        model.model_.userFactors.count()
        out["fit_s"] = time.perf_counter() - start
        start = time.perf_counter()
        model.recommend(k=10).write.mode("overwrite").parquet(str(data / "spark-recs"))
        out["recommend_all_s"] = time.perf_counter() - start
        spark.stop()
    elif section == "rules" and who == "rs.AssociationRules":
        import pandas as pd

        table = pd.read_parquet(data / "baskets" / "baskets.parquet")
        model = rs.AssociationRules(min_support=0.001, min_confidence=0.1).fit(
            rs.datasets.baskets(table))
        out["fit_s"] = time.perf_counter() - start
        out["rules"] = len(model.rules_)
    else:
        from recsys.spark import SparkAssociationRules

        spark = _spark(args.cores)
        table = spark.read.parquet(str(data / "baskets"))
        model = SparkAssociationRules(min_support=0.001, min_confidence=0.1).fit(
            table, basket="basket_id", item="item")
        out["fit_s"] = time.perf_counter() - start
        out["rules"] = len(model.rules_)
        spark.stop()
    return out


# --------------------------------------------------------------------------- measuring
def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


def measure(section: str, who: str, data: Path, argv: list[str]) -> dict:
    command = [sys.executable, __file__, "--child", section, who, "--data", str(data), *argv]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(child.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    stdout, _ = child.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if child.returncode != 0:
        return {"section": section, "who": who, "error": f"exit {child.returncode}"}
    result = json.loads(stdout.strip().splitlines()[-1])
    return {"section": section, "who": who, "wall_s": round(wall, 1),
            "peak_rss_gb": round(peak / 2**30, 2),
            **{k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--factors", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--cores", default="*", help="Spark local[N] cores")
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--data", help="working directory for the generated data")
    parser.add_argument("--json")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        data = Path(args.data)
        print(json.dumps(run_child(*args.child, data, args)))
        return
    data = Path(args.data or tempfile.mkdtemp(prefix="recsys-scale-"))
    sections = [s for s in args.only.split(",") if s]
    start = time.perf_counter()
    if {"ingest", "als"} & set(sections) and not (data / "events").exists():
        write_interactions(data / "events", args.scale)
    if "rules" in sections and not (data / "baskets").exists():
        write_baskets(data / "baskets", args.scale)
    print(f"data in {data} ({time.perf_counter() - start:.0f} s), scale {args.scale}",
          flush=True)
    forward = ["--factors", str(args.factors), "--iterations", str(args.iterations),
               "--cores", args.cores]
    rows = []
    for section in sections:
        for who in CONTENDERS[section]:
            rows.append(measure(section, who, data, forward))
            print(rows[-1], flush=True)
    import pandas as pd

    print(pd.DataFrame(rows).to_string(index=False))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
