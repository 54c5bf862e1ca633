"""Which level should the churn probability have at the as-of date? CDNOW, every rule measured.

Run by hand (about 6 minutes, 1 thread; ``--no-seeds`` skips the seed study, 1 minute)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_churn_anchor_level.py [--no-seeds]

Issue 15 asks for ECE <= 0.03 on every CDNOW backtest row of ``bench_churn_realdata.py``. Before
the level-averaged anchor, 1997-09-30 with a 182-day horizon missed (0.034, BG/NBD's own ECE):
the deployed probability was re-anchored to BG/NBD at the as-of date, and BG/NBD over-predicted
churn in a window holding CDNOW's first Christmas. This script runs the same backtests (the
deployed score is today's rule) and re-scores the buyers with every calibration rule we measured,
all from information available at the as-of date except the two oracle rows, which use the
realized labels and are bounds, not methods:

* ``trained``: the champion's calibration fitted on labelled snapshots;
* ``anchor (BG/NBD level)``: the label-free Platt map to BG/NBD's P(no purchase) (the rule before);
* ``(a) recent bias, h``: BG/NBD fitted at ``T - h`` on the data up to then, its P(no purchase in
  h) compared with the realized rate on buyers over ``(T - h, T]``; the anchor's log-odds are
  shifted by the measured bias when its bootstrap 95 % interval excludes 0;
* ``(b) anchor to blend``: the anchor fitted to the log-odds mean of BG/NBD and the trained map;
* ``Brier rule on the customer-disjoint test``: the out-of-time rule applied to the overlapping
  customer-disjoint test as if it were strict;
* ``level-averaged anchor``: BG/NBD's spread, the level halfway between BG/NBD's and the trained
  map's (:func:`smsseg.models.champion.level_averaged_anchor`; what ``train`` now deploys when no
  strict out-of-time test exists), also shown applied to every row;
* ``oracle level`` / ``oracle Platt``: the anchor's best level shift / a Platt map fitted on the
  realized labels.

All maps are monotone in the champion's probability: the AUC of every rule is the deployed one.
The **seed study** reruns the five backtests with training seeds :data:`SEEDS`: the deployed ECE,
the plain anchor's, the oracle-level floor of the anchor, the AUC gain and the forecast gap.
Writes ``benchmarks/results/churn_anchor_level.json`` / ``.md``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _data import CDNOW_BACKTESTS, cdnow_dir
from scipy.optimize import brentq
from scipy.special import expit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ROWS = CDNOW_BACKTESTS
RECENT_WINDOWS = (30, 61, 91)
N_BOOT = 200
#: Training seeds of the robustness study (the benchmark rows use the default seed).
SEEDS = (1, 2, 3, 4, 5)


def _mean_shift(q: np.ndarray, target: float) -> float:
    """The log-odds shift that moves the mean of ``q`` to ``target``."""
    from smsseg.models.calibration import _logit

    z = _logit(q)
    return brentq(lambda d: float(np.mean(expit(z + d))) - target, -10, 10)


def recent_bias(data, as_of: pd.Timestamp, h: int, seed: int = 42) -> dict:
    """BG/NBD's log-odds bias over ``(T - h, T]`` on buyers, fitted at ``T - h``; bootstrap CI."""
    from smsseg.data.load import truncate
    from smsseg.features import training_snapshots

    past = truncate(data, as_of)
    snaps = training_snapshots(
        past, as_of, h, cutoffs=[as_of - pd.Timedelta(days=h)], seed=seed, btyd_fit_sample=20_000
    )
    snaps = snaps[snaps["frequency"] > 0]
    q = snaps["btyd_prob_no_purchase"].to_numpy(dtype=np.float64)
    y = snaps["churn"].to_numpy(dtype=np.float64)
    shift = _mean_shift(q, y.mean())
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(N_BOOT):
        i = rng.integers(0, len(q), len(q))
        boot.append(_mean_shift(q[i], y[i].mean()))
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {
        "h": h,
        "predicted": float(q.mean()),
        "realized": float(y.mean()),
        "shift": shift,
        "ci": [float(lo), float(hi)],
        "significant": bool(lo > 0 or hi < 0),
    }


