"""Flow inputs cut at an instant, and the triggers and exit events each flow reads from them.

Point in time: :func:`as_of_inputs` keeps only rows dated at or before ``as_of``, consent
events included (an opt-in after ``as_of`` starts no welcome flow). Only the consent check of a
send reads the later consent events (:mod:`smsseg.flows.due`), as everywhere in activation. Every trigger is a ``(customer_id, trigger_at, known_at)`` row:
``known_at`` is when the data knew it (the event itself, or the scores' as-of for a model date);
``trigger_at`` may lie after ``as_of`` for dates the data predicts (a predicted next order, the
day a customer turns dormant), which is how a step can be due before the event is "seen".
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from smsseg.activation.consent import as_timestamp, utc_naive
from smsseg.errors import SmssegError
from smsseg.flows.catalogue import Flow

TRIGGER_COLUMNS = ["customer_id", "trigger_at", "known_at"]
#: Columns each input frame must have, and its time column (``None``: not dated).
INPUT_COLUMNS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "customers": (("customer_id",), "created_at"),
    "orders": (("customer_id", "ordered_at"), "ordered_at"),
    "events": (("customer_id", "occurred_at", "event_type"), "occurred_at"),
    "sms": (("customer_id", "occurred_at", "event_type"), "occurred_at"),
    "loyalty": (("customer_id", "enrolled_at"), "enrolled_at"),
    "products": (("product_id", "restocked_at"), "restocked_at"),
    "scores": (("customer_id", "scored_at"), "scored_at"),
}
#: Order statuses that are not a purchase (a cancelled order does not end a cart flow).
NOT_PURCHASES = ("cancelled",)


@dataclass(frozen=True)
class FlowInputs:
    """The frames flows read (empty frames for absent optional tables).

    customers : ``customer_id``, ``created_at``, ``phone``, ``country``, ``region``,
        ``timezone``, ``preferred_channel``.
    orders : ``customer_id``, ``ordered_at``, optionally ``status``.
    events : ``customer_id``, ``occurred_at``, ``event_type``, ``product_id``.
    sms : ``customer_id``, ``occurred_at``, ``event_type``, ``campaign_id``, ``message_type``.
    loyalty : ``customer_id``, ``enrolled_at``.
    products : ``product_id``, ``restocked_at``.
    scores : ``customer_id``, ``scored_at`` and the scores columns (``churn_risk_band``,
        ``discount_sensitivity``, ``uplift``, ``expected_next_order_date``), one row per
        customer and scoring instant.
    """

    customers: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    sms: pd.DataFrame
    loyalty: pd.DataFrame
    products: pd.DataFrame
    scores: pd.DataFrame


def empty_inputs() -> dict[str, pd.DataFrame]:
    """Empty frames with the required columns, to fill only the tables a caller has."""
    return {
        name: pd.DataFrame(
            {c: pd.Series(dtype="datetime64[ns]" if c == t else "str") for c in cols}
        )
        for name, (cols, t) in INPUT_COLUMNS.items()
    }


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    cols, time = INPUT_COLUMNS[name]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise SmssegError(
            f"flow input {name} is missing column(s) {missing}; it has: {', '.join(frame.columns)}"
        )
    out = frame.copy()
    for c in ("customer_id", "product_id"):
        if c in out:
            out[c] = out[c].astype("str")
    for c in out.columns:
        if c.endswith("_at") or c == "expected_next_order_date":
            out[c] = utc_naive(out[c]).astype("datetime64[ns]")
    return out


def check_inputs(inputs: FlowInputs) -> FlowInputs:
    """Inputs with string ids and naive-UTC ``datetime64[ns]`` times; clear error on a gap."""
    return FlowInputs(**{f.name: _typed(f.name, getattr(inputs, f.name)) for f in fields(inputs)})


def as_of_inputs(inputs: FlowInputs, as_of: object) -> FlowInputs:
    """The inputs known at ``as_of``: every row dated after it removed."""
    cutoff = as_timestamp(as_of)
    out = {}
    for f in fields(inputs):
        frame = getattr(inputs, f.name)
        time = INPUT_COLUMNS[f.name][1]
        # an undated row (a product never restocked) carries no trigger: kept
        if time not in frame:  # customers without created_at: all known
            out[f.name] = frame
            continue
        keep = frame[time].isna() | (frame[time] <= cutoff)
        out[f.name] = frame[keep.to_numpy(dtype=bool)]
    return replace(inputs, **out)


def _rows(customer_id, trigger_at, known_at) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(np.asarray(customer_id, dtype=object), dtype="str"),
            "trigger_at": pd.Series(np.asarray(trigger_at, dtype="datetime64[ns]")),
            "known_at": pd.Series(np.asarray(known_at, dtype="datetime64[ns]")),
        }
    )


def purchases(inputs: FlowInputs) -> pd.DataFrame:
    """Orders that count as a purchase: ``customer_id``, ``at``."""
    o = inputs.orders
    if "status" in o:
        o = o[~o["status"].isin(NOT_PURCHASES).to_numpy(dtype=bool)]
    return pd.DataFrame(
        {"customer_id": o["customer_id"].to_numpy(), "at": o["ordered_at"].to_numpy()}
    )


def engagements(inputs: FlowInputs) -> pd.DataFrame:
    """Orders, browsing events and SMS clicks: what ends dormancy (``customer_id``, ``at``)."""
    clicks = inputs.sms[inputs.sms["event_type"] == "clicked"]
    parts = [
        purchases(inputs),
        pd.DataFrame({"customer_id": inputs.events["customer_id"].to_numpy(),
                      "at": inputs.events["occurred_at"].to_numpy()}),
        pd.DataFrame({"customer_id": clicks["customer_id"].to_numpy(),
                      "at": clicks["occurred_at"].to_numpy()}),
    ]  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def _in_band(scores: pd.DataFrame, bands: tuple[str, ...]) -> np.ndarray:
    if "churn_risk_band" not in scores:
        return np.zeros(len(scores), dtype=bool)
    return scores["churn_risk_band"].astype(object).isin(list(bands)).to_numpy(dtype=bool)


def _band_entries(inputs: FlowInputs, flow: Flow) -> pd.DataFrame:
    s = inputs.scores.sort_values(["customer_id", "scored_at"], kind="stable")
    inside = pd.Series(_in_band(s, flow.trigger.bands), index=s.index)
    before = inside.groupby(s["customer_id"]).shift(1, fill_value=False).astype(bool)
    entry = s[(inside & ~before).to_numpy()]
    return _rows(entry["customer_id"], entry["scored_at"], entry["scored_at"])


def _predicted_orders(inputs: FlowInputs, flow: Flow) -> pd.DataFrame:
    s = inputs.scores
    if "expected_next_order_date" not in s:
        return _rows([], [], [])
    s = s[s["expected_next_order_date"].notna()]
    # a reminder "3 days before" a date less than 3 days away goes out when it is known
    at = (s["expected_next_order_date"] + flow.trigger.offset).clip(lower=s["scored_at"])
    return _rows(s["customer_id"], at, s["scored_at"])


def _restocks(inputs: FlowInputs, flow: Flow) -> pd.DataFrame:
    views = inputs.events[inputs.events["event_type"].isin(list(flow.trigger.event_types))]
    products = inputs.products[inputs.products["restocked_at"].notna()]
    if "product_id" not in views or views.empty or products.empty:
        return _rows([], [], [])
    m = views[["customer_id", "product_id", "occurred_at"]].merge(
        products[["product_id", "restocked_at"]], on="product_id"
    )
    lookback = pd.Timedelta(days=flow.trigger.lookback_days)
    m = m[
        (m["occurred_at"] < m["restocked_at"]) & (m["occurred_at"] >= m["restocked_at"] - lookback)
    ]
    m = m.drop_duplicates(["customer_id", "restocked_at"])
    return _rows(m["customer_id"], m["restocked_at"], m["restocked_at"])


def member(values: pd.Series, of: object) -> np.ndarray:
    """``values.isin(of)`` as a boolean array, through pandas' object hash table.

    Why: on Arrow-backed strings pandas' ``isin`` converts each element of ``of`` to a Python
    object one at a time; with ``of`` a column of ids that was half of a replay's time.
    """
    wanted = pd.unique(np.asarray(of, dtype=object))
    return pd.Series(values.to_numpy(dtype=object)).isin(wanted).to_numpy(dtype=bool)


def _dormancy(inputs: FlowInputs, days: int) -> pd.DataFrame:
    """Every instant a customer turned (or will turn) dormant: ``days`` after an engagement not
    followed by another within ``days`` (the profile's creation for a customer who never
    engaged), as the segment rule reads inactivity. Every gap counts, not only the last one, so a replay over a period in which a
    dormant customer came back still finds the dormancy before it."""
    e = engagements(inputs)
    c = inputs.customers
    if "created_at" in c:  # never engaged: inactive since the profile was created
        never = c[~member(c["customer_id"], e["customer_id"])]
        created = pd.DataFrame({"customer_id": never["customer_id"].to_numpy(),
                                "at": never["created_at"].to_numpy()})  # fmt: skip
        e = pd.concat([e, created.dropna()], ignore_index=True)
    e = e[member(e["customer_id"], c["customer_id"])].sort_values(
        ["customer_id", "at"], kind="stable"
    )
    gap = pd.Timedelta(days=days)
    nxt = e.groupby("customer_id")["at"].shift(-1)
    quiet = (nxt.isna() | (nxt > e["at"] + gap)).to_numpy()
    e = e[quiet]
    return _rows(e["customer_id"], e["at"] + gap, e["at"])


def triggers(inputs: FlowInputs, flow: Flow, dormant_days: int = 120) -> pd.DataFrame:
    """Every trigger of ``flow`` in ``inputs`` (cut at the as-of by the caller).

    Returns
    -------
    DataFrame with :data:`TRIGGER_COLUMNS`, sorted by customer and ``trigger_at``.
    """
    t = flow.trigger
    if t.kind == "event":
        ev = inputs.events[inputs.events["event_type"].isin(list(t.event_types))]
        out = _rows(ev["customer_id"], ev["occurred_at"], ev["occurred_at"])
    elif t.kind == "order":
        p = purchases(inputs)
        out = _rows(p["customer_id"], p["at"], p["at"])
    elif t.kind == "opt_in":
        ev = inputs.sms[inputs.sms["event_type"] == "opt_in"]
        out = _rows(ev["customer_id"], ev["occurred_at"], ev["occurred_at"])
    elif t.kind == "loyalty_enrolment":
        out = _rows(inputs.loyalty["customer_id"], inputs.loyalty["enrolled_at"],
                    inputs.loyalty["enrolled_at"])  # fmt: skip
    elif t.kind == "restock":
        out = _restocks(inputs, flow)
    elif t.kind == "predicted_next_order":
        out = _predicted_orders(inputs, flow)
    elif t.kind == "churn_band_entry":
        out = _band_entries(inputs, flow)
    elif t.kind == "dormancy":
        out = _dormancy(inputs, dormant_days)
    else:  # the catalogue validates kinds: reaching this is a bug
        raise AssertionError(f"unknown trigger kind {t.kind!r}")
    out = out.dropna(subset=["trigger_at"]).drop_duplicates(["customer_id", "trigger_at"])
    return out.sort_values(["customer_id", "trigger_at"], kind="stable", ignore_index=True)


def exit_events(inputs: FlowInputs, flow: Flow, as_of: pd.Timestamp) -> pd.DataFrame:
    """Events that end an instance of ``flow`` (``customer_id``, ``at``, ``reason``), known at
    ``as_of``: a STOP after it blocks the sends by consent at their time, but the state as of
    ``as_of`` does not know it yet."""
    parts = []
    for kind in flow.exit_on:
        if kind == "purchase":
            e = purchases(inputs)
        elif kind == "opt_out":
            sms = inputs.sms
            ev = sms[(sms["event_type"] == "opt_out") & (sms["occurred_at"] <= as_of)]  # known
            e = pd.DataFrame(
                {"customer_id": ev["customer_id"].to_numpy(), "at": ev["occurred_at"].to_numpy()}
            )
        elif kind == "add_to_cart":
            ev = inputs.events[inputs.events["event_type"] == "add_to_cart"]
            e = pd.DataFrame(
                {"customer_id": ev["customer_id"].to_numpy(), "at": ev["occurred_at"].to_numpy()}
            )
        elif kind == "engagement":
            e = engagements(inputs)
        elif kind == "band_exit":
            s = inputs.scores
            out = s[~_in_band(s, flow.trigger.bands)]
            e = pd.DataFrame(
                {"customer_id": out["customer_id"].to_numpy(), "at": out["scored_at"].to_numpy()}
            )
        else:  # validated by the catalogue
            raise AssertionError(f"unknown exit kind {kind!r}")
        parts.append(e.assign(reason=kind))
    if not parts:
        return pd.DataFrame({"customer_id": pd.Series(dtype="str"),
                             "at": pd.Series(dtype="datetime64[ns]"), "reason": pd.Series(dtype="str")})  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    out = out.assign(customer_id=out["customer_id"].astype("str"),
                     at=pd.to_datetime(out["at"]).astype("datetime64[ns]"))  # fmt: skip
    return out.dropna(subset=["at"])
