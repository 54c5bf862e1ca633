"""``smsseg flows``: the due sends in the plan format, the state table, one-paragraph errors and
no partial output."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from smsseg.activation.plan import PLAN_COLUMNS
from smsseg.cli import app
from tests.activation.frames import write_data_dir

IDS = [f"c{i}" for i in range(6)]
AS_OF = "2025-04-02T06:00"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data, _ = write_data_dir(tmp_path_factory.mktemp("flows"), IDS)
    events = pd.DataFrame({
        "customer_id": IDS[:3], "occurred_at": pd.Timestamp("2025-04-02 05:30"),
        "event_type": "add_to_cart", "product_id": "p1", "category": "shoes",
    })  # fmt: skip
    events.to_parquet(data / "events.parquet", index=False)
    return data


def run(*args):
    return CliRunner().invoke(app, ["flows", *map(str, args)])


def test_flows_writes_due_sends_and_state(data_dir, tmp_path):
    out = tmp_path / "due"
    result = run("--data", data_dir, "--as-of", AS_OF, "--window", "24h", "--out", out,
                 "--holdout", "0")  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = pd.read_parquet(out / "plan.parquet")
    assert list(plan.columns) == PLAN_COLUMNS
    carts = plan[plan["campaign_id"] == "flow-abandoned_cart-reminder_sms"]
    # carts at 05:30 UTC, customers in California: the 4-hour reminder (09:30 UTC = 02:30 PDT)
    # waits for 08:00 local
    assert sorted(carts["customer_id"]) == IDS[:3]
    assert (carts["send_at_local"].dt.hour == 8).all()
    state = pd.read_parquet(out / "state.parquet")
    assert {"customer_id", "flow", "status", "next_step", "next_step_at"} <= set(state.columns)
    assert (out / "audiences" / "flow-abandoned_cart-reminder_sms.csv").is_file()
    emails = pd.read_csv(out / "emails.csv")
    assert (emails.loc[emails["flow"] == "abandoned_cart", "step"] == "reminder_email").sum() == 3
    assert "wrote due sends" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "soon"], "--window 'soon' must be a positive duration"),
        (["--window", "-1h"], "must be a positive duration"),
        (["--as-of", "12/31/2025"], "--as-of"),
        (["--flows", "missing.toml"], "flow catalogue file missing.toml does not exist"),
        (["--scores", "missing.parquet"], "scores file missing.parquet does not exist"),
    ],
    ids=["window", "negative-window", "as-of", "flows-file", "scores-file"],
)
def test_errors_are_one_paragraph_and_write_nothing(data_dir, tmp_path, args, message):
    out = tmp_path / "due"
    base = {"--data": data_dir, "--as-of": AS_OF, "--out": out}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    result = run(*[x for kv in base.items() for x in kv])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists()


def test_scores_after_the_as_of_are_refused(data_dir, tmp_path):
    from smsseg.provenance import for_data, stamp_parquet

    scores = tmp_path / "scores.parquet"
    pd.DataFrame({"customer_id": IDS, "churn_risk_band": "high"}).to_parquet(scores)
    stamp_parquet(scores, for_data("scores", pd.Timestamp("2025-05-01"), data_dir))
    result = run(
        "--data", data_dir, "--as-of", AS_OF, "--out", tmp_path / "due", "--scores", scores
    )
    assert result.exit_code == 1
    assert "after the flows' as-of" in " ".join(result.output.split())