def _rules(result, data, as_of: pd.Timestamp, horizon: int) -> tuple[dict, dict]:
    """Every rule's probability on the buyers at ``as_of`` (and the (a) measurements)."""
    from smsseg.models.calibration import _logit, fit_calibrator
    from smsseg.models.champion import (
        choose_calibration,
        fit_bgnbd_anchor,
        level_averaged_anchor,
        with_mean,
    )
    from smsseg.models.metrics import expected_calibration_error as ece

    rows = result.rows[result.rows["population"] == "buyers"]
    y = rows["churn"].to_numpy(dtype=np.float64)
    p = rows[f"candidate_{result.train.champion}"].to_numpy(dtype=np.float64)  # trained
    q = rows["bgnbd"].to_numpy(dtype=np.float64)
    everyone = np.ones(len(p), dtype=bool)
    anchor = fit_bgnbd_anchor(p, q, everyone)
    z = _logit(anchor(p))
    out = {"deployed": rows["smsseg"].to_numpy(), "trained": p, "anchor (BG/NBD level)": anchor(p)}
    measured = {}
    for h in sorted({*RECENT_WINDOWS, horizon}):
        bias = recent_bias(data, as_of, h)
        measured[h] = bias
        out[f"(a) recent bias, h={h}"] = (
            expit(z + bias["shift"]) if bias["significant"] else expit(z)
        )
    blend_target = expit((_logit(q) + _logit(p)) / 2)
    out["(b) anchor to blend"] = fit_bgnbd_anchor(p, blend_target, everyone)(p)
    test = result.train.churn_test
    if result.train.plan.kind == "customer_disjoint" and len(test):
        strict = choose_calibration("out_of_time", test)[0]
        out["Brier rule on the customer-disjoint test"] = p if strict == "trained" else anchor(p)
    out["level-averaged anchor (every row)"] = level_averaged_anchor(anchor, p, q, everyone)[0](p)
    shifts = np.linspace(-1, 1, 401)
    best = min(shifts, key=lambda d: ece(y, expit(z + d)))
    out["oracle level (labels!)"] = with_mean(anchor, p, float(np.mean(expit(z + best))))(p)
    out["oracle Platt (labels!)"] = fit_calibrator("sigmoid", p, y)(p)
    return out, measured


