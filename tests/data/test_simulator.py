"""The retail simulator: determinism, contract validity and the planted ground truth."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import phonenumbers
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

import smsseg.cli.data  # noqa: F401  (registers `smsseg generate`)
from smsseg.cli import app
from smsseg.data import load
from smsseg.data.contract import TABLES
from smsseg.data.simulator import (
    SimulationError,
    experiment_truth,
    generate,
    oracle_churn,
    true_uplift,
)

END = pd.Timestamp("2025-12-31 23:59:59")
AS_OF = pd.Timestamp("2025-10-02")  # churn window (AS_OF, AS_OF + 90 d] ends on the last day


def digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "seed7"
    generate(out, n_customers=5000, seed=7)
    return out


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """20k customers: enough for the experiment readout to have a useful confidence interval."""
    out = tmp_path_factory.mktemp("sim") / "big"
    generate(out, n_customers=20_000, seed=42)
    return out


@pytest.fixture(scope="module")
def con(big) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    for name in (*TABLES, "truth"):
        connection.execute(f"CREATE VIEW {name} AS SELECT * FROM '{big / name}.parquet'")
    return connection


@pytest.fixture(scope="module")
def truth(big) -> pd.DataFrame:
    return pd.read_parquet(big / "truth.parquet")


# --- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_identical_files_via_function_and_cli(small, tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app, ["generate", "--out", str(out), "--customers", "5000", "--seed", "7"]
    )
    assert result.exit_code == 0, result.output
    assert len(digests(small)) == 11
    assert digests(out) == digests(small)


def test_other_seed_differs(small, tmp_path):
    other = generate(tmp_path / "seed8", n_customers=5000, seed=8)
    assert {p.name for p in other} == set(digests(small))
    changed = {
        name
        for name, digest in digests(tmp_path / "seed8").items()
        if digest != digests(small)[name]
    }
    assert changed >= {
        "customers.parquet",
        "orders.parquet",
        "events.parquet",
        "sms.parquet",
        "truth.parquet",
    }


def test_output_replaces_directory_atomically(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    generate(out, n_customers=300, seed=1)
    assert not (out / "stale.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# --- contract ----------------------------------------------------------------------------------


def test_output_validates_and_has_every_table(small):
    data = load(small)
    assert set(data.present) == set(TABLES)
    counts = data.row_counts
    assert counts["customers"] == 5000
    assert 5 < counts["orders"] / 5000 < 15  # ~10 orders per customer
    assert 35 < counts["events"] / 5000 < 90  # ~50-60 events per customer


def test_no_timestamp_after_the_end(con):
    for name, spec in TABLES.items():
        for col in spec.columns:
            if col.kind == "timestamp" and not col.allow_future:
                latest = con.execute(f"SELECT MAX({col.name}) FROM {name}").fetchone()[0]
                assert latest is None or latest <= END, (name, col.name, latest)


def test_order_lines_add_up_to_the_order(con):
    bad = con.execute(
        """SELECT COUNT(*) FROM orders o JOIN (
             SELECT order_id, SUM(quantity * unit_price) AS total FROM order_items GROUP BY 1) i USING (order_id)
           WHERE abs(o.amount - i.total) > 0.011 * 20"""
    ).fetchone()[0]
    assert bad == 0
    mismatched = con.execute(
        "SELECT COUNT(*) FROM orders WHERE (discount_amount > 0) <> (promo_code IS NOT NULL)"
    ).fetchone()[0]
    assert mismatched == 0


def test_profiles_are_realistic(con):
    zones = con.execute(
        "SELECT COUNT(DISTINCT timezone) FROM customers WHERE country = 'US'"
    ).fetchone()[0]
    countries = con.execute("SELECT COUNT(DISTINCT country) FROM customers").fetchone()[0]
    email = con.execute("SELECT AVG((preferred_channel = 'email')::INT) FROM customers").fetchone()[
        0
    ]
    assert zones >= 4 and countries >= 6 and 0.05 < email < 0.3
    phones = [
        r[0]
        for r in con.execute(
            "SELECT phone FROM customers WHERE phone LIKE '+%' LIMIT 500"
        ).fetchall()
    ]
    valid = np.mean([phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones])
    assert valid > 0.97
    missing = con.execute("SELECT AVG((phone IS NULL)::INT) FROM customers").fetchone()[0]
    assert 0.005 < missing < 0.1


# --- behaviour ---------------------------------------------------------------------------------


def test_dead_customers_do_nothing_after_dropout(con):
    after = con.execute(
        """WITH d AS (SELECT customer_id, died_at FROM truth WHERE died_at IS NOT NULL)
           SELECT (SELECT COUNT(*) FROM orders JOIN d USING (customer_id) WHERE ordered_at > died_at)
                + (SELECT COUNT(*) FROM events JOIN d USING (customer_id) WHERE occurred_at > died_at)
                + (SELECT COUNT(*) FROM sms JOIN d USING (customer_id)
                   WHERE occurred_at > died_at AND event_type IN ('clicked', 'opt_in', 'opt_out'))"""
    ).fetchone()[0]
    assert after == 0
    share_dead = con.execute("SELECT AVG((died_at IS NOT NULL)::INT) FROM truth").fetchone()[0]
    assert 0.2 < share_dead < 0.8


def test_sends_only_to_subscribed_customers(con):
    outside = con.execute(
        """WITH c AS (SELECT customer_id, MIN(occurred_at) FILTER (WHERE event_type = 'opt_in') AS i,
                             MIN(occurred_at) FILTER (WHERE event_type = 'opt_out') AS o FROM sms GROUP BY 1)
           SELECT COUNT(*) FROM sms s JOIN c USING (customer_id)
           WHERE s.event_type = 'sent' AND (i IS NULL OR s.occurred_at < i OR s.occurred_at >= o)"""
    ).fetchone()[0]
    assert outside == 0


def test_promotions_and_seasonality_shape_orders(con):
    by_month = dict(
        con.execute("SELECT month(ordered_at), COUNT(*) FROM orders GROUP BY 1").fetchall()
    )
    assert by_month[12] > 1.3 * by_month[2]
    promo_share = con.execute(
        """SELECT AVG((promo_code IS NOT NULL)::INT) FILTER (WHERE deal_seeker),
                  AVG((promo_code IS NOT NULL)::INT) FILTER (WHERE NOT deal_seeker)
           FROM orders JOIN truth USING (customer_id)"""
    ).fetchone()
    assert promo_share[0] > 0.5 and promo_share[0] > 1.8 * promo_share[1]


def test_oracle_separates_churners_from_buyers(con, truth):
    p = oracle_churn(truth, AS_OF, 90)
    bought = {r[0] for r in con.execute(
        f"""SELECT DISTINCT customer_id FROM orders WHERE status = 'completed'
            AND ordered_at > TIMESTAMP '{AS_OF}' AND ordered_at <= TIMESTAMP '{AS_OF}' + INTERVAL 90 DAY"""
    ).fetchall()}  # fmt: skip
    churned = ~p.index.isin(list(bought))
    assert p.between(0, 1).all()
    assert len(p) == (truth["created_at"] <= AS_OF).sum()
    assert roc_auc_score(churned, p) > 0.9
    assert abs(p.mean() - churned.mean()) < 0.02  # calibrated: a probability, not a score


def test_oracle_rejects_bad_horizon(truth):
    with pytest.raises(SimulationError, match="horizon_days=0 must be an integer >= 1"):
        oracle_churn(truth, AS_OF, 0)


def test_discount_uplift_is_heterogeneous_and_positive(truth):
    uplift = true_uplift(truth)
    assert uplift.index.name == "customer_id" and len(uplift) == len(truth)
    assert (uplift >= -1e-12).all() and uplift.mean() > 0.005 and uplift.std() > 0.01
    by_seeker = uplift.groupby(truth["deal_seeker"].to_numpy()).mean()
    assert by_seeker[True] > 3 * by_seeker[False]


def test_opt_out_rises_with_sms_frequency(con):
    rates = con.execute(
        """WITH s AS (SELECT customer_id,
                 COUNT(*) FILTER (WHERE event_type = 'sent' AND message_type = 'promo') AS sends,
                 MIN(occurred_at) FILTER (WHERE event_type = 'opt_in') AS i,
                 COALESCE(MIN(occurred_at) FILTER (WHERE event_type = 'opt_out'), TIMESTAMP '2026-01-01') AS o,
                 MAX((event_type = 'opt_out')::INT) AS stopped
               FROM sms GROUP BY 1),
           f AS (SELECT *, sends / (date_diff('day', i, o) / 7.0) AS per_week,
                   ntile(3) OVER (ORDER BY sends / (date_diff('day', i, o) / 7.0)) AS bin
                 FROM s WHERE i IS NOT NULL AND date_diff('day', i, o) >= 56)
           SELECT bin, AVG(stopped) FROM f GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    low, mid, high = (r[1] for r in rates)
    assert low < mid < high and high > 2 * low


