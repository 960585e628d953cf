"""Sessions from an event log: a user's events split where they pause for longer than a gap."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.errors import ColumnError, ConfigError


def sessionize(events: pd.DataFrame, *, user: str = "user_id", timestamp: str = "timestamp",
               gap: str | pd.Timedelta | float = "30min", column: str = "session") -> pd.DataFrame:
    """``events`` sorted by user and time with a session id column: ``"<user>#<n>"``, a new
    session starting after a pause longer than ``gap``.

    Parameters
    ----------
    events : pandas.DataFrame
    user, timestamp : str
        Columns of the user id and the event time (datetimes, or numbers in seconds).
    gap : str, Timedelta or float
        The pause that ends a session (30 minutes, the common web analytics convention);
        seconds when the timestamps are numbers.
    column : str
        Name of the session id column added.

    Examples
    --------
    >>> events = pd.DataFrame({"user_id": ["a", "a", "a", "b"], "item": ["x", "y", "z", "x"],
    ...                        "timestamp": [0, 60, 7200, 10]})
    >>> sessionize(events, gap=1800)["session"].tolist()
    ['a#0', 'a#0', 'a#1', 'b#0']
    """
    missing = [c for c in (user, timestamp) if c not in events.columns]
    if missing:
        raise ColumnError(f"sessionize: column {missing[0]!r} not found; columns: "
                          f"{list(events.columns)}")
    times = events[timestamp]
    if times.isna().any():
        row = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise ColumnError(f"sessionize: column {timestamp!r} is missing at row {row}")
    numeric = pd.api.types.is_numeric_dtype(times)
    if numeric:
        limit = float(gap) if not isinstance(gap, (str, pd.Timedelta)) else \
            pd.Timedelta(gap).total_seconds()
    else:
        times = pd.to_datetime(times)
        limit = pd.Timedelta(gap if isinstance(gap, (str, pd.Timedelta)) else
                             pd.Timedelta(seconds=float(gap)))
    if (limit.total_seconds() if isinstance(limit, pd.Timedelta) else limit) <= 0:
        raise ConfigError(f"gap must be positive, got {gap!r}")
    out = events.assign(**{"_time": times}).sort_values([user, "_time"], kind="stable")
    pause = out.groupby(user, sort=False)["_time"].diff()
    starts = pause.isna() | (pause > limit)
    number = starts.astype(np.int64).groupby(out[user], sort=False).cumsum() - 1
    out[column] = out[user].astype(str) + "#" + number.astype(str)
    return out.drop(columns="_time")
