"""``smsseg plan`` end to end on a small data directory and segments folder."""

import pandas as pd
import pytest
from typer.testing import CliRunner

import smsseg.cli.activation  # noqa: F401  (registers the commands)
from smsseg.cli.app import app
from tests.activation.frames import write_data_dir

IDS = [f"C{i:03d}" for i in range(20)]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data_dir, seg_dir = write_data_dir(root, IDS, cart=IDS[:10], vip=IDS[5:15], dormant=IDS[18:])
    return root, data_dir, seg_dir


def test_plan_command_writes_the_plan_and_says_where(folders):
    root, data_dir, seg_dir = folders
    out = root / "plan"
    args = ["plan", "--segments", str(seg_dir), "--data", str(data_dir), "--as-of", "2025-06-30",
            "--goal", "recover_abandoned_carts", "--goal", "protect_high_value",
            "--holdout", "0.2", "--seed", "3", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "audiences" in result.output and str(out) in result.output
    plan = pd.read_parquet(out / "plan.parquet")
    carts = plan[plan["goal"] == "recover_abandoned_carts"]
    assert len(carts) == 10 and carts["holdout"].sum() == 2
    audience = pd.read_csv(out / "audiences" / "recover_abandoned_carts-20250630.csv", dtype=str)
    assert len(audience) == 8 and audience["phone"].str.startswith("+1").all()
    # the dormant VIPs were left to the sunset flow
    suppressed = pd.read_csv(out / "suppressed.csv")
    assert set(suppressed.loc[suppressed["customer_id"].isin(IDS[18:]), "reason"]) <= {"sunset"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--goal": "win_everything"}, "unknown goal 'win_everything'"),
        ({"--holdout": "1.5"}, "holdout=1.5 must be >= 0 and < 1"),
        ({"--as-of": "last tuesday"}, "--as-of='last tuesday' is not a date or timestamp"),
        ({"--segments": "/nonexistent"}, "membership.parquet does not exist"),
    ],
    ids=["unknown-goal", "holdout", "as-of", "segments"],
)
def test_plan_command_errors_are_one_paragraph(folders, change, message):
    root, data_dir, seg_dir = folders
    opts = {"--segments": str(seg_dir), "--data": str(data_dir), "--as-of": "2025-06-30",
            "--goal": "recover_abandoned_carts", "--out": str(root / "bad")} | change  # fmt: skip
    result = CliRunner().invoke(app, ["plan", *[x for kv in opts.items() for x in kv]])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (root / "bad").exists()