def test_experiments_are_randomized_and_treated_customers_were_sent(con):
    arms = dict(con.execute(
        "SELECT campaign_id || '/' || variant, COUNT(*) FROM assignments GROUP BY 1"
    ).fetchall())  # fmt: skip
    assert set(arms) == {"exp_discount_sms/control", "exp_discount_sms/treatment", "exp_message_ab/A",
                         "exp_message_ab/B"}  # fmt: skip
    assert abs(arms["exp_discount_sms/control"] / arms["exp_discount_sms/treatment"] - 1) < 0.15
    unsent = con.execute(
        """SELECT COUNT(*) FROM assignments a WHERE variant IN ('treatment', 'A', 'B') AND NOT EXISTS (
             SELECT 1 FROM sms s WHERE s.customer_id = a.customer_id AND s.campaign_id = a.campaign_id
             AND s.event_type = 'sent' AND s.occurred_at >= a.assigned_at)"""
    ).fetchone()[0]
    controls_sent = con.execute(
        """SELECT COUNT(*) FROM assignments a JOIN sms s USING (customer_id, campaign_id)
           WHERE a.variant = 'control'"""
    ).fetchone()[0]
    assert unsent == 0 and controls_sent == 0


def _realized(con, campaign: str, outcome_sql: str) -> pd.DataFrame:
    return (
        con.execute(
            f"""SELECT variant, AVG(y) AS rate, COUNT(*) AS n FROM (
              SELECT a.variant, EXISTS ({outcome_sql}) ::INT AS y FROM assignments a
              WHERE a.campaign_id = '{campaign}') GROUP BY 1"""
        )
        .df()
        .set_index("variant")
    )


