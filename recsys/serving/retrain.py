"""Retraining a served model on its training data plus the service's event log.

A saved model holds its training interactions (``user_items_``, with their weights), so
the same configuration can be fitted again on them and on every event logged since. The new
model directory records the log's last sequence number it holds; a service that reloads it
replays only the events logged after that point (``recsys serve --events-log``), so no event
is counted twice or lost across the swap.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from recsys.data.interactions import Interactions
from recsys.errors import ConfigError
from recsys.serving.events import read_log, replay, snapshot_point
from recsys.serving.persistence import load_with_manifest, save

__all__ = ["retrain"]


def retrain(model_dir: str | os.PathLike, events_log: str | os.PathLike,
            output: str | os.PathLike, *, show_progress: bool = False) -> tuple[Path, int]:
    """Fit the saved model's configuration again on its training data plus the log.

    The events after the model's snapshot point join its training interactions as
    ``update`` adds them (weights of a repeated pair add up); the model's class and
    parameters are fitted on the result, from scratch, and saved to ``output`` with the
    log's last sequence number read as its snapshot point. Events logged while this runs
    come after that point: the service replays them when it reloads ``output``.

    Parameters
    ----------
    model_dir : str or PathLike
        The served model (or an earlier retrained one).
    events_log : str or PathLike
        The service's event log (read only; safe while the service appends to it).
    output : str or PathLike
        The new model directory (written atomically, like :func:`recsys.save`).
    show_progress : bool
        Show a progress bar on long fits.

    Returns
    -------
    (pathlib.Path, int)
        The directory written and the last sequence number it holds.

    Raises
    ------
    recsys.errors.ConfigError
        The family fits on item features, which the model directory does not hold (fit it
        on your Dataset plus the log's events instead), or the model was retrained from
        another log.

    Examples
    --------
    >>> import recsys as rs, tempfile
    >>> from recsys.serving.events import EventLog
    >>> root = tempfile.mkdtemp()
    >>> inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "a"])
    >>> path = rs.save(rs.ItemKNN().fit(inter), root + "/v1")
    >>> with EventLog(root + "/events.log") as log:
    ...     log.append("events", [{"user": "u3", "item": "b", "weight": 1.0}])
    (1, 1)
    >>> new, seq = retrain(path, root + "/events.log", root + "/v2")
    >>> seq, rs.load(new).n_users
    (1, 3)
    """
    model, manifest = load_with_manifest(model_dir)
    if model.uses_item_features:
        raise ConfigError(f"{type(model).__name__} fits on item features, which the model "
                          "directory does not hold: fit it on your Dataset plus the log's "
                          "events (recsys.serving.events.read_log)")
    log_id, _ = read_log(events_log)
    with warnings.catch_warnings():  # "new items score 0 until the next fit": this is it
        warnings.simplefilter("ignore")
        grown, last = replay(model, events_log, snapshot_point(manifest, log_id))
    data = Interactions(grown.user_items_, grown.users_, grown.items_)
    fresh = model.clone().fit(data, show_progress=show_progress)
    return save(fresh, output, events={"log_id": log_id, "seq": last}), last
