"""Association rules: mlxtend vs our sparse engine, same thresholds, in one run.

Data (the baskets are built before anything is timed):

- ``groceries``: the classic 9,835 baskets x 169 items (``../shared/data/groceries``).
- ``synthetic``: seeded baskets with Zipf popularity (item ranked r drawn with probability
  proportional to 1/r) and 1 + Poisson(4) draws per basket (about 5; a repeated draw counts
  once): 100k baskets x 5k items, and 1M x 20k.

Contenders, each asked for the same rules (support 0.006, also 0.001 at 1M; min confidence
0.25 on Groceries and 0 on the synthetic baskets, whose items are independent):

- ``mlxtend fpgrowth``: ``fpgrowth`` on the sparse one-hot frame of all items +
  ``association_rules`` (mlxtend's default route). fpgrowth densifies the frame (n x items
  bools), so it is skipped with a note where that exceeds ``--dense-limit`` (1M x 20k would
  need 18.6 GiB).
- ``mlxtend apriori low_memory``: the fastest mlxtend configuration for 1 -> 1 rules:
  ``apriori(low_memory=True, max_len=2)`` on a sparse frame whose infrequent columns were
  dropped by hand beforehand (not timed), + ``association_rules``.
- ``ours``: ``rs.AssociationRules(engine="sparse").fit(interactions)`` and building its
  ``rules_`` DataFrame (frozensets of external ids, like mlxtend's output).
- With ``max_len=3`` (the small sizes): mlxtend fpgrowth over the frequent columns vs ours,
  compared on the n -> 1 rules (ours mines 1 -> 1 and 2 -> 1 rules).

Method: every contender runs in a fresh interpreter (``spawn``) that builds the seeded data
itself, warms up on 2,000 tiny baskets (imports, first calls; untimed) and builds its input
(untimed). Its first run is cold (fresh memory); further runs follow while fewer than
``--repeat`` (5) were made and they took less than ``--budget`` (2 s) in all, so a slow
contender runs once. Time is wall-clock (``perf_counter``); the table shows the best run (the
least noisy estimate on a shared machine, as in ``benchmarks/metrics.py``) and the first,
cold one, with a ratio to ours for each. Peak memory is the growth of the process's peak
resident set during the first run: the process hands freed memory back to the OS
(``malloc_trim``), resets its high-water mark (``/proc/self/clear_refs``, "5"), notes its
RSS, runs, and reports ``VmHWM - RSS before``. This covers numpy, scipy and Python
allocations alike without slowing them (tracemalloc would slow mlxtend's Python tree);
allocations that fit in already-resident pages are missed, so small values are floors. A
contender that crashes or is killed is reported and the benchmark goes on. Each contender's
rule set is compared with ours: "same" means the same set of (antecedents, consequents).

Run ``python benchmarks/rules.py [--sizes small|all] [--json PATH]``. ``--sizes small`` runs
Groceries and 100k baskets only.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import multiprocessing as mp
import os
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from mlxtend.frequent_patterns import apriori, association_rules, fpgrowth

import recsys as rs

SHARED = Path(os.environ.get("RECSYS_SHARED_DATA",
                             Path(__file__).resolve().parents[1].parent / "shared" / "data"))


# --------------------------------------------------------------------------- data


def synthetic_baskets(n_baskets: int, n_items: int, seed: int) -> rs.Interactions:
    """Zipf-popular items, 1 + Poisson(4) draws per basket, duplicates counted once."""
    rng = np.random.default_rng(seed)
    sizes = 1 + rng.poisson(4.0, n_baskets)
    popularity = 1.0 / np.arange(1, n_items + 1)
    items = rng.choice(n_items, size=int(sizes.sum()), p=popularity / popularity.sum())
    rows = np.repeat(np.arange(n_baskets), sizes)
    matrix = sp.csr_matrix((np.ones(len(items), np.float32), (rows, items)),
                           shape=(n_baskets, n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return rs.Interactions(matrix, rs.IdIndex(np.arange(n_baskets)),
                           rs.IdIndex(np.arange(n_items)))


def onehot_frame(matrix: sp.csr_matrix, columns: np.ndarray) -> pd.DataFrame:
    """mlxtend's input: a sparse bool DataFrame over ``columns``, labelled 0..len-1."""
    selected = sp.csr_matrix((np.ones(matrix.nnz, bool), matrix.indices, matrix.indptr),
                             shape=matrix.shape)[:, columns]
    return pd.DataFrame.sparse.from_spmatrix(selected, columns=range(len(columns)))


# --------------------------------------------------------------------------- contenders


def mlxtend_rules(frame: pd.DataFrame, miner: str, support: float, confidence: float,
                  max_len: int) -> pd.DataFrame:
    if miner == "apriori":
        itemsets = apriori(frame, min_support=support, low_memory=True, max_len=max_len)
    else:
        itemsets = fpgrowth(frame, min_support=support, max_len=max_len)
    if not (itemsets["itemsets"].map(len) >= 2).any():
        return pd.DataFrame(columns=["antecedents", "consequents"])
    with np.errstate(divide="ignore", invalid="ignore"):
        return association_rules(itemsets, num_itemsets=len(frame), metric="confidence",
                                  min_threshold=confidence)