def _check_within_ci(realized: pd.DataFrame, treat: str, control: str, planted: float) -> float:
    t, c = realized.loc[treat], realized.loc[control]
    diff = t.rate - c.rate
    se = np.sqrt(t.rate * (1 - t.rate) / t.n + c.rate * (1 - c.rate) / c.n)
    assert abs(diff - planted) < 1.96 * se, (diff, planted, se)
    return diff


def test_discount_experiment_recovers_the_planted_effect(con, big):
    row = experiment_truth(big).set_index("campaign_id").loc["exp_discount_sms"]
    assert (row.metric, row.window_days, row.treatment, row.control) == (
        "purchase",
        14,
        "treatment",
        "control",
    )
    realized = _realized(
        con,
        "exp_discount_sms",
        """SELECT 1 FROM orders o WHERE o.customer_id = a.customer_id AND o.status = 'completed'
           AND o.ordered_at > a.assigned_at AND o.ordered_at <= a.assigned_at + INTERVAL 14 DAY""",
    )
    assert row.planted_effect > 0.01
    _check_within_ci(realized, "treatment", "control", row.planted_effect)
    assert abs(realized.loc["control", "rate"] - row.expected_control) < 0.03


def test_message_experiment_recovers_the_planted_click_effect(con, truth):
    row = experiment_truth(truth).set_index("campaign_id").loc["exp_message_ab"]
    realized = _realized(
        con,
        "exp_message_ab",
        """SELECT 1 FROM sms s WHERE s.customer_id = a.customer_id AND s.campaign_id = a.campaign_id
           AND s.event_type = 'clicked' AND s.occurred_at <= a.assigned_at + INTERVAL 3 DAY""",
    )
    assert row.planted_effect > 0.01
    _check_within_ci(realized, "B", "A", row.planted_effect)


# --- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 0}, "n_customers=0 must be an integer >= 1"),
        ({"seed": -1}, "seed=-1 must be an integer >= 0"),
        ({"start": "2025-01-01", "end": "2025-02-01"}, "must span at least 180 days"),
        ({"start": "2024-01-01", "end": "2999-01-01"}, "end=2999-01-01 must be before today"),
        (
            {"start": "yesterday-ish"},
            "start='yesterday-ish' is not a date or timestamp; use ISO 8601",
        ),
    ],
    ids=["customers", "seed", "short", "future", "unparsable"],
)
def test_bad_arguments_are_explained(tmp_path, kwargs, message):
    with pytest.raises(SimulationError, match=message):
        generate(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_cli_reports_bad_arguments_without_traceback(tmp_path):
    result = CliRunner().invoke(
        app, ["generate", "--out", str(tmp_path / "x"), "--end", "2999-01-01"]
    )
    assert result.exit_code == 1
    assert "must be before today" in result.output and "Traceback" not in result.output
