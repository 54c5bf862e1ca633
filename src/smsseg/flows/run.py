"""Flows wired to files: a data directory (and scores files) in, a plan folder with the state out.

Used by ``smsseg flows``; the rules live in the pure modules.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from smsseg import config
from smsseg._io import atomic_path
from smsseg.activation.consent import as_timestamp
from smsseg.activation.inputs import apply_catalogue, default_catalogue, load_policy, require_sms
from smsseg.activation.plan import write_plan
from smsseg.errors import SmssegError
from smsseg.flows.backtest import CONVERSION_DAYS, DEFAULT_CADENCE
from smsseg.flows.catalogue import FlowCatalogue, load_flows
from smsseg.flows.due import FlowRun, flow_plan
from smsseg.flows.triggers import FlowInputs, empty_inputs

#: Customers read and replayed together by ``smsseg flows backtest`` (bounds its memory).
SHARD_SIZE = 25_000

_QUERIES = {
    "customers": "SELECT customer_id, created_at, phone, country, region, timezone, "
    "preferred_channel FROM customers",
    "orders": "SELECT customer_id, ordered_at, status FROM orders WHERE ordered_at <= {t}",
    "events": "SELECT customer_id, occurred_at, event_type, product_id FROM events "
    "WHERE occurred_at <= {t} AND event_type IN ({types})",
    # consent events whenever they happened (checked at each send's time), the rest to the as-of
    "sms": "SELECT customer_id, occurred_at, event_type, campaign_id, message_type FROM sms "
    "WHERE event_type IN ('opt_in', 'opt_out') OR occurred_at <= {t}",
    "loyalty": "SELECT customer_id, enrolled_at FROM loyalty WHERE enrolled_at <= {t}",
    "products": "SELECT product_id, restocked_at FROM products",
}


def _input_queries(data, cutoff: pd.Timestamp, catalogue: FlowCatalogue) -> dict[str, str]:
    """The SQL of each input table the data has: only what the flows read, rows up to ``cutoff``."""
    types = {t for f in catalogue.flows for t in f.trigger.event_types} | {"add_to_cart"}
    if any(f.trigger.kind == "dormancy" for f in catalogue.flows):
        from smsseg.data.contract import EVENT_TYPES

        types |= set(EVENT_TYPES)
    literal = f"TIMESTAMP '{cutoff.isoformat(sep=' ')}'"
    quoted = ", ".join(f"'{t}'" for t in sorted(types))
    return {
        name: query.format(t=literal, types=quoted)
        for name, query in _QUERIES.items()
        if name == "customers" or data.has(name)
    }


def inputs_from_data(
    data, as_of: object, catalogue: FlowCatalogue, scores=(), shard: tuple[int, int] | None = None
) -> FlowInputs:
    """The :class:`FlowInputs` of a loaded :class:`~smsseg.data.Dataset` as of ``as_of``.

    Only what the flows read is pulled out of DuckDB: the event types of the catalogue's
    triggers and exits (and the engagement events dormancy needs), rows up to ``as_of``.
    ``shard=(k, n)``: only the customers whose id hashes to ``k`` modulo ``n`` (DuckDB's
    ``hash``; :class:`ShardedInputs` reads many shards in one pass).
    """
    cutoff = as_timestamp(as_of)
    frames = empty_inputs()
    for name, sql in _input_queries(data, cutoff, catalogue).items():
        if shard is not None and name != "products":
            sql = f"SELECT * FROM ({sql}) WHERE {_shard_of(shard[1])} = {int(shard[0])}"
        frames[name] = data.con.execute(sql).df()
    return _with_scores(frames, scores, cutoff, shard is not None)


def _with_scores(frames: dict, scores, cutoff: pd.Timestamp, sharded: bool) -> FlowInputs:
    frames["scores"] = read_scores(scores, cutoff)
    if sharded and len(frames["scores"]):
        ids = set(frames["customers"]["customer_id"].astype(str))
        frames["scores"] = frames["scores"][frames["scores"]["customer_id"].astype(str).isin(ids)]
    return FlowInputs(**frames)


def _shard_of(n: int) -> str:
    """SQL of a row's shard: its customer id hashed, modulo ``n``."""
    return f"hash(CAST(customer_id AS VARCHAR)) % {int(n)}"