def rule_set(antecedents, consequents, single_consequent: bool) -> frozenset:
    pairs = zip(antecedents, consequents, strict=True)
    return frozenset((frozenset(a), frozenset(c)) for a, c in pairs
                     if not single_consequent or len(c) == 1)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# --------------------------------------------------------------------------- cases


def load(key: tuple, groceries: Path, seed: int) -> rs.Interactions:
    if key[0] == "groceries":
        return rs.datasets.baskets(groceries).interactions
    return synthetic_baskets(key[1], key[2], seed)


def shape(key: tuple, groceries: Path) -> tuple[int, int]:
    return (9_835, 169) if key[0] == "groceries" else (key[1], key[2])


def contenders(n: int, m: int, max_len: int, dense_limit: float) -> list[tuple[str, str]]:
    """``(label, note)`` of the contenders of a case, ours last; a skipped one's note says
    why (starts with "skipped")."""
    out = []
    if max_len == 2:
        if n * m <= dense_limit * 2**30:
            out.append(("mlxtend fpgrowth", "all columns"))
        else:
            out.append(("mlxtend fpgrowth",
                        f"skipped: fpgrowth densifies the frame to {n:,} x {m:,} bools "
                        f"= {n * m / 2**30:.1f} GiB (> --dense-limit {dense_limit} GiB)"))
        out.append(("mlxtend apriori low_memory", "infrequent columns dropped first (untimed)"))
    else:
        out.append(("mlxtend fpgrowth", "frequent columns; its n -> 1 rules compared"))
    out.append(("ours", "rs.AssociationRules(engine='sparse') + rules_"))
    return out


def prepare(label: str, inter: rs.Interactions, support: float, confidence: float,
            max_len: int) -> Callable[[], frozenset]:
    """The contender's run (returning its rule set), with its input built (untimed)."""
    matrix = inter.matrix
    n, m = matrix.shape
    if label == "ours":
        def ours() -> frozenset:
            model = rs.AssociationRules(min_support=support, min_confidence=confidence,
                                        max_len=max_len, engine="sparse").fit(inter)
            table = model.rules_
            return rule_set(table["antecedents"], table["consequents"], False)
        return ours
    counts = np.bincount(matrix.indices, minlength=m)
    frequent = np.flatnonzero(counts >= rs.models.rule_mining.support_count(support, n))
    columns = np.arange(m) if label == "mlxtend fpgrowth" and max_len == 2 else frequent
    frame = onehot_frame(matrix, columns)
    names = inter.items.ids[columns]
    miner = "apriori" if "apriori" in label else "fpgrowth"

    def run() -> frozenset:
        table = mlxtend_rules(frame, miner, support, confidence, max_len)
        # Back to external ids, like ours: cheap.
        return rule_set([names[list(a)].tolist() for a in table["antecedents"]],
                        [names[list(c)].tolist() for c in table["consequents"]],
                        max_len > 2)
    return run


