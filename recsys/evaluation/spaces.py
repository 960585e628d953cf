"""Default search spaces: each family's shipped default and a few neighbours around it.

A space is a function of the training data (some defaults are rules of the data, so their
neighbours are too) returning a list of parameter dicts; the first is always ``{}``, the
shipped default. Spaces are deliberately small: the defaults are already near their
validation optimum on every data set of ``benchmarks/defaults.py``, so a search only has to
look one step either way along the parameters whose optimum moves most between data sets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recsys.data.interactions import Interactions
from recsys.models import ALS, BPR, EASE, ItemKNN, Popularity, RP3beta
from recsys.models.als import default_alpha
from recsys.models.base import Recommender
from recsys.models.ease import default_l2

Space = Callable[[Interactions], list[dict[str, Any]]]


def _ease(train: Interactions) -> list[dict[str, Any]]:
    l2 = default_l2(train.matrix)
    return [{}, {"l2": l2 / 3.0}, {"l2": l2 * 3.0}, {"weighting": "binary"}]


def _als(train: Interactions) -> list[dict[str, Any]]:
    alpha = default_alpha(train)
    return [{}, {"alpha": alpha / 3.0}, {"alpha": alpha * 3.0}, {"factors": 64},
            {"weighting": "binary"}]


def _rp3beta(train: Interactions) -> list[dict[str, Any]]:
    # The default chooses beta on its own validation split: only alpha is searched.
    return [{}, {"alpha": 0.5}, {"alpha": 1.0}]


def _item_knn(train: Interactions) -> list[dict[str, Any]]:
    return [{}, {"k": 200}, {"similarity": "cosine"}]


def _default_only(train: Interactions) -> list[dict[str, Any]]:
    return [{}]


# family name -> (class, its space). The order is the order of the first round, so a tight
# budget still compares the strongest defaults first.
SPACES: dict[str, tuple[type[Recommender], Space]] = {
    "EASE": (EASE, _ease),
    "ALS": (ALS, _als),
    "RP3beta": (RP3beta, _rp3beta),
    "ItemKNN": (ItemKNN, _item_knn),
    "BPR": (BPR, _default_only),
    "Popularity": (Popularity, _default_only),
}


def default_space(family: str, train: Interactions) -> list[dict[str, Any]]:
    """The candidates of ``family`` on ``train``: its default first, then its neighbours.

    Examples
    --------
    >>> import recsys as rs
    >>> default_space("RP3beta", rs.datasets.demo().interactions)[:2]
    [{}, {'alpha': 0.5}]
    """
    return SPACES[family][1](train)
