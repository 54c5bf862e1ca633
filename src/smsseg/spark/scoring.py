"""Distributed scoring: the LightGBM models applied per partition with ``mapInPandas``.

The bundle travels as its files (LightGBM native text and JSON, as :func:`save_bundle` writes them),
broadcast once; each Python worker writes them to a temporary directory and reads them with
:func:`load_bundle`, once per worker. Nothing is pickled but those file contents. Each partition
then goes through the same functions as the DuckDB path: :func:`predict_scores` (churn probability,
calibration, bands, discount sensitivity, uplift, CLV, next order date) and :func:`add_reasons`
(TreeSHAP reasons of the at-risk), all of which work customer by customer.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from smsseg._compat import TEXT_DTYPE
from smsseg.features.build import _cast
from smsseg.features.registry import output_features
from smsseg.models.bundle import ModelBundle, load_bundle, save_bundle
from smsseg.models.scoring import (
    BANDS,
    RiskBands,
    add_reasons,
    explained_scorer,
    predict_scores,
)

#: Spark schema of the scores (the columns and order of :func:`predict_scores`).
SCORE_SCHEMA = (
    "customer_id string, churn_probability double, churn_risk_band string, "
    "discount_sensitivity double, uplift double, predicted_clv double, "
    "expected_next_order_date timestamp, model_version string, churn_scorer string, "
    "reasons string"
)

#: The DuckDB path's default risk bands.
DEFAULT_BANDS = RiskBands()

_WORKER_BUNDLES: dict[str, ModelBundle] = {}


def bundle_files(bundle: ModelBundle) -> dict[str, bytes]:
    """The bundle as its saved files: relative path → content (text and JSON, no pickle)."""
    with tempfile.TemporaryDirectory(prefix="smsseg-bundle-") as tmp:
        directory = save_bundle(bundle, Path(tmp) / "bundle")
        return {
            str(path.relative_to(directory)): path.read_bytes()
            for path in sorted(directory.rglob("*"))
            if path.is_file()
        }


def bundle_key(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(files.items()):
        digest.update(name.encode() + b"\0" + content)
    return digest.hexdigest()[:16]


def worker_bundle(key: str, files: dict[str, bytes]) -> ModelBundle:
    """The bundle of ``files``, read once per Python worker."""
    if key not in _WORKER_BUNDLES:
        with tempfile.TemporaryDirectory(prefix="smsseg-bundle-") as tmp:
            for name, content in files.items():
                path = Path(tmp) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            _WORKER_BUNDLES[key] = load_bundle(tmp)
    return _WORKER_BUNDLES[key]


def to_spark_frame(spark, features: pd.DataFrame, partitions: int | None = None):
    """A features frame (indexed by ``customer_id``) as a Spark DataFrame, through Arrow.

    Categories travel as strings; :func:`restore_features` gives them back their declared dtype.
    """
    table = pa.Table.from_pandas(features.reset_index(), preserve_index=False)
    fields = []
    for field in table.schema:
        if pa.types.is_dictionary(field.type) or pa.types.is_large_string(field.type):
            fields.append(pa.field(field.name, pa.string()))
        else:
            fields.append(pa.field(field.name, field.type))
    frame = spark.createDataFrame(table.cast(pa.schema(fields)))
    return frame.repartition(partitions or spark.sparkContext.defaultParallelism)


def restore_features(batch: pd.DataFrame, categories: Sequence[str]) -> pd.DataFrame:
    """One partition's features, indexed by customer and in their declared dtypes again."""
    declared = {f.name: f for f in output_features(categories)}
    columns = {
        name: (_cast(batch[name], declared[name]) if name in declared else batch[name]).array
        for name in batch.columns
        if name != "customer_id"
    }
    index = pd.Index(batch["customer_id"].astype("str"), name="customer_id")
    return pd.DataFrame(columns, index=index, copy=False)


