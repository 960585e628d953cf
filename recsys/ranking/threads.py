"""Thread limits applied only inside our own calls; nothing is changed at import."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

_blas_controller = None


@contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """Limit BLAS to ``threads`` threads inside the block; ``0`` leaves it as it is.

    The threadpoolctl controller is created on first use and reused, because inspecting the
    loaded libraries costs far more than a small matrix product.
    """
    if threads <= 0:
        yield
        return
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController().select(user_api="blas").lib_controllers
    # Reading the current limits is two orders of magnitude cheaper than setting and
    # restoring them: a service that already runs BLAS on one thread pays nothing per call.
    changed = [c for c in _blas_controller if c.num_threads != threads]
    before = [c.num_threads for c in changed]
    for controller in changed:
        controller.set_num_threads(threads)
    try:
        yield
    finally:
        for controller, value in zip(changed, before, strict=True):
            controller.set_num_threads(value)


@contextmanager
def omp_threads(threads: int) -> Iterator[None]:
    """Run faiss with ``threads`` OpenMP threads inside the block, restoring the previous
    setting afterwards; ``0`` leaves it as it is.

    faiss's setting is process-wide: concurrent calls with different limits race on it.
    """
    if threads <= 0:
        yield
        return
    import faiss

    before = faiss.omp_get_max_threads()
    if before == threads:  # the usual case in a service: nothing to set or restore
        yield
        return
    faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


_pool = None
_pool_lock = threading.Lock()


def worker_count(threads: int) -> int:
    """Threads for our own compiled loops: ``threads``, or (0) the cores this process may
    run on."""
    if threads > 0:
        return threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_split(task: Callable[[int, int], None], n_rows: int, workers: int,
              min_rows: int) -> None:
    """Run ``task(start, stop)`` over ``[0, n_rows)`` cut into up to ``workers`` parts of at
    least ``min_rows`` rows, in threads (``task`` must release the GIL: a ``nogil`` numba
    kernel); in the calling thread when there is one part.

    Examples
    --------
    >>> seen = []
    >>> run_split(lambda a, b: seen.append((a, b)), 10, workers=2, min_rows=4)
    >>> sorted(seen)
    [(0, 5), (5, 10)]
    """
    parts = max(1, min(workers, n_rows // max(min_rows, 1)))
    if parts == 1:
        task(0, n_rows)
        return
    bounds = [n_rows * part // parts for part in range(parts + 1)]
    futures = [_thread_pool().submit(task, start, stop)
               for start, stop in zip(bounds[1:-1], bounds[2:], strict=True)]
    task(bounds[0], bounds[1])  # the caller takes the first part
    for future in futures:
        future.result()


def _thread_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max(1, worker_count(0) - 1),
                                       thread_name_prefix="recsys-select")
        return _pool
