"""Ingestion benchmark: ``Interactions.from_pandas`` against the bare pandas + scipy approach.

Events are synthetic, seeded and shaped like a shop's click log: 200,000 users drawn
uniformly, 50,000 items drawn from a Zipf law (``p(rank) ~ 1 / rank``, ranks shuffled so that
popular ids are not lexically first), both as string ids (``"u0001234"``, ``"i00042"``) in
pandas' default string dtype (pandas 3 ``str``, Arrow-backed), which is what ``read_csv`` or
``read_parquet`` give. For each size we time, in the same run:

* **ours**: ``Interactions.from_pandas(df, "user", "item")`` — validation (missing and empty
  ids), id maps, CSR float32 with sorted indices and summed duplicates;
* **bare**: ``pd.factorize`` on both columns, then
  ``scipy.sparse.coo_matrix((ones, (u, i))).tocsr()`` with float32 ones — the same matrix
  with no checks and no id maps kept beyond the factorize uniques.

How it is measured (and why)
----------------------------
Each repeat of each approach runs in a **freshly forked child** of a parent that holds only
the input frame (and has called both approaches once on a 2,000-row slice, so that lazily
imported modules are loaded before the fork and no child pays for them), so no run inherits
another's warm allocator pools or cached objects; the parent also hands freed heap memory back
to the OS (``malloc_trim``) before each fork. In the
child we reset the kernel's peak-RSS counter (``echo 5 > /proc/self/clear_refs`` resets
``VmHWM`` to the current RSS), read ``VmRSS``, run the call, and read ``VmHWM``: peak memory is
``VmHWM - VmRSS(before)``, i.e. the resident memory the call added at its peak, whoever
allocated it — numpy, scipy's C++ kernels and Arrow's allocator alike. ``tracemalloc`` would
see numpy's buffers but not Arrow's (pandas' string factorize runs in Arrow), so it would
flatter both sides unevenly. The input frame is shared copy-on-write with the parent and is
only read, so it does not count. Wall time is ``time.perf_counter`` around the call in the
child; we report the best of N repeats (ours and bare interleaved, in alternating order, so
that a burst of load from other processes hits both alike), the median of the per-pair
ratios (each repeat of ours beside the bare repeat run next to it), and the median peak over the
repeats (the first fork of a run tends to peak a few MB higher, for both approaches). The
JSON also holds every repeat and the best CPU time (``time.process_time``), a second opinion
when the machine is shared.

Run ``python benchmarks/ingest.py`` (all sizes) or ``--sizes 1M 5M``; ``--json PATH`` also
writes the rows as JSON. The 20M case peaks at about 2 GiB of RAM (all three: 90 s here).

Target (issue 2): ours <= 1.10x bare in time, <= 1.5x in peak memory.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recsys.data.interactions import Interactions  # noqa: E402

N_USERS = 200_000
N_ITEMS = 50_000
SIZES = {"1M": 1_000_000, "5M": 5_000_000, "20M": 20_000_000}
REPEATS = {"1M": 15, "5M": 7, "20M": 3}


def make_events(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """``n_rows`` events with string ids: uniform users, Zipf(1) item popularity."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, N_USERS, size=n_rows, dtype=np.int32)
    popularity = 1.0 / np.arange(1, N_ITEMS + 1)
    ranks = rng.choice(N_ITEMS, size=n_rows, p=popularity / popularity.sum())
    items = rng.permutation(N_ITEMS).astype(np.int32)[ranks]  # popular ids spread lexically
    user_names = pa.array([f"u{k:07d}" for k in range(N_USERS)])
    item_names = pa.array([f"i{k:05d}" for k in range(N_ITEMS)])

    def column(codes: np.ndarray, names: pa.Array) -> pd.Series:
        strings = pa.DictionaryArray.from_arrays(pa.array(codes), names).cast(pa.string())
        return pd.Series(strings, dtype="str")

    return pd.DataFrame({"user": column(users, user_names), "item": column(items, item_names)})


def ours(df: pd.DataFrame) -> object:
    return Interactions.from_pandas(df, "user", "item")


