"""Thread limits applied only inside our own calls; nothing is changed at import."""

from __future__ import annotations

from collections.abc import Iterator
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