def release_free_memory() -> None:
    """Hand memory freed while building the input back to the OS (glibc ``malloc_trim``), so
    that the run's allocations show up as RSS growth instead of reusing it silently."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _timed(run: Callable[[], frozenset]) -> tuple[float, float, frozenset]:
    wall, cpu = time.perf_counter(), time.process_time()
    rules = run()
    return time.perf_counter() - wall, time.process_time() - cpu, rules


def _child(label: str, key: tuple, support: float, confidence: float, max_len: int,
           args: argparse.Namespace, pipe) -> None:
    """One contender in a fresh process: build the data, warm up on tiny baskets (imports,
    first calls), a first (cold) run with its peak-RSS growth, then repeats."""
    try:
        warnings.simplefilter("ignore", DeprecationWarning)
        tiny = synthetic_baskets(2_000, 100, args.seed + 1)
        prepare(label, tiny, support, confidence, max_len)()
        run = prepare(label, load(key, args.groceries, args.seed), support, confidence,
                      max_len)
        release_free_memory()
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")  # reset the peak RSS (VmHWM) to the current RSS
            exact_peak = True
        except OSError:
            exact_peak = False
        before = _status_kib("VmRSS")
        wall, cpu, rules = _timed(run)
        peak = (_status_kib("VmHWM") - before) / 1024
        walls, cpus = [wall], [cpu]
        while len(walls) < args.repeat and sum(walls) < args.budget:
            wall, cpu, _ = _timed(run)
            walls.append(wall)
            cpus.append(cpu)
        best = int(np.argmin(walls))
        pipe.send({"seconds": walls[best], "cpu_seconds": cpus[best], "first_seconds": walls[0],
                   "runs": len(walls), "peak_mib": peak, "peak_exact": exact_peak,
                   "rules": rules})
    except BaseException as exc:  # report, never hang the parent
        pipe.send({"error": f"{type(exc).__name__}: {exc}"[:300]})
    finally:
        pipe.close()


def measure(label: str, key: tuple, support: float, confidence: float, max_len: int,
            args: argparse.Namespace) -> dict:
    """Run one contender in a fresh interpreter; its time, peak memory and rule set."""
    context = mp.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(label, key, support, confidence, max_len,
                                                   args, send))
    process.start()
    send.close()
    try:
        ready = receive.poll(args.timeout)
        result = receive.recv() if ready else {"error": f"timeout after {args.timeout}s"}
    except EOFError:  # the child died without a word (killed: out of memory?)
        result = {}
    process.join(5)
    if process.is_alive():
        process.kill()
        process.join()
    if "error" not in result and "seconds" not in result:
        result = {"error": f"child exited with code {process.exitcode}"}
    return result


def run_case(key: tuple, support: float, confidence: float, max_len: int,
             args: argparse.Namespace) -> list[dict]:
    n, m = shape(key, args.groceries)
    common = {"data": key[0], "baskets": n, "items": m, "support": support,
              "min_confidence": confidence, "max_len": max_len}
    rows = []
    for label, note in contenders(n, m, max_len, args.dense_limit):
        row = dict(common, contender=label, note=note)
        if not note.startswith("skipped"):
            result = measure(label, key, support, confidence, max_len, args)
            row.update({k: v for k, v in result.items() if k != "rules"})
            row["rule_set"] = result.get("rules")
            row["rules"] = len(result["rules"]) if "rules" in result else None
        rows.append(row)
    reference = rows[-1]
    for row in rows:
        if row.get("rule_set") is not None and reference.get("rule_set") is not None:
            row["same_rules"] = row["rule_set"] == reference["rule_set"]
            if "seconds" in reference:
                row["slower_than_ours"] = row["seconds"] / reference["seconds"]
                row["first_slower_than_ours"] = (row["first_seconds"]
                                                 / reference["first_seconds"])
        row.pop("rule_set", None)
    return rows


def print_table(rows: list[dict]) -> None:
    header = (f"{'data':<10} {'baskets x items':>18} {'supp':>6} {'len':>3}  {'contender':<27}"
              f"{'best s':>8} {'first s':>8} {'runs':>4} {'cpu s':>7} {'peak MiB':>9} "
              f"{'rules':>6} {'same':>5} {'x ours':>7} {'(first)':>7}")
    print(header)
    print("-" * len(header))
    for row in rows:
        shape = f"{row['baskets']:,} x {row['items']:,}"
        start = (f"{row['data']:<10} {shape:>18} {row['support']:>6} {row['max_len']:>3}  "
                 f"{row['contender']:<27}")
        if "seconds" not in row:
            print(start + f"  {row.get('error') or row['note']}")
            continue
        same = {True: "yes", False: "NO"}.get(row.get("same_rules"), "-")
        ratio = (f"{row['slower_than_ours']:>7.1f} {row['first_slower_than_ours']:>7.1f}"
                 if "slower_than_ours" in row else f"{'-':>7} {'-':>7}")
        print(start + f"{row['seconds']:>8.3f} {row['first_seconds']:>8.3f} {row['runs']:>4} "
              f"{row['cpu_seconds']:>7.3f} {row['peak_mib']:>9.1f} {row['rules']:>6} "
              f"{same:>5} {ratio}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=("small", "all"), default="all",
                        help="small: Groceries and 100k baskets only")
    parser.add_argument("--groceries", type=Path, default=SHARED / "groceries" / "groceries.csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dense-limit", type=float, default=4.0,
                        help="GiB of densified frame above which mlxtend fpgrowth is skipped")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs per contender at most (best reported)")
    parser.add_argument("--budget", type=float, default=2.0,
                        help="no further runs once a contender's runs took this many seconds")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per contender")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)

    groceries, small, large = ("groceries",), ("synthetic", 100_000, 5_000), \
        ("synthetic", 1_000_000, 20_000)
    cases = [(groceries, 0.006, 0.25, 2), (groceries, 0.006, 0.25, 3),
             (small, 0.006, 0.0, 2), (small, 0.006, 0.0, 3)]
    if args.sizes == "all":
        cases += [(large, 0.006, 0.0, 2), (large, 0.001, 0.0, 2)]
    rows: list[dict] = []
    for key, support, confidence, max_len in cases:
        rows += run_case(key, support, confidence, max_len, args)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"python {platform.python_version()}")
    print_table(rows)
    print("best s: fastest of 'runs' runs (wall); first s: the first, cold run; cpu s: CPU "
          "time of the best run;\nx ours: best time / our best time, (first): first run / our "
          "first run; same: identical rule set to ours;\npeak MiB: growth of the peak RSS "
          "during the first run (fresh process, freed memory trimmed first).")
    result = {"rows": rows, "params": vars(args) | {
        "json": str(args.json) if args.json else None, "groceries": str(args.groceries)}}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str))
        print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
