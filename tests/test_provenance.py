"""Provenance between stages: outputs carry their as-of, model and data; mismatches are refused.

A scores file of another dataset used to leave most customers with NaN scores (exit 0), and
scores of 2025-12-01 were accepted for a 2025-12-31 segmentation. ``segment`` and ``plan`` now
refuse inputs of another as-of instant or another data directory, accept matching ones, and
accept files without provenance (older or hand-made) with a warning.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from smsseg._io import write_parquet
from smsseg.errors import SmssegError
from smsseg.provenance import (
    Provenance,
    check_source,
    data_fingerprint,
    for_data,
    read_provenance,
    stamp_parquet,
)
from smsseg.timeutil import parse_as_of
from tests import tiny_shop
from tests.tiny_shop import AS_OF, invoke

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # tiny shop: degenerate fits

# --- the library -------------------------------------------------------------------------------


def test_write_parquet_adds_metadata_and_keeps_what_pandas_writes(tmp_path):
    frame = pd.DataFrame({"x": [1.5, 2.0], "band": ["high", "low"]},
                         index=pd.Index(["A", "B"], name="customer_id"))  # fmt: skip
    frame.attrs["as_of"] = "2025-12-31"
    write_parquet(frame, tmp_path / "plain.parquet")
    write_parquet(frame, tmp_path / "meta.parquet", metadata={"smsseg.kind": "test"})
    plain, meta = (
        pd.read_parquet(tmp_path / "plain.parquet"),
        pd.read_parquet(tmp_path / "meta.parquet"),
    )
    pd.testing.assert_frame_equal(meta, plain)
    assert meta.attrs == plain.attrs == {"as_of": "2025-12-31"}
    assert pq.read_schema(tmp_path / "meta.parquet").metadata[b"smsseg.kind"] == b"test"


def test_provenance_round_trips_through_a_file(tmp_path):
    made = Provenance("scores", parse_as_of("2025-12-31T05:00+05:00"), "abc", "/data", "m@1")
    write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "s.parquet", metadata=made.to_metadata())
    assert read_provenance(tmp_path / "s.parquet") == made
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "hand.parquet")
    assert read_provenance(tmp_path / "hand.parquet") is None


def test_stamp_parquet_keeps_the_rows(tmp_path):
    frame = pd.DataFrame({"id": ["a", "b"], "n": [1, 2]})
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    stamp_parquet(tmp_path / "p.parquet", Provenance("plan", pd.Timestamp("2025-12-31")))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p.parquet"), frame)
    assert read_provenance(tmp_path / "p.parquet").kind == "plan"


def test_the_data_fingerprint_follows_content_not_place(tmp_path_factory, tmp_path):
    data = tiny_shop.shop(tmp_path_factory.getbasetemp())
    copy = shutil.copytree(data, tmp_path / "copy")  # new paths and modification times
    assert data_fingerprint(copy) == data_fingerprint(data) is not None
    orders = pd.read_parquet(copy / "orders.parquet")
    orders.iloc[:-1].to_parquet(copy / "orders.parquet", index=False)
    assert data_fingerprint(copy) != data_fingerprint(data)
    assert data_fingerprint(tmp_path / "nothing") is None


def test_check_source_refuses_other_as_of_and_data_and_warns_when_unknown():
    made = Provenance("scores", pd.Timestamp("2025-12-01"), "aaa", "/shop")
    check = {"fingerprint": "aaa", "data_dir": "/shop", "remedy": "score again"}
    assert check_source(made, "s", as_of=pd.Timestamp("2025-12-01"), **check) is None
    with pytest.raises(SmssegError, match="s is as of 2025-12-01T00:00Z, not 2025-12-31T00:00Z"):
        check_source(made, "s", as_of=pd.Timestamp("2025-12-31"), **check)
    with pytest.raises(SmssegError, match=r"another data directory \(/shop\) than /other"):
        check_source(made, "s", as_of=pd.Timestamp("2025-12-01"),
                     **(check | {"fingerprint": "bbb", "data_dir": "/other"}))  # fmt: skip
    with pytest.raises(SmssegError, match="on the data in /shop before it changed"):
        check_source(made, "s", as_of=pd.Timestamp("2025-12-01"), **(check | {"fingerprint": "b"}))
    warning = check_source(None, "s", as_of=pd.Timestamp("2025-12-01"), **check)
    assert "carries no provenance" in warning and "2025-12-01T00:00Z" in warning


# --- the commands ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.getbasetemp()


def test_every_stage_output_carries_its_provenance(base):
    data = tiny_shop.shop(base)
    fingerprint = data_fingerprint(data)
    scores = read_provenance(tiny_shop.scores(base))
    segments = read_provenance(tiny_shop.segments(base) / "membership.parquet")
    assert scores.kind == "scores" and segments.kind == "segments"
    for found in (scores, segments):
        assert found.as_of == pd.Timestamp(AS_OF)
        assert found.data_fingerprint == fingerprint
        assert found.data_dir == str(data.resolve())
    assert scores.model_version and segments.model_version == scores.model_version


def _segment(base, out, scores, as_of=AS_OF, data=None):
    return invoke("segment", "--data", data or tiny_shop.shop(base), "--as-of", as_of,
                  "--scores", scores, "--out", out, "--no-mlflow", "--stability-boot", "0")  # fmt: skip


def _plan(base, out, segments, as_of=AS_OF, data=None):
    return invoke("plan", "--segments", segments, "--data", data or tiny_shop.shop(base),
                  "--as-of", as_of, "--goal", "reduce_churn", "--out", out)  # fmt: skip


def test_segment_refuses_scores_of_another_as_of(base, tmp_path):
    earlier = tiny_shop.scores(base, as_of="2025-12-01")
    result = _segment(base, tmp_path / "seg", earlier)
    assert result.exit_code == 1
    assert (f"error: scores file {earlier} is as of 2025-12-01T00:00Z, not 2025-12-31T00:00Z"
            in result.text)  # fmt: skip
    assert "smsseg score --data" in result.text and "--as-of 2025-12-31" in result.text
    assert not (tmp_path / "seg").exists()


def test_segment_refuses_scores_of_another_data_directory(base, tmp_path):
    other = tiny_shop.scores(base, data_name="other")
    result = _segment(base, tmp_path / "seg", other)
    assert result.exit_code == 1
    assert f"error: scores file {other} was computed on another data directory" in result.text
    assert str(tiny_shop.shop(base, "other", 60, 9).resolve()) in result.text
    assert not (tmp_path / "seg").exists()


def test_segment_refuses_transition_scores_of_another_as_of(base, tmp_path):
    result = invoke("segment", "--data", tiny_shop.shop(base), "--as-of", AS_OF,
                    "--scores", tiny_shop.scores(base), "--transitions-from", "2025-11-30",
                    "--scores-from", tiny_shop.scores(base, as_of="2025-12-01"),
                    "--out", tmp_path / "seg", "--no-mlflow")  # fmt: skip
    assert result.exit_code == 1
    assert "is as of 2025-12-01T00:00Z, not 2025-11-30T00:00Z" in result.text


def test_segment_accepts_matching_scores_in_any_spelling(base, tmp_path):
    result = _segment(base, tmp_path / "seg", tiny_shop.scores(base), "2025-12-30T19:00-05:00")
    assert result.exit_code == 0, result.output
    assert "no provenance" not in result.text and "have no score" not in result.text


def test_scores_without_provenance_are_used_with_a_warning(base, tmp_path):
    hand = tmp_path / "hand.parquet"
    pd.read_parquet(tiny_shop.scores(base)).to_parquet(hand, index=False)  # as a notebook would
    result = _segment(base, tmp_path / "seg", hand)
    assert result.exit_code == 0, result.output
    assert f"warning: scores file {hand} carries no provenance" in result.text
    assert "have no score" not in result.text
    membership = tmp_path / "seg" / "membership.parquet"
    assert read_provenance(membership).model_version  # from the scores' model_version column


def test_unprovenanced_scores_of_other_data_show_the_customers_left_without_a_score(base, tmp_path):
    # the case (a small shop's scores on a big shop), minus the metadata that now
    # refuses it: the customers left without a score are counted, not silently NaN
    small = pd.read_parquet(tiny_shop.scores(base)).head(40)
    small.to_parquet(tmp_path / "small.parquet", index=False)
    result = _segment(base, tmp_path / "seg", tmp_path / "small.parquet")
    assert result.exit_code == 0, result.output
    n = len(pd.read_parquet(tiny_shop.scores(base)))
    assert f"{n - 40:,} of {n:,} customers as of 2025-12-31 have no score" in result.text


def test_plan_refuses_segments_of_another_as_of(base, tmp_path):
    segments = tiny_shop.segments(base)
    result = _plan(base, tmp_path / "plan", segments, as_of="2025-12-30")
    assert result.exit_code == 1
    assert (f"error: segments {segments / 'membership.parquet'} is as of 2025-12-31T00:00Z, not "
            "2025-12-30T00:00Z") in result.text  # fmt: skip
    assert not (tmp_path / "plan").exists()


def test_plan_refuses_segments_of_another_data_directory(base, tmp_path):
    other = tiny_shop.shop(base, "other", 60, 9)
    result = _plan(base, tmp_path / "plan", tiny_shop.segments(base), data=other)
    assert result.exit_code == 1
    assert "was computed on another data directory" in result.text
    assert not (tmp_path / "plan").exists()


def test_plan_accepts_matching_segments_and_carries_their_provenance(base, tmp_path):
    segments = tiny_shop.segments(base)
    result = _plan(base, tmp_path / "plan", segments, as_of="2025-12-31T00:00:00Z")
    assert result.exit_code == 0, result.output
    found = read_provenance(tmp_path / "plan" / "plan.parquet")
    assert found == for_data("plan", AS_OF, tiny_shop.shop(base),
                             read_provenance(segments / "membership.parquet").model_version)  # fmt: skip


def test_plan_accepts_segments_without_provenance_with_a_warning(base, tmp_path):
    folder = shutil.copytree(tiny_shop.segments(base), tmp_path / "hand")
    membership = pd.read_parquet(folder / "membership.parquet")
    membership.to_parquet(folder / "membership.parquet", index=False)
    result = _plan(base, tmp_path / "plan", folder)
    assert result.exit_code == 0, result.output
    assert "carries no provenance" in result.text
