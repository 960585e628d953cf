"""End to end: the offline job a user wires by hand, through recsys and by hand (issue 11).

The job: read an events CSV (user, item, play count), split it 80/20 per user at random, fit
ALS (64 factors, 10 iterations), rank the top 10 for every test user (training items
excluded), and score the lists (NDCG, recall, MAP@10, and precision, MRR, hit rate).

Sides, each a fresh interpreter run per repeat:

- ``recsys exact``: ``rs.Interactions.read_csv(path, weight="plays")``,
  ``rs.split.random(inter, test_size=0.2, seed=)``, ``rs.ALS(factors=64, iterations=10,
  regularization=5, alpha=10, refine_users=False, seed=0, threads=)`` ("auto" weighting
  resolves to ``log2(1 + plays)``), ``rs.evaluate(model, test, k=10)``.
  ``refine_users=False`` makes the model the one raw implicit trains: the default (True)
  adds an exact least-squares solve of every user after the last sweep, which costs time and
  lifts NDCG@10 by about 3% on these data (measured 0.0708 -> 0.0728 at scale 0.05 before
  the weights were normalised), so that the two
  sides' metrics would differ by more than noise.
- ``recsys hnsw``: the same with ``index="hnsw"`` (default index parameters; the graph is
  built inside ``fit``).
- ``by hand``: ``pd.read_csv`` + ``pd.factorize``; a per-user random split in pandas (a
  random key per row, ``sort_values``, ``groupby().cumcount()``, the same per-user test count
  as recsys: ``floor(0.2 * n + 0.5)`` capped at ``n - 1``); a scipy CSR of
  ``log2(1 + plays)`` divided by its mean (what ``rs.ALS`` does, so that ``alpha`` is the
  confidence of an average positive; without it raw implicit's model differs: NDCG@10 0.0301
  against 0.0161 at scale 1, 0.0692 against 0.0393 at scale 0.05); raw
  ``implicit.als.AlternatingLeastSquares`` with the same model
  (``regularization=50``, i.e. recsys's 5 per unit of ``alpha=10``; ``alpha=10``); implicit's
  batch ``recommend(..., filter_already_liked_items=True)``; metrics the pandas merge/groupby
  way (``pandas_metrics`` of ``benchmarks/metrics.py``, which that benchmark checks against
  the recsys kernels). The two sides draw different random splits of the same events, so
  their metrics agree within sampling noise, not exactly.

Both sides use the same definitions (``recsys/evaluation/metrics.py``: binary gains, ideal
DCG over ``min(|relevant|, k)``, MAP divided by ``min(|relevant|, k)``); after its
measurements the by-hand child recomputes its own lists' metrics with the recsys kernels and
reports whether they agree per user (``definitions agree`` below the table).

Stages (wall clock, ``time.perf_counter``): read (CSV to ids and, for recsys, the matrix),
split, fit (weighting included), recommend, metrics, total (the whole job). For recsys,
recommend is the time ``rs.evaluate`` spends in ``model.recommend`` (timed by wrapping that
method on the instance) and metrics the rest of ``rs.evaluate``.

Method: the events are synthetic and deterministic (``--seed``), generated once and cached
as CSV under ``~/.cache/recsys-bench/`` (``--cache-dir``): ``--scale 1`` is 20M events from
1M users on 100k items; user activity log-normal (heavy-tailed), item popularity Zipf-like
(rank ** -0.9, ranks shuffled over the ids), one row per (user, item) with a play count
``ceil(lognormal(1, 1.3))``; ids are sparse integers. Every run is a child interpreter
(``subprocess``) that imports its libraries, notes its peak RSS, runs the job and reports
JSON on stdout: stage times, metric means (with their standard errors) and its peak resident
memory (``VmHWM``, the whole process, imports included; the job's own share is the growth
over the after-import peak). Runs are interleaved, A-B-A per repeat with the two
recsys variants swapping places every repeat, so load from other processes on a shared host
hits all sides alike. Every child gets the same thread settings: ``--threads`` (2) for
implicit, OpenMP, BLAS and numba; BLAS at 1 thread inside implicit's fit (what implicit asks
for and what rs.ALS does). The table shows per-stage medians over the repeats, the ratios
by hand / recsys of those medians, and for the total also the median, minimum and maximum of
the per-repeat ratios (each by-hand run against the recsys run next to it).

Targets (issue 11): by hand / recsys total time >= 1.3 (exact) and >= 2.5 (hnsw), and a lower
peak memory for recsys.

Run ``python benchmarks/e2e.py --scale 0.05`` (1M events, about a minute per run) or
``--scale 1 --repeats 3 --json e2e.json`` (the full job; about 2 GB per side).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FULL = {"events": 20_000_000, "users": 1_000_000, "items": 100_000}
FACTORS = 64
ITERATIONS = 10
REGULARIZATION = 5.0  # recsys's, per unit of alpha; implicit gets REGULARIZATION * ALPHA
ALPHA = 10.0
TEST_SIZE = 0.2
K = 10
SIDES = ("recsys exact", "by hand", "recsys hnsw")
STAGES = ("read", "split", "fit", "recommend", "metrics", "total")
REPORTED = ("ndcg", "recall", "map")
TARGETS = {"recsys exact": 1.3, "recsys hnsw": 2.5}
DATA_VERSION = 1  # bump when the generator changes, so that stale caches are not reused


# --------------------------------------------------------------------------- data


def data_shape(scale: float) -> dict[str, int]:
    return {name: max(1, round(value * scale)) for name, value in FULL.items()}


def events_path(cache_dir: Path, scale: float, seed: int) -> Path:
    shape = data_shape(scale)
    name = (f"e2e-v{DATA_VERSION}-{shape['events']}-events-{shape['users']}x{shape['items']}"
            f"-seed{seed}.csv")
    return cache_dir / name


def make_events(path: Path, scale: float, seed: int) -> None:
    """Write the synthetic events CSV (atomically): unique (user, item) rows with play counts.

    Draws (user, item) pairs with heavy-tailed user activity and Zipf-like item popularity
    until there are enough distinct pairs, then keeps the first distinct ones in draw order.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    shape = data_shape(scale)
    n_events, n_users, n_items = shape["events"], shape["users"], shape["items"]
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.2, n_users)
    popularity = np.arange(1, n_items + 1) ** -0.9
    item_of_rank = rng.permutation(n_items)
    keys = np.empty(0, np.int64)
    while True:  # repeated pairs are dropped, so draw until enough distinct ones remain
        n_draw = int((n_events - len(keys)) * 1.3) + 1000
        users = rng.choice(n_users, size=n_draw, p=activity / activity.sum())
        items = item_of_rank[rng.choice(n_items, size=n_draw, p=popularity / popularity.sum())]
        keys = np.concatenate([keys, users.astype(np.int64) * n_items + items])
        _, first = np.unique(keys, return_index=True)
        if len(first) >= n_events:
            break
    keys = keys[np.sort(first)[:n_events]]
    # Sparse integer ids, so that both sides really have to factorize them.
    user_ids = rng.choice(10 * n_users, size=n_users, replace=False) + 1
    item_ids = rng.choice(10 * n_items, size=n_items, replace=False) + 1
    plays = np.ceil(rng.lognormal(1.0, 1.3, n_events)).astype(np.int64)
    table = pa.table({"user_id": user_ids[keys // n_items], "item_id": item_ids[keys % n_items],
                      "plays": plays})
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    pacsv.write_csv(table, partial)
    os.replace(partial, path)


# --------------------------------------------------------------------------- the jobs


class Stopwatch:
    """Lap times of the stages of one job."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start = self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = now - self._last
        self._last = now

    def stop(self) -> dict[str, float]:
        self.seconds["total"] = time.perf_counter() - self._start
        return self.seconds


def time_method(obj: object, name: str) -> list[float]:
    """Wrap ``obj.name`` on the instance; the returned one-element list accumulates the
    seconds spent in it."""
    spent = [0.0]
    method = getattr(obj, name)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    setattr(obj, name, timed)
    return spent


def summary(per_user: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Mean and standard error of each per-user metric."""
    return {name: {"mean": float(np.mean(values)),
                   "se": float(np.std(values, ddof=1) / np.sqrt(len(values)))}
            for name, values in per_user.items()}


def job_recsys(path: Path, index: str, seed: int, threads: int) -> dict:
    import recsys as rs

    clock = Stopwatch()
    inter = rs.Interactions.read_csv(path, weight="plays")
    clock.lap("read")
    train, test = rs.split.random(inter, test_size=TEST_SIZE, seed=seed)
    clock.lap("split")
    model = rs.ALS(factors=FACTORS, iterations=ITERATIONS, regularization=REGULARIZATION,
                   alpha=ALPHA, refine_users=False, seed=0, threads=threads,
                   index=index).fit(train)
    clock.lap("fit")
    in_recommend = time_method(model, "recommend")
    result = rs.evaluate(model, test, k=K)
    clock.lap("metrics")
    seconds = clock.stop()
    seconds["recommend"] = in_recommend[0]
    seconds["metrics"] -= in_recommend[0]
    per_user = {name: result.per_user[f"{name}@{K}"].to_numpy() for name in REPORTED}
    return {"seconds": seconds, "metrics": summary(per_user),
            "test_users": len(result.per_user), "train_nnz": train.nnz, "test_nnz": test.nnz,
            "weighting": model.weighting_}


def split_by_hand(frame, seed: int):
    """Per user, ``floor(0.2 * n + 0.5)`` random rows (at most ``n - 1``) go to test."""
    rng = np.random.default_rng(seed)
    frame = frame.assign(key=rng.random(len(frame))).sort_values(["user", "key"])
    by_user = frame.groupby("user")
    position = by_user.cumcount().to_numpy()
    size = by_user["user"].transform("size").to_numpy()
    n_test = np.minimum(np.floor(TEST_SIZE * size + 0.5), size - 1)
    is_test = position < n_test
    return frame[~is_test], frame[is_test]


def job_by_hand(path: Path, seed: int, threads: int) -> dict:
    import implicit.als
    import pandas as pd
    import scipy.sparse as sp
    from metrics import pandas_metrics
    from threadpoolctl import threadpool_limits

    clock = Stopwatch()
    raw = pd.read_csv(path, usecols=["user_id", "item_id", "plays"])
    users, user_ids = pd.factorize(raw["user_id"])
    items, item_ids = pd.factorize(raw["item_id"])
    frame = pd.DataFrame({"user": users, "item": items, "plays": raw["plays"].to_numpy()})
    del raw
    clock.lap("read")
    train, test = split_by_hand(frame, seed)
    del frame
    shape = (len(user_ids), len(item_ids))
    train_matrix = sp.csr_matrix(
        (train["plays"].to_numpy(np.float32), (train["user"].to_numpy(), train["item"].to_numpy())),
        shape=shape)
    clock.lap("split")
    weighted = train_matrix.copy()
    weighted.data = np.log2(1.0 + weighted.data)
    weighted.data /= weighted.data.mean()  # as rs.ALS does: alpha weighs an average positive
    with threadpool_limits(1, "blas"):  # implicit warns about BLAS threads under its own
        model = implicit.als.AlternatingLeastSquares(
            factors=FACTORS, regularization=REGULARIZATION * ALPHA, alpha=ALPHA,
            iterations=ITERATIONS, num_threads=threads, random_state=0)
        model.fit(weighted, show_progress=False)
    clock.lap("fit")
    test_users = np.unique(test["user"].to_numpy())
    ids, _ = model.recommend(test_users, train_matrix[test_users], N=K,
                             filter_already_liked_items=True)
    clock.lap("recommend")
    recs = pd.DataFrame({"user": np.repeat(np.arange(len(test_users)), K), "item": ids.ravel(),
                         "rank": np.tile(np.arange(1, K + 1), len(test_users))})
    relevant = pd.DataFrame({"user": np.searchsorted(test_users, test["user"].to_numpy()),
                             "item": test["item"].to_numpy()})
    per_user = pandas_metrics(recs, relevant, len(test_users), K)
    clock.lap("metrics")
    seconds = clock.stop()
    peak_mb = peak_rss_mb()  # before the check below imports recsys
    return {"seconds": seconds, "metrics": summary({name: per_user[name] for name in REPORTED}),
            "test_users": len(test_users), "train_nnz": len(train), "test_nnz": len(test),
            "weighting": "log", "peak_mb": peak_mb,
            "definitions": same_definitions(ids, relevant, per_user)}


def same_definitions(ids: np.ndarray, relevant, per_user: dict[str, np.ndarray]) -> dict:
    """Largest per-user difference between the pandas metrics and the recsys kernels on the
    same lists (untimed, after the peak memory was read)."""
    import scipy.sparse as sp

    from recsys.evaluation import metrics as kernels

    matrix = sp.csr_matrix(
        (np.ones(len(relevant)), (relevant["user"].to_numpy(), relevant["item"].to_numpy())),
        shape=(len(ids), int(max(ids.max(), relevant["item"].max())) + 1))
    ours = kernels.compute(ids, matrix, metrics=list(per_user), k=K)
    gaps = {name: float(np.max(np.abs(ours[name] - per_user[name]))) for name in per_user}
    return {"max_abs_gap": gaps, "agree": all(gap <= 1e-9 for gap in gaps.values())}


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MiB.

    Not ``ru_maxrss``: Linux carries that across ``exec`` from the forking parent, so a child
    of a parent that once peaked higher (say, after generating the data) would report the
    parent's peak.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def child(side: str, path: Path, seed: int, threads: int) -> None:
    """Run one side's job in this (fresh) process and print its JSON as the last line."""
    from threadpoolctl import threadpool_limits

    sys.path.insert(0, str(ROOT))
    # Imports are not part of the job: load what each side uses before the clock starts.
    import implicit.als  # noqa: F401
    import pandas  # noqa: F401
    import scipy.sparse  # noqa: F401
    if side != "by hand":
        import recsys  # noqa: F401
        if side == "recsys hnsw":
            import faiss  # noqa: F401
    threadpool_limits(threads)
    after_imports_mb = peak_rss_mb()
    if side == "by hand":
        out = job_by_hand(path, seed, threads)
    else:
        out = job_recsys(path, side.split()[1], seed, threads)
    out.setdefault("peak_mb", peak_rss_mb())
    out.update(side=side, after_imports_mb=after_imports_mb)
    print(json.dumps(out))


def run_child(side: str, path: Path, seed: int, threads: int) -> dict:
    pools = {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                             "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
    env = {**os.environ, **pools, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, __file__, "--child", side, "--csv", str(path),
               "--seed", str(seed), "--threads", str(threads)]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{side} child failed with status {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report


def aggregate(runs: list[dict], sides: list[str]) -> dict:
    """Per side: median stage times and peak; ratios by hand / recsys; metric means."""
    by_side = {side: [run for run in runs if run["side"] == side] for side in sides}
    out: dict = {}
    for side, own in by_side.items():
        out[side] = {
            "seconds": {stage: float(np.median([r["seconds"][stage] for r in own]))
                        for stage in STAGES},
            "peak_mb": float(np.median([r["peak_mb"] for r in own])),
            "job_mb": float(np.median([r["peak_mb"] - r["after_imports_mb"] for r in own])),
            "metrics": {name: float(np.median([r["metrics"][name]["mean"] for r in own]))
                        for name in REPORTED},
            "ndcg_se": float(np.median([r["metrics"]["ndcg"]["se"] for r in own])),
        }
    hand = by_side.get("by hand", [])
    for side in (s for s in sides if s in TARGETS and hand):
        stats = out[side]
        stats["ratio"] = {stage: out["by hand"]["seconds"][stage] / stats["seconds"][stage]
                          for stage in STAGES}
        paired = [h["seconds"]["total"] / a["seconds"]["total"]
                  for h, a in zip(hand, by_side[side], strict=False)]
        stats["paired_total_ratio"] = {"median": float(np.median(paired)),
                                       "min": float(np.min(paired)),
                                       "max": float(np.max(paired))}
        stats["memory_ratio"] = out["by hand"]["peak_mb"] / stats["peak_mb"]
    return out


def print_table(stats: dict, sides: list[str], header: str) -> list[str]:
    """Print the table; returns the warnings printed under it."""
    ratio_sides = [s for s in sides if "ratio" in stats[s]]
    columns = [f"{s:>13}" for s in sides] + [f"{'B/A ' + s.split()[1]:>10}" for s in ratio_sides]
    print(header)
    line = f"{'stage':<22}" + " ".join(columns)
    print(line)
    print("-" * len(line))

    def row(label: str, values: list[str], ratios: list[str]) -> None:
        print(f"{label:<22}" + " ".join(f"{v:>13}" for v in values)
              + "".join(f" {r:>10}" for r in ratios))

    for stage in STAGES:
        row(f"{stage} s", [f"{stats[s]['seconds'][stage]:.2f}" for s in sides],
            [f"{stats[s]['ratio'][stage]:.2f}x" for s in ratio_sides])
    if ratio_sides:
        row("total B/A per repeat", [""] * len(sides),
            [f"{stats[s]['paired_total_ratio']['median']:.2f}x" for s in ratio_sides])
        row("  min-max", [""] * len(sides),
            ["{min:.2f}-{max:.2f}".format(**stats[s]["paired_total_ratio"])
             for s in ratio_sides])
    row("peak RSS MB", [f"{stats[s]['peak_mb']:.0f}" for s in sides],
        [f"{stats[s]['memory_ratio']:.2f}x" for s in ratio_sides])
    row("  above imports MB", [f"{stats[s]['job_mb']:.0f}" for s in sides], [])
    for name in REPORTED:
        row(f"{name}@{K}", [f"{stats[s]['metrics'][name]:.4f}" for s in sides], [])
    print("medians over the repeats; B/A = by hand / recsys (time: > 1 means recsys is faster; "
          "memory: > 1 means recsys peaks lower); 'per repeat': median of the per-repeat "
          "total ratios")
    return check(stats, sides)


def check(stats: dict, sides: list[str]) -> list[str]:
    """Warnings: targets missed, metrics that disagree beyond noise."""
    notes = []
    for side, target in TARGETS.items():
        if side in sides and "ratio" in stats[side]:
            if stats[side]["ratio"]["total"] < target:
                notes.append(f"{side}: total ratio {stats[side]['ratio']['total']:.2f}x "
                             f"misses the target of {target}x")
            if stats[side]["memory_ratio"] <= 1.0:
                notes.append(f"{side}: peak memory not lower than by hand")
    if "by hand" in sides:
        for side in (s for s in sides if s != "by hand"):
            gap = stats[side]["metrics"]["ndcg"] - stats["by hand"]["metrics"]["ndcg"]
            noise = np.hypot(stats[side]["ndcg_se"], stats["by hand"]["ndcg_se"])
            if abs(gap) > 3 * noise:
                notes.append(f"WARNING: ndcg@{K} of {side} and by hand differ by {gap:+.4f}, "
                             f"more than 3 standard errors ({3 * noise:.4f})"
                             + (" (HNSW is approximate)" if "hnsw" in side else ""))
    for note in notes:
        print(note)
    return notes


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05,
                        help="1.0 = 20M events, 1M users x 100k items (default 0.05)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side, interleaved")
    parser.add_argument("--sides", default=",".join(SIDES),
                        help=f"comma-separated subset of: {', '.join(SIDES)}")
    parser.add_argument("--threads", type=int, default=2, help="threads of every pool")
    parser.add_argument("--seed", type=int, default=42, help="data and split seed")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path.home() / ".cache" / "recsys-bench")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.csv, args.seed, args.threads)
        return None
    sides = [s.strip() for s in args.sides.split(",")]
    unknown = sorted(set(sides) - set(SIDES))
    if unknown:
        parser.error(f"unknown side(s) {unknown}; choose from {SIDES}")

    path = events_path(args.cache_dir, args.scale, args.seed)
    if not path.exists():
        started = time.perf_counter()
        make_events(path, args.scale, args.seed)
        print(f"generated {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    runs = []
    for repeat in range(args.repeats):
        # A-B-A: by hand between the two recsys variants, which swap places every repeat.
        order = [s for s in SIDES if s in sides]
        for side in order if repeat % 2 == 0 else order[::-1]:
            runs.append(run_child(side, path, args.seed, args.threads))
            print(f"  repeat {repeat + 1}/{args.repeats} {side}: "
                  f"{runs[-1]['seconds']['total']:.1f} s", file=sys.stderr, flush=True)

    first = runs[0]
    shape = data_shape(args.scale)
    header = (f"e2e: {shape['events']:,} events, {shape['users']:,} users x {shape['items']:,} "
              f"items (scale {args.scale:g}); train {first['train_nnz']:,} / test "
              f"{first['test_nnz']:,} entries, {first['test_users']:,} test users; ALS "
              f"{FACTORS} factors, {ITERATIONS} iterations; {args.threads} threads; "
              f"{args.repeats} repeats")
    stats = aggregate(runs, sides)
    notes = print_table(stats, sides, header)
    hand = [run for run in runs if run["side"] == "by hand"]
    if hand:
        agree = all(run["definitions"]["agree"] for run in hand)
        print("definitions agree: the recsys kernels on the by-hand lists give the pandas "
              f"per-user values: {agree}")
    result = {"benchmark": "e2e", "params": {**vars(args), "cache_dir": str(args.cache_dir),
                                             "json": str(args.json), "csv": str(path)},
              "data": shape, "python": platform.python_version(), "stats": stats,
              "notes": notes, "runs": runs}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
