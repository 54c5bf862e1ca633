"""Turning one simulated chunk into Arrow tables that follow the data contract.

String columns with few distinct values are written as Arrow dictionary arrays (cheap to build
and to encode) with ``store_schema=False`` so readers see plain strings. Rows are sorted by
customer, then time, so files are deterministic.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from smsseg.data.contract import EVENT_TYPES, LOYALTY_EVENT_KINDS, ORDER_STATUSES, SMS_EVENT_TYPES
from smsseg.data.simulator.calendar import Calendar, Period
from smsseg.data.simulator.catalog import CATEGORIES, Catalog
from smsseg.data.simulator.customers import Cohort, completed_share
from smsseg.data.simulator.events import Events
from smsseg.data.simulator.geo import phone_numbers, places
from smsseg.data.simulator.lifecycle import Lifecycle
from smsseg.data.simulator.loyalty import TIERS, Ledger, Loyalty
from smsseg.data.simulator.messages import (
    DISCOUNT_EXPERIMENT,
    FLOWS,
    MESSAGE_EXPERIMENT,
    MESSAGE_TYPES,
    SMS_CODE,
    SmsLog,
)
from smsseg.data.simulator.orders import Orders
from smsseg.data.simulator.util import prefixed_ids

TS = pa.timestamp("us")
STR = pa.string()
CATEGORY_DICT = pa.array(CATEGORIES)
STATUS_DICT = pa.array(ORDER_STATUSES)
EVENT_DICT = pa.array(EVENT_TYPES)
SMS_DICT = pa.array(SMS_EVENT_TYPES)
MTYPE_DICT = pa.array(MESSAGE_TYPES)
KIND_DICT = pa.array(LOYALTY_EVENT_KINDS)
TIER_DICT = pa.array(TIERS)
CHANNEL_DICT = pa.array(["email", "sms"])
#: logical order of events within one second: browse, view, wishlist, cart, checkout
_ORDER = ("category_view", "search", "product_view", "wishlist_add", "add_to_cart", "remove_from_cart",
          "checkout_started")  # fmt: skip
EVENT_RANK = np.array([_ORDER.index(k) for k in EVENT_TYPES])
_SMS_ORDER = {"opt_in": 0, "sent": 1, "delivered": 2, "failed": 2, "clicked": 3, "opt_out": 4}
SMS_RANK = np.array([_SMS_ORDER[k] for k in SMS_EVENT_TYPES])
#: within one second: points come in, then expire (they expire before anything is redeemed at
#: that instant, as the simulator computed them), then go out; a tier change last
_LEDGER_ORDER = {"earn": 0, "expire": 1, "redeem": 2, "adjust": 3, "tier_change": 4}
LEDGER_RANK = np.array([_LEDGER_ORDER[k] for k in LOYALTY_EVENT_KINDS])


def coded(index: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    """A dictionary-encoded string column; ``index < 0`` is null."""
    index = np.asarray(index)
    mask = index < 0
    indices = pa.array(np.where(mask, 0, index).astype(np.int32), mask=mask if mask.any() else None)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def stamps(period: Period, t: np.ndarray) -> pa.Array:
    return pa.array(period.to_us(t), type=TS)


def second_stamps(period: Period, s: np.ndarray) -> pa.Array:
    """Whole seconds since the period start (``-1``: null) as timestamps."""
    s = np.asarray(s, dtype=np.int64)
    mask = s < 0
    us = period.start_us + np.where(mask, 0, s) * 1_000_000
    return pa.array(us, type=TS, mask=mask if mask.any() else None)


def end_stamps(period: Period, n: int) -> pa.Array:
    """The last second of the period, ``n`` times: when the end-of-period state was read."""
    return second_stamps(period, np.full(n, period.n_days * 86_400 - 1, dtype=np.int64))


def sort_rows(owner: np.ndarray, t: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Order by (customer, second, ``rank``): one int64 key, so one (deterministic) argsort.

    ``rank`` (0..7) orders events within the same second logically (a view before the cart).
    """
    seconds = np.floor(t * 86400.0).astype(np.int64)
    key = (owner.astype(np.int64) << 42) | (seconds << 3) | np.asarray(rank, dtype=np.int64)
    return np.argsort(key)


def customer_ids(first: int, n: int, width: int) -> pa.Array:
    return prefixed_ids("C", np.arange(first + 1, first + n + 1), width)


