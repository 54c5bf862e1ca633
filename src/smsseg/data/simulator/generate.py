"""``generate``: simulate customers chunk by chunk and stream the tables to Parquet."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from smsseg import config
from smsseg._io import atomic_path
from smsseg.data.simulator.calendar import Calendar, SimulationError, build_calendar, parse_period
from smsseg.data.simulator.catalog import Catalog, build_catalog
from smsseg.data.simulator.customers import draw_cohort
from smsseg.data.simulator.events import Events, browse_sessions, clamp, click_events, order_events
from smsseg.data.simulator.flowreplay import (
    REPLAYED,
    flow_message_types,
    hold_out,
    out_of_quiet_hours,
    replay_cart,
)
from smsseg.data.simulator.lifecycle import resolve
from smsseg.data.simulator.loyalty import enrol
from smsseg.data.simulator.messages import (
    FLOW_SENDS_ORDER,
    FLOWS,
    MESSAGE_TYPES,
    MT,
    Sends,
    campaign_names,
    deliverable,
    flow_sends,
    sms_log,
)
from smsseg.data.simulator.orders import return_times, simulate_orders
from smsseg.data.simulator.params import PARAMS, Params
from smsseg.data.simulator.planted import planted_effects
from smsseg.data.simulator.tables import (
    assignments_table,
    customer_ids,
    customers_table,
    events_table,
    loyalty_events_table,
    loyalty_table,
    order_tables,
    sms_table,
    truth_table,
)  # fmt: skip
from smsseg.data.simulator.util import last_per_owner

CHUNK_TABLES = (
    "customers",
    "orders",
    "order_items",
    "events",
    "sms",
    "loyalty",
    "loyalty_events",
    "assignments",
    "truth",
)
STATIC_TABLES = ("products", "promotions")
WRITE_OPTIONS = {"compression": "zstd", "store_schema": False}


def simulate_chunk(
    index: int,
    first: int,
    n: int,
    seed: int,
    calendar: Calendar,
    catalog: Catalog,
    width: int,
    first_order: int,
    p: Params = PARAMS,
    flows: bool = False,
) -> dict[str, pa.Table]:
    """All tables of customers ``first .. first + n - 1`` (independent of other chunks).

    ``flows``: replay the lifecycle flows with holdouts and a planted response (flowreplay.py).
    """
    rng = np.random.default_rng([seed, 0x5EED, index])
    period, n_days = calendar.period, calendar.period.n_days
    c = draw_cohort(rng, first, n, calendar, p)
    life = resolve(rng, c, calendar, p)
    orders = simulate_orders(rng, c, life, calendar, catalog, p)
    # a stream of its own: the return dates, added later, leave the other draws as they were
    returns_rng = np.random.default_rng([seed, 0x5EED, index, 1])
    if not flows:
        orders.returned = return_times(returns_rng, orders, n_days)
    browse, sessions = browse_sessions(rng, c, life, calendar, catalog, p)
    replay = None
    if flows:  # streams of their own, so flows=False output is unchanged
        flow_rng = np.random.default_rng([seed, 0x5EED, index, 2])
        u = flow_rng.random((n, len(FLOWS)))
        cart = FLOWS.index("flow-abandoned-cart")
        replay = replay_cart(flow_rng, u[:, cart], c, life, orders, sessions, calendar, catalog, p)
        orders = replay.orders
        orders.returned = return_times(returns_rng, orders, n_days)
    restock = catalog.restock_after(sessions.wish_product, sessions.wish_t)
    loyalty = enrol(rng, c, life, orders, period, p)
    last_activity = np.maximum(
        last_per_owner(orders.owner, orders.t, n, -np.inf),
        last_per_owner(sessions.owner, sessions.t, n, -np.inf),
    )
    last_activity = np.maximum(last_activity, c.signup)
    cart_sends = None if replay is None else replayed_cart_sends(replay, calendar)
    sends = flow_sends(rng, c, life, orders, sessions, loyalty.enrolled, calendar, restock,
                       cart_sends)  # fmt: skip
    held = None
    if replay is not None:
        sends, held = replayed_sends(sends, u, c, life, last_activity, calendar, p)
    log = sms_log(rng, c, life, sends, last_activity, calendar, p)
    clicks = click_events(rng, log.click_owner, log.click_t, log.click_category, c, catalog)
    events = clamp(Events.concat([order_events(rng, orders), browse, clicks]), c, life, n_days)
    ids = customer_ids(first, n, width)
    order_table, items_table = order_tables(
        orders, period, ids, first_order, pa.array(calendar.promos.promo_id), catalog
    )
    return {
        "customers": customers_table(rng, c, period, ids),
        "orders": order_table,
        "order_items": items_table,
        "events": events_table(events, period, ids, catalog),
        "sms": sms_table(log, period, ids, pa.array(campaign_names(calendar, flows)),
                         None if not flows else pa.array(flow_message_types(MESSAGE_TYPES))),
        "loyalty": loyalty_table(loyalty, period, ids),
        "loyalty_events": loyalty_events_table(loyalty.ledger, period, ids),
        "assignments": assignments_table(life, period, ids, held),
        "truth": truth_table(c, life, planted_effects(c, life, calendar, p), calendar, ids, seed,
                             None if replay is None else replay.truth),
    }  # fmt: skip


def replayed_cart_sends(replay, calendar: Calendar) -> Sends:
    """The replayed cart reminders as the simulator's flow sends (both arms; holdout later)."""
    flow = calendar.campaigns.day.size + FLOWS.index("flow-abandoned-cart")
    return Sends.make(replay.owner, replay.t, flow, MT["abandoned_cart"], 0.9, replay.category,
                      False)  # fmt: skip


