"""The pipeline steps on the tiny shop: typed results, no printing, warnings as Python warnings,
and the same files as the commands that call them."""

from __future__ import annotations

import logging
import warnings

import pandas as pd
import pytest

from smsseg import pipeline
from smsseg.errors import SmssegError, SmssegWarning
from tests import tiny_shop
from tests.tiny_shop import AS_OF


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.getbasetemp()


@pytest.fixture(autouse=True)
def _quiet_loader():
    logging.disable(logging.WARNING)  # the generated phones trip an E.164 warning; not the point
    yield
    logging.disable(logging.NOTSET)


def test_steps_return_typed_results_and_print_nothing(base, tmp_path, capsys):
    data, model = tiny_shop.shop(base), tiny_shop.model(base)
    feats = pipeline.features(data, AS_OF, tmp_path / "f.parquet", btyd=False)
    scored = pipeline.score(data, AS_OF, tmp_path / "s.parquet", model=model)
    segmented = pipeline.segment(
        data, AS_OF, scored.path, tmp_path / "seg", mlflow=False, stability_boot=0
    )
    planned = pipeline.plan(tmp_path / "seg", data, AS_OF, ["reduce_churn"], tmp_path / "plan")
    assert capsys.readouterr().out == ""
    assert isinstance(feats, pipeline.FeaturesOutput) and feats.path.is_file()
    assert len(feats.frame) == len(scored.scores) == len(segmented.run.membership)
    # the as-of is 00:00 of the last day: that day's rows are counted as left out
    assert feats.rows_after.counts and scored.rows_after.counts
    assert segmented.tiers_fitted and segmented.tiers_path == tmp_path / "seg" / "value_tiers.json"
    assert planned.paths["plan.parquet"].is_file()
    assert planned.model_version == scored.model_version


def test_segment_writes_what_the_command_writes(base, tmp_path):
    data = tiny_shop.shop(base)
    cli = tiny_shop.segments(base)  # smsseg segment --no-mlflow --stability-boot 0
    pipeline.segment(data, AS_OF, tiny_shop.scores(base), tmp_path, mlflow=False, stability_boot=0)
    for name in ("membership.parquet", "segment_summary.csv", "tiers.csv", "value_tiers.json"):
        assert (tmp_path / name).read_bytes() == (cli / name).read_bytes(), name


def test_scores_without_provenance_warn_as_a_python_warning(base, tmp_path):
    data = tiny_shop.shop(base)
    bare = tmp_path / "bare.parquet"
    pd.read_parquet(tiny_shop.scores(base)).to_parquet(bare, index=False)  # metadata dropped
    with pytest.warns(SmssegWarning, match="carries no provenance"):
        pipeline.segment(data, AS_OF, bare, tmp_path / "seg", mlflow=False, stability_boot=0)


def test_bad_input_raises_before_anything_is_written(base, tmp_path):
    data = tiny_shop.shop(base)
    with pytest.raises(SmssegError, match="must be a .parquet file"):
        pipeline.features(data, AS_OF, tmp_path / "f.csv")
    with pytest.raises(SmssegError, match="no trained model found"):
        pipeline.score(data, AS_OF, tmp_path / "s.parquet", model=str(tmp_path / "none"))
    with pytest.raises(SmssegError, match="--transitions-from=.* needs --scores-from"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", SmssegWarning)
            pipeline.segment(
                data, AS_OF, tiny_shop.scores(base), tmp_path / "seg", transitions_from="2025-12-01"
            )
    assert list(tmp_path.iterdir()) == []