def customers_table(rng: np.random.Generator, c: Cohort, period: Period, ids: pa.Array) -> pa.Table:
    table = places()
    place = pa.array(c.place)
    return pa.table(
        {
            "customer_id": ids,
            "created_at": stamps(period, c.signup),
            "phone": phone_numbers(rng, c.place, c.phone_status),
            "country": table.country.take(place),
            "region": table.region.take(place),
            "city": table.city.take(place),
            "postal_code": table.postal.take(pa.array(c.postal)),
            "timezone": table.timezone.take(place),
            "store_id": coded(c.store, table.stores).cast(STR),
            "preferred_channel": coded(c.sms_channel.astype(np.int64), CHANNEL_DICT),
        }
    )


def order_tables(
    o: Orders,
    period: Period,
    ids: pa.Array,
    first_order: int,
    promo_codes: pa.Array,
    catalog: Catalog,
) -> tuple[pa.Table, pa.Table]:
    order_ids = prefixed_ids("O", np.arange(first_order + 1, first_order + o.owner.size + 1), 9)
    codes = pa.concat_arrays([promo_codes, pa.array([SMS_CODE])])
    promo = np.where(o.promo == -2, len(promo_codes), o.promo)
    orders = pa.table(
        {
            "order_id": order_ids,
            "customer_id": coded(o.owner, ids),
            "ordered_at": stamps(period, o.t),
            "amount": o.amount,
            "discount_amount": o.discount,
            "promo_code": coded(promo, codes),
            "status": coded(o.status, STATUS_DICT),
            "returned_at": pa.array(
                period.to_us(np.nan_to_num(o.returned)), type=TS, mask=np.isnan(o.returned)
            ),
        }
    )
    items = pa.table(
        {
            "order_id": order_ids.take(pa.array(o.line_order)),
            "product_id": coded(o.line_product, catalog.product_id),
            "category": coded(o.line_category, CATEGORY_DICT),
            "quantity": o.line_quantity.astype(np.int64),
            "unit_price": o.line_price,
        }
    )
    return orders, items


def events_table(e: Events, period: Period, ids: pa.Array, catalog: Catalog) -> pa.Table:
    order = sort_rows(e.owner, e.t, EVENT_RANK[e.kind])
    return pa.table(
        {
            "customer_id": coded(e.owner[order], ids),
            "occurred_at": stamps(period, e.t[order]),
            "event_type": coded(e.kind[order], EVENT_DICT),
            "product_id": coded(e.product[order], catalog.product_id),
            "category": coded(e.category[order], CATEGORY_DICT),
        }
    )


def sms_table(
    s: SmsLog, period: Period, ids: pa.Array, campaigns: pa.Array, mtypes: pa.Array | None = None
) -> pa.Table:
    order = sort_rows(s.owner, s.t, SMS_RANK[s.kind])
    return pa.table(
        {
            "customer_id": coded(s.owner[order], ids),
            "occurred_at": stamps(period, s.t[order]),
            "event_type": coded(s.kind[order], SMS_DICT),
            "campaign_id": coded(s.campaign[order], campaigns),
            "message_type": coded(s.mtype[order], MTYPE_DICT if mtypes is None else mtypes),
        }
    )


def loyalty_table(lo: Loyalty, period: Period, ids: pa.Array) -> pa.Table:
    expire = pa.array(
        np.where(np.isnan(lo.expire_at), 0, period.to_us(np.nan_to_num(lo.expire_at))),
        type=TS,
        mask=np.isnan(lo.expire_at),
    )
    return pa.table(
        {
            "customer_id": coded(lo.member, ids),
            "enrolled_at": stamps(period, lo.enrolled[lo.member]),
            "tier": coded(lo.tier, TIER_DICT),
            "points_balance": lo.balance,
            "points_expiring": lo.expiring,
            "points_expire_at": expire,
            "snapshot_at": end_stamps(period, lo.member.size),
        }
    )


def loyalty_events_table(led: Ledger, period: Period, ids: pa.Array) -> pa.Table:
    key = (led.owner.astype(np.int64) << 42) | (led.s << 3) | LEDGER_RANK[led.kind].astype(np.int64)
    order = np.argsort(key)
    return pa.table(
        {
            "customer_id": coded(led.owner[order], ids),
            "occurred_at": second_stamps(period, led.s[order]),
            "kind": coded(led.kind[order], KIND_DICT),
            "points": pa.array(led.points[order], mask=np.isnan(led.points[order])),
            "tier": coded(led.tier[order], TIER_DICT),
            "expires_at": second_stamps(period, led.expires_s[order]),
        }
    )


