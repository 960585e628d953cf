"""A data set: interactions plus optional side information."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from recsys._display import register_titles
from recsys.data.features import Features
from recsys.data.interactions import Interactions
from recsys.errors import DataError


@dataclass
class Dataset:
    """Interactions bundled with what is known about the items and users.

    Parameters
    ----------
    interactions : Interactions
    item_features, user_features : Features, optional
        Rows aligned with ``interactions.items`` / ``interactions.users``.
    items : pandas.DataFrame, optional
        Item metadata (title, category, ...) indexed by external item id.
    users : pandas.DataFrame, optional
        User metadata indexed by external user id.
    events : pandas.DataFrame, optional
        The raw events the interactions were built from (event type, basket id, time), for
        families that need more than the matrix (association rules over baskets).

    Examples
    --------
    >>> import recsys as rs
    >>> ds = rs.datasets.demo()
    >>> ds.interactions.n_items == len(ds.items)
    True
    """

    interactions: Interactions
    item_features: Features | None = None
    user_features: Features | None = None
    items: pd.DataFrame | None = None
    users: pd.DataFrame | None = None
    events: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.interactions, Interactions):
            raise DataError("Dataset needs an Interactions object as its first argument")
        for name, feats, index in (("item_features", self.item_features, self.interactions.items),
                                   ("user_features", self.user_features, self.interactions.users)):
            if feats is not None and feats.index != index:
                raise DataError(f"{name} rows do not follow the interactions' id index")
        if self.items is not None and "title" in self.items.columns:
            # Notebook display of recommendations on this catalog shows the titles.
            register_titles(self.interactions.items, self.items["title"])

    def title_of(self, item_ids) -> list:
        """Human-readable titles for item ids (the id itself when there is no title)."""
        if self.items is None or "title" not in self.items.columns:
            return list(item_ids)
        titles = self.items["title"]
        return [titles.get(i, i) for i in item_ids]

    def __repr__(self) -> str:
        parts = [repr(self.interactions)]
        for name in ("item_features", "user_features"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)!r}")
        if self.items is not None:
            parts.append(f"items={len(self.items)} rows x {self.items.shape[1]} columns")
        return "Dataset(" + ", ".join(parts) + ")"