def score_partitions(
    frame,
    bundle: ModelBundle,
    as_of,
    bands: RiskBands = DEFAULT_BANDS,
    has_discounts: bool = True,
    reason_bands: Sequence[str] = ("high",),
    max_recency_days: float | None = None,
):
    """The scores of a Spark DataFrame of features, computed per partition (a Spark DataFrame)."""
    spark = frame.sparkSession
    files = bundle_files(bundle)
    key = bundle_key(files)
    shipped = spark.sparkContext.broadcast(files)
    categories = list(bundle.meta.get("categories") or [])
    stamp = pd.Timestamp(as_of)
    reason_bands = list(reason_bands)

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = worker_bundle(key, shipped.value)
        for batch in batches:
            if batch.empty:
                continue
            features = restore_features(batch, categories)
            scores = predict_scores(features, model, stamp, bands, has_discounts=has_discounts)
            scores = add_reasons(
                scores, features, model, reason_bands, max_recency_days=max_recency_days
            )
            # text as pandas' string dtype: an all-None object column (pandas 2.2) would
            # reach Arrow as type null and fail against the declared string schema
            text = ("customer_id", "churn_risk_band", "model_version", "churn_scorer", "reasons")
            yield scores.assign(**{c: scores[c].astype("string") for c in text})

    return frame.mapInPandas(score, SCORE_SCHEMA)


def collect_scores(
    scored,
    features: pd.DataFrame,
    bundle: ModelBundle,
    as_of,
    bands: RiskBands = DEFAULT_BANDS,
    has_discounts: bool = True,
) -> pd.DataFrame:
    """Scores collected from Spark in customer order, with the DuckDB path's dtypes and attrs."""
    from smsseg.spark.connection import SparkResult

    table = SparkResult(scored).to_arrow_table().sort_by("customer_id")
    raw = table.to_pandas()
    out = pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype("str").to_numpy(),
            "churn_probability": raw["churn_probability"].to_numpy(dtype=np.float64),
            "churn_risk_band": pd.Categorical(raw["churn_risk_band"], categories=list(BANDS)),
            "discount_sensitivity": raw["discount_sensitivity"].to_numpy(dtype=np.float64),
            "uplift": raw["uplift"].to_numpy(dtype=np.float64),
            "predicted_clv": raw["predicted_clv"].to_numpy(dtype=np.float64),
            "expected_next_order_date": raw["expected_next_order_date"]
            .astype("datetime64[us]")
            .to_numpy(),
            "model_version": pd.Series(raw["model_version"], dtype=TEXT_DTYPE).to_numpy(),
            "churn_scorer": pd.Series(raw["churn_scorer"], dtype=TEXT_DTYPE).to_numpy(),
            "reasons": pd.Series(raw["reasons"], dtype=TEXT_DTYPE).to_numpy(),
        }
    )
    # what the driver-side functions would have noted: the notes depend on the bundle only
    probe = predict_scores(features.head(1), bundle, as_of, bands, has_discounts=has_discounts)
    out.attrs["notes"] = probe.attrs["notes"] + explained_scorer(bundle)[1]
    out.attrs["n_reasons"] = int(out["reasons"].notna().sum())
    return out


def score_on_spark(
    spark,
    features: pd.DataFrame,
    bundle: ModelBundle,
    as_of,
    bands: RiskBands = DEFAULT_BANDS,
    has_discounts: bool = True,
    reason_bands: Sequence[str] = ("high",),
    max_recency_days: float | None = None,
    partitions: int | None = None,
) -> pd.DataFrame:
    """:func:`predict_scores` + :func:`add_reasons` of ``features``, computed per Spark partition.

    Returns the frame the DuckDB path returns (same columns, dtypes, customer order and notes).
    """
    frame = to_spark_frame(spark, features, partitions)
    scored = score_partitions(
        frame, bundle, as_of, bands, has_discounts, reason_bands, max_recency_days
    )
    return collect_scores(scored, features, bundle, as_of, bands, has_discounts)