def assignments_table(life: Lifecycle, period: Period, ids: pa.Array, flows=None) -> pa.Table:
    """The two experiments' assignments, and the replayed flows' holdouts when ``flows``."""
    d, m = life.discount, life.message
    di, mi = np.flatnonzero(d.assigned), np.flatnonzero(m.assigned)
    owner = np.concatenate([di, mi])
    campaign = np.r_[np.zeros(di.size, np.int64), np.ones(mi.size, np.int64)]
    variant = np.r_[d.treated[di].astype(np.int64), 2 + m.treated[mi].astype(np.int64)]
    when = np.r_[d.assigned_at[di], m.assigned_at[mi]]
    campaigns, variants = (
        [DISCOUNT_EXPERIMENT, MESSAGE_EXPERIMENT],
        ["control", "treatment", "A", "B"],
    )
    if flows is not None:
        from smsseg.data.simulator.flowreplay import holdout_key

        owner = np.r_[owner, flows.owner]
        campaign = np.r_[campaign, 2 + flows.flow]
        variant = np.r_[variant, np.where(flows.holdout, 4, 1)]
        when = np.r_[when, flows.at]
        campaigns += [holdout_key(f) for f in FLOWS]
        variants += ["holdout"]
    order = np.lexsort((campaign, owner))
    return pa.table(
        {
            "customer_id": coded(owner[order], ids),
            "campaign_id": coded(campaign[order], pa.array(campaigns)),
            "variant": coded(variant[order], pa.array(variants)),
            "assigned_at": stamps(period, when[order]),
        }
    )


def dictionary_to_plain(table: pa.Table) -> pa.Table:
    """Schema with plain strings in place of dictionaries (the file schema readers see)."""
    fields = [pa.field(f.name, STR) if pa.types.is_dictionary(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table


def truth_table(
    c: Cohort,
    life: Lifecycle,
    planted: dict[str, np.ndarray],
    calendar: Calendar,
    ids: pa.Array,
    seed: int,
    flows: dict[str, np.ndarray] | None = None,
) -> pa.Table:
    period = calendar.period
    n_days = period.n_days

    def when(t: np.ndarray, valid: np.ndarray) -> pa.Array:
        return pa.array(
            np.where(valid, period.to_us(np.where(valid, t, 0)), 0), type=TS, mask=~valid
        )

    d, m = life.discount, life.message
    columns = {
        "customer_id": ids,
        "created_at": stamps(period, c.signup),
        "died_at": when(life.death, life.death < n_days),
        "opt_in_at": when(life.opt_in, life.opt_in < n_days),
        "opt_out_at": when(life.opt_out, life.opt_out < n_days),
        "purchase_rate": c.rate,
        "completed_share": completed_share(c),
        "discount_sensitivity": c.sensitivity,
        "deal_seeker": c.deal_seeker,
        "dropout_hazard": c.hazard,
        "dropout_hazard_sms": c.hazard_sms,
        "optout_rate": c.optout_rate,
        "sms_frequency_per_week": c.frequency,
        "sms_tolerance_per_week": c.tolerance,
        "promo_relevance": c.relevance,
        "engagement": c.engagement,
        "browse_rate": c.browse_rate,
        "top_category": coded(c.affinity.argmax(axis=1), CATEGORY_DICT),
        **{f"affinity_{name}": c.affinity[:, k] for k, name in enumerate(CATEGORIES)},
        "exp_discount_variant": coded(
            np.where(d.assigned, d.treated.astype(np.int64), -1), pa.array(["control", "treatment"])
        ),
        "exp_discount_sent_at": when(d.sent_at, d.assigned),
        "exp_discount_delivered": pa.array(d.delivered & d.treated, mask=~d.treated),
        "true_uplift": planted["true_uplift"],
        "p_purchase_control": planted["p_purchase_control"],
        "exp_message_variant": coded(
            np.where(m.assigned, m.treated.astype(np.int64), -1), pa.array(["A", "B"])
        ),
        "ab_click_effect": planted["ab_click_effect"],
        "ab_click_control": planted["ab_click_control"],
        "sim_seed": np.full(c.n, seed, dtype=np.int64),
        "sim_start": coded(np.zeros(c.n, np.int64), pa.array([str(period.start.date())])),
        "sim_end": coded(np.zeros(c.n, np.int64), pa.array([str(period.end.date())])),
    }
    if flows is not None:  # the replayed cart flow's arms and potential outcomes
        assigned = flows["flow_cart_assigned"]
        columns["flow_cart_variant"] = coded(
            np.where(assigned, np.where(flows["flow_cart_holdout"], 0, 1), -1),
            pa.array(["holdout", "treatment"]),
        )
        columns["flow_cart_assigned_at"] = when(flows["flow_cart_assigned_at"], assigned)
        for name in ("flow_cart_converted_if_holdout", "flow_cart_converted_if_treated"):
            columns[name] = pa.array(flows[name], mask=~assigned)
    return pa.table(columns)