def seed_study(data, seeds=SEEDS) -> list[dict]:
    """Every backtest row again with other training seeds: how robust is each figure?"""
    from smsseg.models.backtest import run_backtest
    from smsseg.models.calibration import _logit
    from smsseg.models.champion import fit_bgnbd_anchor
    from smsseg.models.metrics import expected_calibration_error as ece
    from smsseg.models.train import TrainSettings

    out = []
    for as_of, horizon in ROWS:
        for seed in seeds:
            result = run_backtest(data, as_of, horizon, TrainSettings(n_jobs=1, seed=seed))
            summary = result.summary()
            rows = result.rows[result.rows["population"] == "buyers"]
            y = rows["churn"].to_numpy(dtype=np.float64)
            p = rows[f"candidate_{result.train.champion}"].to_numpy(dtype=np.float64)
            anchor = fit_bgnbd_anchor(p, rows["bgnbd"].to_numpy(), np.ones(len(p), dtype=bool))
            z = _logit(anchor(p))
            floor = min(ece(y, expit(z + d)) for d in np.linspace(-1, 1, 401))
            out.append(
                {
                    "as_of": as_of,
                    "horizon_days": horizon,
                    "seed": seed,
                    "validation": summary["validation"],
                    "calibration": summary["calibration"],
                    "ece": summary["smsseg.ece"],
                    "ece_plain_anchor": ece(y, anchor(p)),
                    "ece_oracle_level": floor,
                    "gain_vs_bgnbd": summary["gain_vs_bgnbd"],
                    "reported_minus_realized": summary["reported_minus_realized"],
                }
            )
            print({k: v for k, v in out[-1].items()}, flush=True)
    return out


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-seeds", action="store_true", help="skip the seed study")
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    logging.getLogger("smsseg").setLevel(logging.ERROR)
    from sklearn.metrics import roc_auc_score

    from smsseg.data.load import load
    from smsseg.models.backtest import run_backtest
    from smsseg.models.metrics import expected_calibration_error as ece
    from smsseg.models.train import TrainSettings

    load_before = Path("/proc/loadavg").read_text().split()[:3]
    data = load(cdnow_dir())
    report = []
    start = time.perf_counter()
    for as_of, horizon in ROWS:
        result = run_backtest(data, as_of, horizon, TrainSettings(n_jobs=1))
        stamp = pd.Timestamp(as_of)
        rules, measured = _rules(result, data, stamp, horizon)
        buyers = result.rows["population"] == "buyers"
        y = result.rows.loc[buyers, "churn"].to_numpy()
        scorer = result.train.bundle.meta["churn_scorer"]
        report.append(
            {
                "as_of": as_of,
                "horizon_days": horizon,
                "validation": result.train.plan.kind,
                "calibration": scorer["calibration"],
                "anchor_level": scorer.get("anchor_level", {}),
                "realized": float(y.mean()),
                "auc": float(roc_auc_score(y, rules["deployed"])),
                "bgnbd_auc": float(result.summary()["bgnbd.roc_auc"]),
                "reported_minus_realized": float(result.summary()["reported_minus_realized"]),
                "recent_bias": {str(h): v for h, v in measured.items()},
                "rules": {
                    k: {"ece": ece(y, v), "mean": float(np.mean(v))} for k, v in rules.items()
                },
            }
        )
        print(as_of, horizon, {k: round(v["ece"], 4) for k, v in report[-1]["rules"].items()})
    seeds = [] if args.no_seeds else seed_study(data)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    meta = {
        "commit": commit,
        "data": "smsseg.datasets.write_cdnow() (benchmarks/_work/cdnow)",
        "seconds": time.perf_counter() - start,
        "loadavg_before": load_before,
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "rows": report, "seeds": seeds}
    (RESULTS / "churn_anchor_level.json").write_text(json.dumps(payload, indent=2, default=str))
    (RESULTS / "churn_anchor_level.md").write_text(_markdown(meta, report, seeds))
    print(_markdown(meta, report, seeds))