class ShardedInputs:
    """The flows' inputs written once to Parquet partitioned by shard, then read shard by shard.

    Why: filtering the whole history by a hash for every shard scans every table once per shard
    (14 s a shard on a million customers); one ``COPY ... PARTITION_BY`` pass is a single scan,
    and each shard then reads only its own files. ``folder`` is a temporary one the caller owns.
    """

    def __init__(self, data, as_of: object, catalogue: FlowCatalogue, n: int, folder, scores=()):
        self.data, self.folder = data, Path(folder)
        self.cutoff = as_timestamp(as_of)
        self.scores = scores
        self.queries = _input_queries(data, self.cutoff, catalogue)
        self.empty: dict[str, pd.DataFrame] = {}
        for name, sql in self.queries.items():
            if name == "products":
                continue
            self.empty[name] = data.con.execute(f"SELECT * FROM ({sql}) LIMIT 0").df()
            target = (self.folder / name).as_posix().replace("'", "''")
            data.con.execute(
                f"COPY (SELECT *, {_shard_of(n)} AS shard FROM ({sql})) TO '{target}' "
                "(FORMAT PARQUET, PARTITION_BY (shard))"
            )

    def read(self, k: int) -> FlowInputs:
        """The inputs of shard ``k`` (the customers whose id hashes to ``k``)."""
        frames = empty_inputs()
        for name, sql in self.queries.items():
            part = self.folder / name / f"shard={int(k)}"
            if name == "products":
                frames[name] = self.data.con.execute(sql).df()
            elif part.is_dir():
                files = (part / "*.parquet").as_posix().replace("'", "''")
                frames[name] = self.data.con.execute(f"SELECT * FROM read_parquet('{files}')").df()
            else:  # no row of this table in the shard
                frames[name] = self.empty[name]
        return _with_scores(frames, self.scores, self.cutoff, True)


def flow_assignments(data) -> pd.DataFrame | None:
    """The assignments of flows (campaign ``flow-<flow>``), ``None`` without the table."""
    if not data.has("assignments"):
        return None
    return data.con.execute(
        "SELECT CAST(customer_id AS VARCHAR) AS customer_id, campaign_id, variant, assigned_at "
        "FROM assignments WHERE campaign_id LIKE 'flow-%'"
    ).df()


def read_scores(paths: Sequence[str | Path], as_of: pd.Timestamp) -> pd.DataFrame:
    """Scores files of ``smsseg score``, each dated by its ``smsseg.as_of`` metadata.

    A file scored after ``as_of`` is refused: its churn bands and dates would leak the future.
    """
    from smsseg.provenance import read_provenance

    parts = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise SmssegError(f"scores file {path} does not exist (write it with smsseg score)")
        found = read_provenance(path)
        if found is None or found.as_of is None:
            raise SmssegError(
                f"scores file {path} has no smsseg.as_of metadata: the flows need to know when it "
                "was scored (write it with smsseg score)"
            )
        scored_at = as_timestamp(found.as_of)
        if scored_at > as_of:
            raise SmssegError(
                f"scores file {path} is as of {scored_at}, after the flows' as-of {as_of}: "
                "it would use the future"
            )
        parts.append(pd.read_parquet(path).assign(scored_at=scored_at))
    if not parts:
        return empty_inputs()["scores"]
    return pd.concat(parts, ignore_index=True)


def _setup(data_dir, flows_path, policy_path, catalogue_path):
    """The flow catalogue, the activation policy, the dormancy window and the loaded data."""
    from smsseg.data.load import load

    catalogue = load_flows(flows_path)
    segments = default_catalogue(catalogue_path)
    policy, _ = apply_catalogue(load_policy(policy_path), segments)
    dormant_days = int(segments["dormant"].thresholds["days"]) if segments is not None else 120
    data = load(data_dir)
    require_sms(data)
    return catalogue, policy, dormant_days, data


