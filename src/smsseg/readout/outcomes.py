"""Per-customer outcomes read from a :class:`~smsseg.data.Dataset`: the rows readouts start from.

* :func:`experiment_outcomes` — one row per customer assigned to a randomized campaign
  (``assignments`` table), with what they did in the window after assignment.
* :func:`recipient_outcomes` — one row per customer × campaign that was sent, with last-touch
  attributed orders, clicks and opt-outs, and the before/after facts the campaign metrics need.

Windows are half-open, ``(t, t + window]``: an event at the very moment of the send is not
credited to it. Only completed orders count.
"""

from __future__ import annotations

import pandas as pd

from smsseg.data.load import Dataset
from smsseg.errors import SmssegError


def _check_days(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SmssegError(f"{name}={value!r} must be a whole number of days >= 1")
    return value


def data_end(data: Dataset) -> pd.Timestamp:
    """The last moment the data covers (latest order or SMS event)."""
    last = data.con.execute(
        "SELECT GREATEST((SELECT MAX(ordered_at) FROM orders), (SELECT MAX(occurred_at) FROM sms))"
    ).fetchall()[0][0]
    return pd.Timestamp(last) if last is not None else pd.NaT


def experiment_outcomes(data: Dataset, campaign_id: str, window_days: int = 7) -> pd.DataFrame:
    """One row per customer assigned to ``campaign_id``, with outcomes in the window.

    Parameters
    ----------
    data : a loaded dataset with an ``assignments`` table.
    campaign_id : the randomized campaign.
    window_days : outcome window after ``assigned_at``, ``(assigned_at, assigned_at + window]``.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, variant, assigned_at, purchased`` (0/1: a completed order in the window),
        ``orders``, ``revenue`` (sum of ``amount``), ``clicked`` (0/1: clicked this campaign's
        SMS), ``opted_out`` (0/1: any opt-out) and ``window_complete`` (the data reach the
        window's end). Ready for :func:`~smsseg.readout.experiment` with ``variant_col="variant"``.

    Raises
    ------
    SmssegError
        If the dataset has no assignments or none for ``campaign_id``.
    """
    window = _check_days("window_days", window_days)
    known = [
        r[0]
        for r in data.con.execute(
            "SELECT DISTINCT campaign_id FROM assignments ORDER BY 1"
        ).fetchall()
    ]
    if campaign_id not in known:
        listed = ", ".join(map(repr, known)) or "none (no assignments table)"
        raise SmssegError(
            f"campaign_id={campaign_id!r} has no assignments; campaigns with assignments: {listed}"
        )
    end = data_end(data)
    frame = data.con.execute(
        f"""
        WITH a AS (SELECT customer_id, variant, assigned_at, assigned_at + to_days({window}) AS until
                   FROM assignments WHERE campaign_id = $1),
        o AS (SELECT a.customer_id, COUNT(*) AS orders, SUM(amount) AS revenue
              FROM a JOIN orders o ON o.customer_id = a.customer_id AND o.status = 'completed'
                AND o.ordered_at > a.assigned_at AND o.ordered_at <= a.until GROUP BY 1),
        s AS (SELECT a.customer_id,
                     MAX(CASE WHEN s.event_type = 'clicked' AND s.campaign_id = $1 THEN 1 ELSE 0 END) AS clicked,
                     MAX(CASE WHEN s.event_type = 'opt_out' THEN 1 ELSE 0 END) AS opted_out
              FROM a JOIN sms s ON s.customer_id = a.customer_id
                AND s.occurred_at > a.assigned_at AND s.occurred_at <= a.until GROUP BY 1)
        SELECT a.customer_id, a.variant, a.assigned_at,
               CAST(COALESCE(o.orders, 0) > 0 AS INTEGER) AS purchased, COALESCE(o.orders, 0) AS orders,
               COALESCE(o.revenue, 0.0) AS revenue, COALESCE(s.clicked, 0) AS clicked,
               COALESCE(s.opted_out, 0) AS opted_out, a.until AS window_end
        FROM a LEFT JOIN o USING (customer_id) LEFT JOIN s USING (customer_id)
        ORDER BY a.customer_id
        """,
        [campaign_id],
    ).df()
    frame["window_complete"] = frame.pop("window_end") <= end if pd.notna(end) else False
    return frame


RECIPIENTS_SQL = """
WITH sends AS (
    SELECT customer_id, campaign_id, occurred_at FROM sms WHERE event_type = 'sent' AND campaign_id IS NOT NULL),
recipients AS (
    SELECT customer_id, campaign_id, MIN(occurred_at) AS first_sent_at, COUNT(*) AS messages
    FROM sends GROUP BY 1, 2),
flags AS (
    SELECT customer_id, campaign_id, COUNT(*) FILTER (WHERE event_type = 'delivered') AS delivered,
           COUNT(*) FILTER (WHERE event_type = 'clicked') AS clicks
    FROM sms WHERE campaign_id IS NOT NULL AND event_type IN ('delivered', 'clicked') GROUP BY 1, 2),
completed AS (SELECT customer_id, ordered_at, amount, discount_amount FROM orders WHERE status = 'completed'),
-- last touch: an order (an opt-out) belongs to the latest send before it, if within the window
touched AS (
    SELECT o.*, s.campaign_id FROM completed o ASOF JOIN sends s
    ON o.customer_id = s.customer_id AND o.ordered_at > s.occurred_at
    WHERE o.ordered_at <= s.occurred_at + to_days({window})),
attributed AS (
    SELECT customer_id, campaign_id, COUNT(*) AS orders, SUM(amount) AS revenue,
           SUM(discount_amount) AS discount_amount,
           COALESCE(SUM(amount) FILTER (WHERE discount_amount > 0), 0) AS discounted_revenue
    FROM touched GROUP BY 1, 2),
stops AS (
    SELECT DISTINCT e.customer_id, s.campaign_id FROM (SELECT * FROM sms WHERE event_type = 'opt_out') e
    ASOF JOIN sends s ON e.customer_id = s.customer_id AND e.occurred_at > s.occurred_at
    WHERE e.occurred_at <= s.occurred_at + to_days({window})),
first_order AS (SELECT customer_id, MIN(ordered_at) AS first_at FROM completed GROUP BY 1),
-- only orders within the horizon around the first send: the join stays small
history AS (
    SELECT r.customer_id, r.campaign_id,
           COUNT(o.ordered_at) FILTER (WHERE o.ordered_at <= r.first_sent_at) AS recent_orders,
           COUNT(o.ordered_at) FILTER (WHERE o.ordered_at > r.first_sent_at) AS later_orders,
           COALESCE(SUM(o.amount) FILTER (WHERE o.ordered_at <= r.first_sent_at), 0) AS revenue_before,
           COALESCE(SUM(o.amount) FILTER (WHERE o.ordered_at > r.first_sent_at), 0) AS revenue_after,
           COUNT(o.ordered_at) FILTER (WHERE o.ordered_at > r.first_sent_at
                                        AND o.ordered_at <= r.first_sent_at + to_days({window})) AS window_orders,
           COALESCE(SUM(o.amount) FILTER (WHERE o.ordered_at > r.first_sent_at
                                        AND o.ordered_at <= r.first_sent_at + to_days({window})), 0) AS window_revenue
    FROM recipients r LEFT JOIN completed o ON o.customer_id = r.customer_id
      AND o.ordered_at > r.first_sent_at - to_days({horizon}) AND o.ordered_at <= r.first_sent_at + to_days({horizon})
    GROUP BY 1, 2)
SELECT r.customer_id, r.campaign_id, r.first_sent_at, r.messages,
       COALESCE(f.delivered, 0) AS delivered, CAST(COALESCE(f.clicks, 0) > 0 AS INTEGER) AS clicked,
       COALESCE(a.orders, 0) AS orders, COALESCE(a.revenue, 0.0) AS revenue,
       COALESCE(a.discount_amount, 0.0) AS discount_amount, COALESCE(a.discounted_revenue, 0.0) AS discounted_revenue,
       CAST(COALESCE(a.orders, 0) > 0 AS INTEGER) AS converted, CAST(t.customer_id IS NOT NULL AS INTEGER) AS opted_out,
       CAST(COALESCE(fo.first_at <= r.first_sent_at, false) AS INTEGER) AS had_prior,
       h.recent_orders, h.later_orders, h.revenue_before, h.revenue_after, h.window_orders, h.window_revenue
FROM recipients r
LEFT JOIN flags f USING (customer_id, campaign_id)
LEFT JOIN attributed a USING (customer_id, campaign_id)
LEFT JOIN stops t USING (customer_id, campaign_id)
LEFT JOIN history h USING (customer_id, campaign_id)
LEFT JOIN first_order fo ON fo.customer_id = r.customer_id
"""


def recipient_outcomes(
    data: Dataset, attribution_days: int = 7, horizon_days: int = 90
) -> pd.DataFrame:
    """One row per customer × campaign sent (an ``sms`` ``sent`` event with a ``campaign_id``).

    Orders and opt-outs are credited by last touch: to the latest send before them, when they
    fall within ``attribution_days`` of it. ``horizon_days`` sets the look-back and look-ahead
    windows around the first send for repeat, retention, win-back and CLV facts.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, campaign_id, first_sent_at, messages, delivered, clicked, orders,
        revenue, discount_amount, discounted_revenue, converted, opted_out`` (attributed),
        ``had_prior`` (0/1: a completed order at or before the first send), and ``recent_orders,
        later_orders, revenue_before, revenue_after`` (the ``horizon_days`` before / after it) and ``window_orders, window_revenue``
        (every completed order in the attribution window, attributed or not: the fair
        comparison with a holdout).
    """
    window = _check_days("attribution_days", attribution_days)
    horizon = _check_days("horizon_days", horizon_days)
    frame = data.con.execute(RECIPIENTS_SQL.format(window=window, horizon=horizon)).df()
    return frame.sort_values(["campaign_id", "customer_id"], ignore_index=True)


def subscriber_counts(
    data: Dataset, attribution_days: int = 7, segment: pd.Series | None = None
) -> pd.DataFrame:
    """SMS subscribers at each campaign's start, and how many unsubscribed during it.

    A campaign runs from its first send to its last send plus ``attribution_days``. A subscriber
    is a customer whose latest consent event (``opt_in`` / ``opt_out``) at the start is an opt-in;
    each consent event is turned into an interval up to the customer's next one, so the count is
    one range join rather than a scan of the history per campaign.

    Parameters
    ----------
    segment : customer_id → segment label; adds a ``segment`` key (``"(unsegmented)"`` if absent).

    Returns
    -------
    pandas.DataFrame
        ``campaign_id`` (``segment``), ``subscribers``, ``unsubscribes``.
    """
    window = _check_days("attribution_days", attribution_days)
    name = "_smsseg_segment_map"
    if segment is not None:
        frame = pd.DataFrame(
            {"customer_id": segment.index.astype(str), "segment": segment.to_numpy(str)}
        )
        data.con.register(name, frame)
    seg_join = f"LEFT JOIN {name} m ON m.customer_id = e.customer_id" if segment is not None else ""
    seg_col = ", COALESCE(m.segment, '(unsegmented)') AS segment" if segment is not None else ""
    keys = "1, 2" if segment is not None else "1"
    try:
        return data.con.execute(
            f"""
            WITH camp AS (
                SELECT campaign_id, MIN(occurred_at) AS start, MAX(occurred_at) + to_days({window}) AS stop
                FROM sms WHERE event_type = 'sent' AND campaign_id IS NOT NULL GROUP BY 1),
            consent AS (
                SELECT customer_id, event_type, occurred_at AS since, LEAD(occurred_at) OVER w AS until,
                       LEAD(event_type) OVER w AS next_event
                FROM sms WHERE event_type IN ('opt_in', 'opt_out')
                WINDOW w AS (PARTITION BY customer_id ORDER BY occurred_at, event_type))
            SELECT c.campaign_id{seg_col}, COUNT(*) AS subscribers,
                   COUNT(*) FILTER (WHERE e.next_event = 'opt_out' AND e.until <= c.stop) AS unsubscribes
            FROM camp c JOIN consent e ON e.event_type = 'opt_in' AND e.since <= c.start
              AND (e.until IS NULL OR e.until > c.start)
            {seg_join}
            GROUP BY {keys} ORDER BY {keys}
            """
        ).df()
    finally:
        if segment is not None:
            data.con.unregister(name)