def replayed_sends(sends, u, c, life, last_activity, calendar, p):
    """Flow sends out of quiet hours, renamed to the catalogue's types, minus their holdouts."""
    types = flow_message_types(MESSAGE_TYPES)
    out = []
    for name, s in zip(FLOW_SENDS_ORDER, sends, strict=True):
        s = Sends(**{f: getattr(s, f) for f in s.__dataclass_fields__})
        s.t = out_of_quiet_hours(s.t, c.place[s.owner], calendar)
        s.mtype = np.full(s.owner.size, types.index(REPLAYED[name][2]))
        out.append(s)
    keep = [deliverable(s, life, last_activity, calendar.period.n_days, p) for s in out]
    return hold_out(out, [FLOWS.index(f) for f in FLOW_SENDS_ORDER], u, keep, p)


class ChunkWriter:
    """One ParquetWriter per table; writes happen on a background thread (Arrow releases the GIL)
    while the next chunk is simulated. At most one chunk waits, which bounds memory."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pending: Future | None = None

    def _write(self, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            if name not in self.writers:
                self.writers[name] = pq.ParquetWriter(
                    self.directory / f"{name}.parquet", table.schema, **WRITE_OPTIONS
                )
            self.writers[name].write_table(table)

    def submit(self, tables: dict[str, pa.Table]) -> None:
        self.wait()
        self.pending = self.pool.submit(self._write, tables)

    def wait(self) -> None:
        if self.pending is not None:
            self.pending.result()
            self.pending = None

    def close(self) -> None:
        try:
            self.wait()
        finally:
            for writer in self.writers.values():
                writer.close()
            self.pool.shutdown()


def _check_arguments(n_customers: object, seed: object) -> None:
    if (
        isinstance(n_customers, bool)
        or not isinstance(n_customers, int | np.integer)
        or n_customers < 1
    ):
        raise SimulationError(f"n_customers={n_customers!r} must be an integer >= 1")
    if n_customers > 99_999_999:
        raise SimulationError(f"n_customers={n_customers} must be <= 99,999,999")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SimulationError(f"seed={seed!r} must be an integer >= 0")


def _write_static(directory: Path, calendar: Calendar, catalog: Catalog) -> None:
    period = calendar.period
    frames = {
        "products": catalog.frame(period.n_days, period.start),
        "promotions": calendar.promos.frame(period),
    }
    for name, frame in frames.items():
        for col in frame.select_dtypes("datetime").columns:
            frame[col] = frame[col].astype("datetime64[us]")
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False),
            directory / f"{name}.parquet",
            **WRITE_OPTIONS,
        )


def generate(
    out: str | os.PathLike,
    n_customers: int = config.DEFAULT_CUSTOMERS,
    seed: int = config.DEFAULT_SEED,
    start: str = config.DEFAULT_START,
    end: str = config.DEFAULT_END,
    progress: bool = False,
    flows: bool = False,
) -> list[Path]:
    """Simulate a retail dataset with planted ground truth and write it to ``out``.

    Parameters
    ----------
    out : directory to (re)create, atomically: it appears complete or not at all.
    n_customers : number of customers (>= 1).
    seed : the same seed (and arguments) gives byte-identical files.
    start, end : first and last simulated day (ISO dates, UTC); ``end`` must be in the past and
        at least 180 days after ``start``. Timestamps fall on or before ``end`` 23:59:59, except
        ``loyalty.points_expire_at`` and promotion ends.
    progress : show a progress bar on stderr.
    flows : replay the lifecycle flows: catalogue campaign ids and message types, quiet hours,
        randomized holdouts per flow (``assignments``), a planted response to the abandoned-cart
        reminder and its potential outcomes in ``truth`` (see ``docs/simulator.md``). Off by
        default: the default output is unchanged.

    Returns
    -------
    list of Path
        One Parquet file per contract table (customers, orders, order_items, events, sms,
        loyalty, loyalty_events, products, promotions, assignments) plus ``truth.parquet``.

    Raises
    ------
    SimulationError
        For bad arguments (the message quotes the value and the rule).

    Example
    -------
    >>> paths = generate("demo/data", n_customers=5000, seed=7)  # doctest: +SKIP
    """
    _check_arguments(n_customers, seed)
    n_customers, seed = int(n_customers), int(seed)
    period = parse_period(start, end)
    calendar = build_calendar(period, seed)
    catalog = build_catalog(seed, period.n_days)
    width = max(7, len(str(n_customers)))
    out = Path(out)
    chunks = range(0, n_customers, PARAMS.chunk_size)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        _write_static(tmp, calendar, catalog)
        writer = ChunkWriter(tmp)
        bar = _progress(progress, len(chunks))
        try:
            n_orders = 0
            for index, first in enumerate(chunks):
                n = min(PARAMS.chunk_size, n_customers - first)
                tables = simulate_chunk(
                    index, first, n, seed, calendar, catalog, width, n_orders, flows=flows
                )
                n_orders += tables["orders"].num_rows
                writer.submit(tables)
                bar(n)
        finally:
            writer.close()
            bar(None)
    return [out / f"{name}.parquet" for name in (*CHUNK_TABLES, *STATIC_TABLES)]


def _progress(show: bool, total_chunks: int):
    """A callable advancing a rich progress bar by n customers (``None`` closes it)."""
    if not show:
        return lambda n: None
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    task = bar.add_task("simulating customers", total=None)
    bar.start()

    def advance(n: int | None) -> None:
        if n is None:
            bar.stop()
        else:
            bar.advance(task, n)

    return advance
