"""One real local[2] SparkSession for every Spark test, stopped at the end of the session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    from recsys.spark import session

    spark = session("local[2]", spark_sql_shuffle_partitions=2)
    yield spark
    spark.stop()
