"""A SparkSession with safe defaults for local runs; a cluster's own session is used as is."""

from __future__ import annotations

import os
import sys
from typing import Any

LOCAL_DEFAULTS = {
    # No web UI and no console progress bars: a library must not open ports or draw on
    # the user's terminal unasked.
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # Arrow makes pandas <-> Spark conversions columnar instead of row by row.
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Spark's default of 200 shuffle partitions is for clusters; locally it only adds tasks.
    "spark.sql.shuffle.partitions": "8",
}
# A machine whose hostname resolves to a non-loopback address would otherwise have the
# driver listen there; local mode needs nothing beyond loopback.
LOOPBACK = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


def session(master: str = "local[*]", app_name: str = "recsys", **conf: Any):
    """The active SparkSession, or a new one with safe defaults.

    When a session is already active (on a cluster, ``spark-submit`` or a notebook created
    it) it is returned untouched and ``master`` / ``conf`` are ignored. Otherwise a session is
    built with the UI and console progress off, Arrow conversions on, 8 shuffle partitions
    and, for a ``local`` master, the driver bound to 127.0.0.1 and Python workers running
    this interpreter (unless ``PYSPARK_PYTHON`` says otherwise). ``conf`` entries override
    these; write Spark keys with dots replaced by underscores or pass a dict with
    ``**{"spark.executor.memory": "4g"}``.

    Parameters
    ----------
    master : str
        Spark master URL, ``"local[*]"`` by default.
    app_name : str
        Application name shown by the cluster manager.
    **conf
        Extra Spark configuration.

    Returns
    -------
    pyspark.sql.SparkSession

    Examples
    --------
    >>> from recsys.spark import session  # doctest: +SKIP
    >>> spark = session("local[1]")                           # doctest: +SKIP
    >>> spark.conf.get("spark.ui.enabled")                    # doctest: +SKIP
    'false'
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    settings = dict(LOCAL_DEFAULTS)
    if master.startswith("local"):
        settings.update(LOOPBACK)
        # Python workers run this interpreter (this environment's numpy, pyarrow, recsys),
        # not whichever "python3" comes first on the PATH; pyspark reads only the variable.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings.update({key.replace("_", ".") if "." not in key else key: str(value)
                     for key, value in conf.items()})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