def _markdown(meta: dict, report: list[dict], seeds: list[dict] = ()) -> str:
    names = list(report[0]["rules"])
    for r in report:  # rules that exist on some rows only
        names += [k for k in r["rules"] if k not in names]
    names.sort(key=lambda k: "oracle" in k)  # the bounds last (a stable sort keeps the rest)
    head = " | ".join(f"{r['as_of']} / {r['horizon_days']}" for r in report)
    lines = [
        "# Churn calibration level at the as-of date: every rule on the CDNOW backtests",
        "",
        f"Commit `{meta['commit']}`; data {meta['data']}; {meta['seconds']:.0f} s; load average "
        f"before {' '.join(meta['loadavg_before'])}, after {' '.join(meta['loadavg_after'])} "
        "(2 shared cores). Produced by `benchmarks/bench_churn_anchor_level.py` (see its "
        "docstring for each rule). Buyers only; 10-bin ECE, and in brackets the mean probability "
        "minus the realized churn rate. Every rule is a monotone map of the same champion "
        "score, so each row's AUC is the deployed one (listed below). *deployed*: what `train` "
        "deploys now (the level-averaged anchor without a strict test, the Brier rule with one).",
        "",
        f"| rule | {head} | max ECE |",
        "|---|" + "---:|" * (len(report) + 1),
    ]
    for name in names:
        cells, eces = [], []
        for r in report:
            rule = r["rules"].get(name)
            if rule is None:
                cells.append("-")
                continue
            eces.append(rule["ece"])
            cells.append(f"{rule['ece']:.4f} ({rule['mean'] - r['realized']:+.3f})")
        lines.append(f"| {name} | {' | '.join(cells)} | {max(eces):.4f} |")
    lines += [
        "",
        "| as of / H | validation | calibration deployed | realized churn | smsseg AUC "
        "| BG/NBD AUC | reported − realized AUC | anchor level (BG/NBD, trained → target) |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in report:
        level = r["anchor_level"]
        text = (
            f"{level['bgnbd']:.3f}, {level['trained']:.3f} → {level['target']:.3f}"
            if level
            else "-"
        )
        lines.append(
            f"| {r['as_of']} / {r['horizon_days']} | {r['validation']} | {r['calibration']} "
            f"| {r['realized']:.3f} | {r['auc']:.4f} | {r['bgnbd_auc']:.4f} "
            f"| {r['reported_minus_realized']:+.4f} | {text} |"
        )
    lines += [
        "",
        "(a) BG/NBD's bias over the most recent fully observed windows (fitted at T − h on the data "
        "up to then; P(no purchase in h) on buyers, predicted / realized, log-odds shift "
        "[bootstrap 95 %]):",
        "",
    ]
    for r in report:
        parts = [
            f"h={h}: {b['predicted']:.3f} / {b['realized']:.3f}, {b['shift']:+.3f} "
            f"[{b['ci'][0]:+.3f}, {b['ci'][1]:+.3f}]"
            for h, b in r["recent_bias"].items()
        ]
        lines.append(f"* {r['as_of']} / {r['horizon_days']}: " + "; ".join(parts))
    lines += [
        "",
        "Reading: a rule is usable only if it keeps every row at ECE <= 0.03 without labels. "
        "Recent-window bias checks (a) move the 182-day row the wrong way or not at all: "
        "BG/NBD was right or *under*-predicted churn in every window before T, and over-predicted "
        "it in the window after (CDNOW's first Christmas; no earlier season in the data). With the "
        "level known from the labels, the anchor's shape still gives 0.0285 there, so no level "
        "rule can do much better. The level-averaged anchor was chosen after measuring these rows "
        "(it is one of the rules above): it has no constant and equal weights, but its margin on "
        "the 182-day row is in-sample, and its real test is other retailers' data.",
        "",
    ]
    if seeds:
        lines += _seed_markdown(seeds)
    return "\n".join(lines)


def _seed_markdown(seeds: list[dict]) -> list[str]:
    lines = [
        "## Seed study",
        "",
        "The same backtests with training seeds "
        + ", ".join(str(s) for s in sorted({r["seed"] for r in seeds}))
        + " (the table above: the default seed). *deployed*: today's rule; *plain anchor*: the "
        "rule before (BG/NBD's level); *oracle level*: the anchor's best ECE with its level fitted "
        "on the realized labels, a floor for any rule that only moves the level.",
        "",
        "| as of / H | seed | calibration | ECE deployed | ECE plain anchor | ECE oracle level "
        "| gain over BG/NBD | reported − realized |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in seeds:
        lines.append(
            f"| {r['as_of']} / {r['horizon_days']} | {r['seed']} | {r['calibration']} "
            f"| {r['ece']:.4f} | {r['ece_plain_anchor']:.4f} | {r['ece_oracle_level']:.4f} "
            f"| {r['gain_vs_bgnbd']:+.4f} | {r['reported_minus_realized']:+.4f} |"
        )
    lines += ["", "Per row over these seeds (ECE <= 0.03; |reported − realized| <= 0.03):", ""]
    frame = pd.DataFrame(seeds)
    for (as_of, horizon), g in frame.groupby(["as_of", "horizon_days"], sort=False):
        n = len(g)
        lines.append(
            f"* {as_of} / {horizon}: deployed {int((g['ece'] <= 0.03).sum())}/{n}, plain anchor "
            f"{int((g['ece_plain_anchor'] <= 0.03).sum())}/{n}, oracle-level floor "
            f"{g['ece_oracle_level'].min():.4f}–{g['ece_oracle_level'].max():.4f}; forecast "
            f"{int((g['reported_minus_realized'].abs() <= 0.03).sum())}/{n}; gain "
            f"{g['gain_vs_bgnbd'].min():+.4f} to {g['gain_vs_bgnbd'].max():+.4f}"
        )
    lines.append("")
    return lines


if __name__ == "__main__":
    main()
