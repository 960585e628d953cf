"""The embedded demo data set: a synthetic shop shipped in the repository (no network).

The files in ``data/demo/`` are written by :mod:`recsys.datasets.make_demo`, whose docstring
describes how they are generated and which structure is planted in them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.data.dataset import Dataset
from recsys.data.features import Features
from recsys.data.interactions import Interactions
from recsys.errors import DataError

# How much one event says about interest: a purchase outweighs a cart, a cart a view.
EVENT_WEIGHTS = {"view": 1.0, "cart": 2.0, "purchase": 4.0}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ITEM_COLUMNS = {"item_id": "str", "title": "str", "category": "str", "brand": "str",
                "price": "float64", "description": "str", "compatibility": "str"}
USER_COLUMNS = {"user_id": "str", "age_group": "str", "region": "str"}
EVENT_COLUMNS = {"user_id": "str", "item_id": "str", "event": "str", "timestamp": "str",
                 "basket_id": "Int64"}


def demo_dir() -> Path:
    """Where the demo files live: ``data/demo`` at the repository root."""
    return Path(__file__).resolve().parents[2] / "data" / "demo"


def demo(path: str | os.PathLike | None = None) -> Dataset:
    """Load the demo shop: about 2,000 users, 1,000 products and 100,000 events.

    Parameters
    ----------
    path : path, optional
        A folder written by ``python -m recsys.datasets.make_demo``; the copy committed in
        the repository (``data/demo``) by default.

    Returns
    -------
    Dataset
        - ``interactions``: users x items; each event adds its weight from
          :data:`EVENT_WEIGHTS` (view 1, cart 2, purchase 4) to its (user, item) pair, and the
          pair keeps the time of its latest event;
        - ``events``: the raw events (``user_id, item_id, event, timestamp, basket_id``), with
          ``basket_id`` the order id of purchases (``<NA>`` otherwise): the baskets that
          association rules mine;
        - ``items``: indexed by ``item_id`` with ``title, category, brand, price, description,
          compatibility``;
        - ``item_features``: ``category`` and ``brand`` one-hot, ``price`` standardised;
        - ``users`` and ``user_features``: ``age_group`` and ``region`` one-hot.

    Raises
    ------
    recsys.errors.DataError
        The files are missing (for instance in an installed package without ``data/``) or
        malformed.

    Examples
    --------
    >>> ds = demo()
    >>> ds.interactions.n_users, ds.interactions.n_items
    (2000, 1000)
    >>> ds.events["event"].unique().tolist()
    ['view', 'cart', 'purchase']
    """
    folder = Path(path) if path is not None else demo_dir()
    items = _read(folder, "items.csv.gz", ITEM_COLUMNS).set_index("item_id")
    users = _read(folder, "users.csv.gz", USER_COLUMNS).set_index("user_id")
    events = _read_events(folder)
    weighted = events[["user_id", "item_id", "timestamp"]].assign(
        weight=events["event"].map(EVENT_WEIGHTS).to_numpy())
    inter = Interactions.from_pandas(weighted, user="user_id", item="item_id", weight="weight",
                                     timestamp="timestamp", duplicates="sum")
    item_features = Features.from_pandas(
        items.reset_index(), "item_id", inter.items, categorical=["category", "brand"],
        numeric=["price"])
    user_features = Features.from_pandas(
        users.reset_index(), "user_id", inter.users, categorical=["age_group", "region"])
    return Dataset(inter, item_features=item_features, user_features=user_features,
                   items=items, users=users, events=events)


def _read(folder: Path, name: str, columns: dict[str, str]) -> pd.DataFrame:
    file = folder / name
    if not file.is_file():
        raise DataError(
            f"demo data file {file} not found; the demo data ships in the repository's "
            "data/demo folder: regenerate it with `python -m recsys.datasets.make_demo`")
    try:
        # Only empty fields are missing: a title such as "NA" stays a title.
        return pd.read_csv(file, dtype=columns, usecols=list(columns), keep_default_na=False,
                           na_values=[""])
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{file}: {str(exc).splitlines()[0]}") from None


def _read_events(folder: Path) -> pd.DataFrame:
    events = _read(folder, "events.csv.gz", EVENT_COLUMNS)
    file = folder / "events.csv.gz"
    unknown = ~events["event"].isin(list(EVENT_WEIGHTS))
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DataError(f"{file}, line {row + 2}: unknown event {events['event'].iloc[row]!r}; "
                        f"expected one of {list(EVENT_WEIGHTS)}")
    times = pd.to_datetime(events["timestamp"], format=TIME_FORMAT, errors="coerce")
    if times.isna().any():
        row = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise DataError(f"{file}, line {row + 2}: bad timestamp "
                        f"{events['timestamp'].iloc[row]!r} (expected {TIME_FORMAT})")
    events["timestamp"] = times
    return events