def run_flows(
    data_dir: str | Path,
    as_of: object,
    window: pd.Timedelta,
    out: str | Path,
    *,
    scores: Sequence[str | Path] = (),
    flows_path: str | Path | None = None,
    policy_path: str | Path | None = None,
    catalogue_path: str | Path | None = None,
    plan_dir: str | Path | None = None,
    holdout: float = 0.1,
    seed: int = config.DEFAULT_SEED,
) -> tuple[FlowRun, Path]:
    """Read the data, compute the due sends and the state, write them to ``out`` atomically.

    Files: those of :func:`~smsseg.activation.plan.write_plan` (``plan.parquet``,
    ``audiences/``, ``suppressed.csv``, ...), plus ``state.parquet`` (one row per customer, flow
    and instance) and ``emails.csv`` (email steps for the email platform).
    """
    catalogue, policy, dormant_days, data = _setup(
        data_dir, flows_path, policy_path, catalogue_path
    )
    cutoff = as_timestamp(as_of)
    other = None
    if plan_dir is not None:
        path = Path(plan_dir) / "plan.parquet"
        if not path.is_file():
            raise SmssegError(
                f"{path} does not exist: --plan must be the output folder of smsseg plan"
            )
        other = pd.read_parquet(path)
    known = data.con.execute("SELECT max(occurred_at) FROM sms").fetchall()[0][0]
    result = flow_plan(
        inputs_from_data(data, cutoff, catalogue, scores),
        cutoff,
        window,
        catalogue,
        policy,
        holdout=holdout,
        seed=seed,
        dormant_days=dormant_days,
        other_sends=other,
        known_until=known,
    )
    out = Path(out)
    with atomic_path(out) as tmp:
        write_plan(result.plan, tmp)
        result.state.to_parquet(tmp / "state.parquet", index=False)
        result.emails.to_csv(tmp / "emails.csv", index=False)
    return result, out


def run_backtest(
    data_dir: str | Path,
    start: object,
    end: object,
    out: str | Path,
    *,
    cadence: pd.Timedelta = DEFAULT_CADENCE,
    scores: Sequence[str | Path] = (),
    flows_path: str | Path | None = None,
    policy_path: str | Path | None = None,
    catalogue_path: str | Path | None = None,
    holdout: float = 0.1,
    conversion_days: float = CONVERSION_DAYS,
    shard_size: int = SHARD_SIZE,
    progress=None,
):
    """Replay the flows over ``(start, end]`` on a data directory; write the results to ``out``.

    Customers are read and replayed ``shard_size`` at a time (:func:`replay_shard`), so memory
    is bounded by a shard whatever the size of the customer base; ``progress(k, n)`` is called
    after each shard. Flows randomized in the ``assignments`` table get a measured effect.
    """
    from smsseg.flows.backtest import (
        _check_period,
        _effects,
        combine,
        replay_shard,
        write_backtest,
    )
    from smsseg.flows.triggers import check_inputs

    if shard_size < 1:
        raise SmssegError(f"shard_size={shard_size} must be >= 1")
    catalogue, policy, dormant_days, data = _setup(
        data_dir, flows_path, policy_path, catalogue_path
    )
    start, end = _check_period(start, as_timestamp(end, "--to"), cadence, holdout)
    customers = data.con.execute("SELECT count(*) FROM customers").fetchall()[0][0]
    n = max(1, -(-int(customers) // shard_size))
    shards = []
    with tempfile.TemporaryDirectory(prefix="smsseg-flows-") as tmp:
        sharded = ShardedInputs(data, end, catalogue, n, tmp, scores) if n > 1 else None
        for k in range(n):
            raw = sharded.read(k) if sharded else inputs_from_data(data, end, catalogue, scores)
            inputs = check_inputs(raw)
            del raw
            shards.append(replay_shard(inputs, start, end, catalogue, policy, cadence=cadence,
                                       holdout=holdout, dormant_days=dormant_days))  # fmt: skip
            del inputs
            if progress is not None:
                progress(k + 1, n)
    assignments = flow_assignments(data)
    effects = None
    if assignments is not None and len(assignments):
        ids = assignments["customer_id"].unique()
        orders = data.con.execute(
            "SELECT CAST(customer_id AS VARCHAR) AS customer_id, ordered_at, status FROM orders "
            f"WHERE ordered_at > TIMESTAMP '{start.isoformat(sep=' ')}' "
            f"AND ordered_at <= TIMESTAMP '{end.isoformat(sep=' ')}'"
        ).df()
        orders = orders[orders["customer_id"].isin(ids)]
        orders["ordered_at"] = orders["ordered_at"].astype("datetime64[ns]")
        assignments["assigned_at"] = assignments["assigned_at"].astype("datetime64[ns]")
        effects = _effects(assignments, orders, catalogue, start, end, conversion_days)
    result = combine(shards, start, end, catalogue, effects)
    return result, write_backtest(result, out)
