"""Choosing a fitted :class:`~recsys.models.hybrid.Hybrid`'s member weights on a validation
split: :func:`fit_weights`, the search a Hybrid also runs in its own ``fit`` by default
(``weights="auto"``). It lives in :mod:`recsys.models._weight_search`, so that models need
not import the evaluation layer; this is its public address.
"""

from __future__ import annotations

from recsys.models._weight_search import COVERAGE_FLOORS, fit_weights, select_trial

__all__ = ["COVERAGE_FLOORS", "fit_weights", "select_trial"]
