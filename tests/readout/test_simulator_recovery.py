"""The readout recovers the effects the simulator planted in its randomized campaigns."""

from __future__ import annotations

import numpy as np
import pytest

from smsseg.data import load, simulator
from smsseg.readout import readout
from smsseg.readout.campaign import campaign_metrics
from smsseg.readout.outcomes import experiment_outcomes

#: Large enough that both planted effects are 4+ standard errors (the last assertion runs).
N_CUSTOMERS = 50_000

#: experiment_truth's metric names → experiment_outcomes' columns
OUTCOME = {"purchase": "purchased", "click": "clicked"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "data"
    simulator.generate(out, n_customers=N_CUSTOMERS, seed=42)
    # The simulator's own tests validate its output; skipping validation here saves seconds.
    return load(out, validate=False), simulator.experiment_truth(out)


def test_every_planted_experiment_has_assignments(generated):
    data, truth = generated
    assert "exp_discount_sms" in set(truth["campaign_id"])
    for row in truth.itertuples():
        outcomes = experiment_outcomes(data, row.campaign_id, int(row.window_days))
        assert len(outcomes) == row.n_assigned
        assert set(outcomes["variant"]) == {row.treatment, row.control}


@pytest.mark.parametrize("campaign_id", ["exp_discount_sms", "exp_message_ab"])
def test_readout_recovers_the_planted_effect(generated, campaign_id):
    data, truth = generated
    assert campaign_id in set(truth["campaign_id"]), f"the simulator plants no {campaign_id}"
    row = truth.set_index("campaign_id").loc[campaign_id]
    outcomes = experiment_outcomes(data, campaign_id, int(row["window_days"]))
    assert outcomes["window_complete"].all()
    metric = OUTCOME[row["metric"]]
    table = readout(outcomes, "variant", row["control"], [metric], alpha=0.01)
    result = table.iloc[0]
    assert result["variant"] == row["treatment"] and result["message"] == ""
    assert result["srm_p_value"] > 0.001  # the simulator randomizes properly
    # The planted average effect lies in the 99 % interval of the estimated one...
    assert result["abs_ci_low"] <= row["planted_effect"] <= result["abs_ci_high"], (table.T, row)
    se = (result["abs_ci_high"] - result["abs_ci_low"]) / (2 * 2.5758)
    # ...the control arm matches the simulator's expected baseline...
    control_se = np.sqrt(
        row["expected_control"] * (1 - row["expected_control"]) / result["control_n"]
    )
    assert abs(result["control_mean"] - row["expected_control"]) < 4 * control_se
    # ...and an effect planted at 4+ standard errors (N_CUSTOMERS is chosen so) is detected.
    assert row["planted_effect"] > 4 * se, (row["planted_effect"], se)
    assert result["significant"]


def test_campaign_metrics_run_on_generated_data(generated):
    data, _ = generated
    report = campaign_metrics(data, attribution_days=7)
    table = report.by_campaign
    assert len(table) > 10 and (table["recipients"] > 0).all()
    rates = table[["ctr", "conversion_rate", "opt_out_rate", "unsubscribe_rate"]]
    assert ((rates >= 0) & (rates <= 1) | rates.isna()).all().all()
    assert (table["revenue_per_sms"] >= 0).all()
