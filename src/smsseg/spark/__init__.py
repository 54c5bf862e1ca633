"""Apache Spark as the scale-out engine (``pip install 'smsseg[spark]'``; DuckDB stays the default).

The generated DuckDB SQL of the feature catalogue and the data contract runs on Spark through
sqlglot (:mod:`smsseg.spark.sql`); scoring and segmentation apply the existing pandas functions
per partition (``mapInPandas``). See ``docs/spark.md``.
"""

from smsseg.spark.session import DEFAULT_MASTER, spark_session

__all__ = ["DEFAULT_MASTER", "spark_session"]