def bare(df: pd.DataFrame) -> object:
    u, users = pd.factorize(df["user"])
    i, items = pd.factorize(df["item"])
    ones = np.ones(len(u), dtype=np.float32)
    matrix = sp.coo_matrix((ones, (u, i)), shape=(len(users), len(items))).tocsr()
    return matrix, users, items


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def run_forked(
    func: Callable[[pd.DataFrame], object], df: pd.DataFrame
) -> tuple[float, float, float]:
    """(wall seconds, peak MiB added, CPU seconds) of ``func(df)`` in a fresh forked child."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        status = 1
        try:
            gc.collect()
            gc.disable()
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            before = _status_kib("VmRSS")
            cpu = time.process_time()
            start = time.perf_counter()
            result = func(df)
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu
            peak = _status_kib("VmHWM") - before
            del result
            os.write(write_fd, json.dumps([seconds, peak / 1024.0, cpu]).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if status != 0 or not chunks:
        raise RuntimeError(f"benchmark child for {func.__name__} failed (status {status})")
    return tuple(json.loads(b"".join(chunks)))


def _release_free_heap() -> None:
    """Give memory freed by earlier work back to the OS, so that no child starts with a warm
    heap whose reuse would hide part of its peak."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def bench(label: str, n_rows: int, repeats: int) -> dict:
    df = make_events(n_rows)
    warm = df.iloc[:2000].copy()  # first calls import and initialise lazily loaded modules;
    ours(warm)                    # do that once here, small, so no child pays it
    bare(warm)
    del warm
    times: dict[str, list[float]] = {"ours": [], "bare": []}
    peaks: dict[str, list[float]] = {"ours": [], "bare": []}
    cpus: dict[str, list[float]] = {"ours": [], "bare": []}
    pair = (("ours", ours), ("bare", bare))
    for repeat in range(repeats):
        for name, func in pair if repeat % 2 == 0 else pair[::-1]:  # alternate who goes first
            _release_free_heap()
            seconds, peak, cpu = run_forked(func, df)
            times[name].append(seconds)
            peaks[name].append(peak)
            cpus[name].append(cpu)
    check = ours(df)  # both build the same matrix (checked after the measurements)
    matrix, _, _ = bare(df)
    assert check.matrix.shape == matrix.shape and check.nnz == matrix.nnz
    assert check.matrix.sum() == matrix.sum() == n_rows
    assert (check.matrix != matrix).nnz == 0
    ours_s, bare_s = min(times["ours"]), min(times["bare"])
    ours_mb, bare_mb = float(np.median(peaks["ours"])), float(np.median(peaks["bare"]))
    return {
        "size": label, "rows": n_rows, "repeats": repeats,
        "ours_s": ours_s, "bare_s": bare_s, "time_ratio": ours_s / bare_s,
        # Repeat i of each ran back to back: the ratio within a pair cancels slow drifts of
        # the machine's speed, which on a shared host move both sides by tens of percent.
        "paired_ratio": float(np.median(np.divide(times["ours"], times["bare"]))),
        "ours_rows_per_s": n_rows / ours_s,
        "ours_peak_mb": ours_mb, "bare_peak_mb": bare_mb, "memory_ratio": ours_mb / bare_mb,
        "ours_all_s": times["ours"], "bare_all_s": times["bare"],
        "ours_all_peak_mb": peaks["ours"], "bare_all_peak_mb": peaks["bare"],
        "ours_cpu_s": min(cpus["ours"]), "bare_cpu_s": min(cpus["bare"]),
        "cpu_ratio": min(cpus["ours"]) / min(cpus["bare"]),
    }


def print_table(rows: list[dict]) -> None:
    header = (f"{'rows':>11} {'ours s':>8} {'bare s':>8} {'time ratio':>10} {'paired':>7} "
              f"{'ours rows/s':>12} {'ours peak MB':>12} {'bare peak MB':>12} {'mem ratio':>9}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['rows']:>11,} {r['ours_s']:>8.3f} {r['bare_s']:>8.3f} {r['time_ratio']:>10.3f} "
              f"{r['paired_ratio']:>7.3f} {r['ours_rows_per_s']:>12,.0f} "
              f"{r['ours_peak_mb']:>12.1f} {r['bare_peak_mb']:>12.1f} {r['memory_ratio']:>9.3f}")
    print("target: time ratio <= 1.10, memory ratio <= 1.50 (time ratio: best-of-N wall "
          "times; paired: median of the ratios of back-to-back repeats; memory: median peak "
          "of VmHWM - VmRSS in forked children)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES),
                        help="event counts to run (default: all)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats per approach (default: 15 for 1M, 7 for 5M, 3 for 20M)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    rows = []
    for label in args.sizes:
        rows.append(bench(label, SIZES[label], args.repeats or REPEATS[label]))
        print(f"  {label}: done", file=sys.stderr, flush=True)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "ingest", "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
