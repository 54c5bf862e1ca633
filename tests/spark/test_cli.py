"""``--engine spark`` on features, score and segment writes what the DuckDB engine writes."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from smsseg.cli import app
from tests.spark.conftest import AS_OF

pytestmark = pytest.mark.xdist_group("spark")

runner = CliRunner()


def _run(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


def test_features_score_segment_with_engine_spark(spark, orders_only_dir, bundle, tmp_path):
    from smsseg.models.bundle import save_bundle
    from smsseg.provenance import read_provenance

    model = save_bundle(bundle, tmp_path / "model")
    # the Spark run reads the directory as a file: URI (Hadoop's file system, as s3a:// is read)
    uri = orders_only_dir.resolve().as_uri()
    for engine, data in (("duckdb", str(orders_only_dir)), ("spark", uri)):
        out = tmp_path / engine
        common = ["--data", data, "--as-of", AS_OF, "--engine", engine]
        _run("features", *common, "--out", str(out / "features.parquet"))
        _run("score", *common, "--model", str(model), "--out", str(out / "scores.parquet"))
        tiers = tmp_path / "tiers.json"  # fitted by the DuckDB run, applied by the Spark run
        _run("segment", *common, "--scores", str(out / "scores.parquet"), "--out",
             str(out / "segments"), "--tiers", str(tiers), "--no-mlflow",
             "--stability-boot", "0")  # fmt: skip
    for name in ("features.parquet", "scores.parquet", "segments/membership.parquet"):
        duck = pd.read_parquet(tmp_path / "duckdb" / name)
        on_spark = pd.read_parquet(tmp_path / "spark" / name)
        pd.testing.assert_frame_equal(duck, on_spark, check_exact=False, rtol=1e-9, atol=1e-12)
    metadata = [read_provenance(tmp_path / e / "scores.parquet") for e in ("duckdb", "spark")]
    assert metadata[0].data_dir == str(orders_only_dir.resolve()) and metadata[1].data_dir == uri
    assert metadata[1].data_fingerprint is None  # a URI's files are not hashed on the driver
    assert metadata[0].model_version == metadata[1].model_version
    summary = [
        pd.read_csv(tmp_path / e / "segments/segment_summary.csv") for e in ("duckdb", "spark")
    ]
    pd.testing.assert_frame_equal(*summary)


def test_unknown_engine_is_one_clear_error(orders_only_dir, tmp_path):
    result = runner.invoke(
        app,
        ["features", "--data", str(orders_only_dir), "--as-of", AS_OF, "--out",
         str(tmp_path / "f.parquet"), "--engine", "polars"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "--engine='polars' must be one of duckdb, spark" in result.output.replace("\n", " ")
    assert not (tmp_path / "f.parquet").exists()
