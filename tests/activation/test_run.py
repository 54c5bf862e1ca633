"""Activation on a data directory: every consent event is read from the ``sms`` table whatever the
as-of date, and a directory without that table is refused plainly."""

import pandas as pd
import pytest
from typer.testing import CliRunner

import smsseg.cli.activation  # noqa: F401  (registers the commands)
from smsseg.activation.run import run_plan
from smsseg.cli.app import app
from smsseg.errors import SmssegError
from tests.activation.frames import events, opted_in, write_data_dir

IDS = [f"C{i:03d}" for i in range(6)]
GOALS = ["recover_abandoned_carts", "protect_high_value"]


def test_a_stop_after_as_of_in_the_sms_table_blocks_the_later_sends(tmp_path):
    data_dir, seg_dir = write_data_dir(tmp_path, IDS, cart=IDS, vip=IDS)
    late = events(
        [
            ("C001", "2025-06-30 15:00", "opt_out", None),  # as-of day, after midnight
            ("C002", "2025-07-02 19:00", "opt_out", None),
        ]
    )  # between C002's two sends
    pd.concat([opted_in(IDS), late]).to_parquet(data_dir / "sms.parquet", index=False)
    plan, paths = run_plan(seg_dir, data_dir, "2025-06-30", GOALS, tmp_path / "plan", holdout=0.0)
    by = plan.sends.groupby("customer_id")["goal"].agg(list).to_dict()
    assert "C001" not in by and by["C002"] == ["recover_abandoned_carts"]
    assert all(len(by[c]) == 2 for c in IDS if c not in ("C001", "C002"))
    assert plan.campaigns["suppressed_stop_after_as_of"].sum() == 3
    # the end of the sms table bounds the check: C002's STOP is its latest event
    assert plan.consent_known_until == pd.Timestamp("2025-07-02 19:00")
    audience = pd.read_csv(paths["audience recover_abandoned_carts-20250630"], dtype=str)
    assert "consent_checked_at" in audience and "C001" not in set(audience["customer_id"])
    suppressed = pd.read_csv(paths["suppressed.csv"])
    assert suppressed["stop_after_as_of"].sum() == 3


@pytest.fixture
def orders_only(tmp_path):
    data_dir, seg_dir = write_data_dir(tmp_path, IDS, cart=IDS)
    (data_dir / "sms.parquet").unlink()
    return data_dir, seg_dir


MESSAGE = "has no sms table: without it no consent (opt_in / opt_out) is known"


def test_a_directory_without_sms_is_refused_before_anything_is_written(orders_only, tmp_path):
    data_dir, seg_dir = orders_only
    with pytest.raises(SmssegError, match=r"no consent .* nothing is sendable"):
        run_plan(seg_dir, data_dir, "2025-06-30", GOALS, tmp_path / "plan")
    assert not (tmp_path / "plan").exists()


def test_plan_command_on_orders_only_data_says_why_and_exits_1(orders_only, tmp_path):
    data_dir, seg_dir = orders_only
    out = tmp_path / "plan"
    args = ["plan", "--segments", str(seg_dir), "--data", str(data_dir), "--as-of", "2025-06-30",
            "--goal", "recover_abandoned_carts", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert MESSAGE in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not out.exists()
