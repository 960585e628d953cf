"""Checks of learned state for ``Recommender._check_state``: what a family asserts about its
arrays after :func:`recsys.load` set them from files, before any of its code uses them."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.errors import ModelFileError


def expect(model: Any, name: str, shape: tuple, *, sparse: bool = False,
           dtype: str = "float32", finite: bool = True) -> Any:
    """The attribute ``name`` of ``model``, checked; raises ModelFileError naming it.

    Parameters
    ----------
    shape : tuple
        Expected shape; None in a position accepts any length there.
    sparse : bool
        A CSR matrix (whose structure the persistence layer has checked) rather than a dense
        numpy array.
    dtype : str
        The dtype the family's ``fit`` produces ("float32", "int64"); or, as one or two
        letters, the accepted numpy dtype kinds ("U" text, "iu" any integer).
    finite : bool
        Float values must be finite (no NaN or infinity).

    Examples
    --------
    >>> import recsys as rs
    >>> model = rs.Popularity().fit(rs.Interactions.from_arrays(["u"], ["i"]))
    >>> expect(model, "item_scores_", (1,)).shape
    (1,)
    >>> expect(model, "item_scores_", (2,))
    Traceback (most recent call last):
    ...
    recsys.errors.ModelFileError: Popularity.item_scores_ has shape (1,), expected (2,)
    """
    where = f"{type(model).__name__}.{name}"
    value = getattr(model, name, None)
    if sparse and not sp.isspmatrix_csr(value):
        raise ModelFileError(f"{where} must be a CSR matrix, got {type(value).__name__}")
    if not sparse and not isinstance(value, np.ndarray):
        raise ModelFileError(f"{where} must be a numpy array, got {type(value).__name__}")
    assert value is not None  # narrowed by the two checks above
    actual = tuple(value.shape)
    if len(actual) != len(shape) or any(e is not None and a != e
                                        for a, e in zip(actual, shape, strict=True)):
        wanted = tuple("any" if e is None else e for e in shape)
        raise ModelFileError(f"{where} has shape {actual}, expected {wanted}")
    if value.dtype.kind not in dtype if len(dtype) <= 2 else value.dtype != dtype:
        raise ModelFileError(f"{where} has dtype {value.dtype}, expected {dtype}")
    values = value.data if sparse else value
    if finite and value.dtype.kind == "f" and not np.isfinite(values).all():
        raise ModelFileError(f"{where} holds NaN or infinite values")
    return value


def expect_range(model: Any, name: str, low: int, high: int) -> None:
    """Integer array ``name`` holds values in ``[low, high)`` only (positions, codes)."""
    value = getattr(model, name)
    if value.size and (value.min() < low or value.max() >= high):
        raise ModelFileError(f"{type(model).__name__}.{name} holds values outside "
                             f"[{low}, {high})")


def expect_scalar(model: Any, name: str, types: tuple, check: Any = None) -> Any:
    """Scalar learned state ``name``: of one of ``types`` (bool never counts as a number),
    and passing ``check(value)`` (a recsys argument check) when given."""
    value = getattr(model, name, None)
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        raise ModelFileError(f"{type(model).__name__}.{name} = {value!r} has the wrong type")
    if check is not None:
        try:
            check(value)
        except ValueError as exc:
            raise ModelFileError(f"{type(model).__name__}.{name}: {exc}") from None
    return value
