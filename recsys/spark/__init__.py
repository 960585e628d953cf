"""recsys on Apache Spark (extra ``spark``): the same concepts on a cluster.

Ingestion (:class:`SparkInteractions`), splitters (:mod:`recsys.spark.split`), distributed
metrics (:mod:`recsys.spark.metrics`) and models (:class:`SparkALS`,
:class:`SparkAssociationRules`) whose ``to_local()`` returns the single-machine model, which
``recsys.save`` writes and ``recsys serve`` serves.
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError('recsys.spark needs pyspark: pip install "recsys-lab[spark]"') from exc

from recsys.spark import metrics, split
from recsys.spark._session import session
from recsys.spark.als import SparkALS
from recsys.spark.interactions import SparkInteractions
from recsys.spark.rules import SparkAssociationRules

__all__ = ["SparkALS", "SparkAssociationRules", "SparkInteractions", "metrics", "session",
           "split"]
