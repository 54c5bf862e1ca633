"""Time: the simulated period, seasonality, the promotion calendar and the SMS campaign calendar.

Simulated time is a float number of days since the first day of the period (midnight UTC).
Everything here depends only on the seed and the period, so the oracle functions can rebuild it
from the three ``sim_*`` columns of ``truth.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from smsseg.data.simulator.catalog import CATEGORIES, CATEGORY_POPULARITY
from smsseg.data.simulator.params import MIN_PERIOD_DAYS
from smsseg.errors import SmssegError
from smsseg.timeutil import parse_as_of

#: days modelled after the end of the period, so oracle horizons may reach past it
EXTRA_DAYS = 400
MONTH_FACTOR = np.array([0.85, 0.82, 0.95, 0.97, 1.0, 1.0, 0.95, 0.95, 1.0, 1.05, 1.3, 1.45])
WEEKDAY_FACTOR = np.array([1.05, 1.0, 1.0, 1.0, 0.95, 0.9, 1.1])  # Monday first
NEWSLETTER_WEEKDAYS = (1, 3, 5)  # Tuesday, Thursday, Saturday


class SimulationError(SmssegError, ValueError):
    """Bad arguments to the simulator."""


@dataclass(frozen=True)
class Period:
    """The simulated period: ``start`` .. ``end`` inclusive (whole UTC days)."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def n_days(self) -> int:
        return int((self.end - self.start).days) + 1

    @property
    def start_us(self) -> int:
        return int(self.start.to_datetime64().astype("datetime64[us]").astype(np.int64))

    def to_us(self, t: np.ndarray) -> np.ndarray:
        """Days since start → int64 microseconds since the epoch, floored to whole seconds."""
        return self.start_us + np.floor(np.asarray(t) * 86400.0).astype(np.int64) * 1_000_000

    def day_of(self, when: object) -> float:
        """A timestamp as days since start."""
        stamp = _as_timestamp(when, "as_of")
        return (stamp - self.start) / pd.Timedelta(days=1)


def _as_timestamp(value: object, name: str) -> pd.Timestamp:
    """:func:`smsseg.timeutil.parse_as_of` (one parser, one wording), as a SimulationError."""
    try:
        return parse_as_of(value, name).as_unit("us")
    except SimulationError:
        raise
    except SmssegError as exc:
        raise SimulationError(str(exc)) from None


def parse_period(start: object, end: object, today: pd.Timestamp | None = None) -> Period:
    """Validate the period: whole days, at least ``MIN_PERIOD_DAYS`` long, ending before today."""
    first = _as_timestamp(start, "start").normalize()
    last = _as_timestamp(end, "end").normalize()
    today = today or pd.Timestamp(datetime.now(UTC).date())
    if (last - first).days + 1 < MIN_PERIOD_DAYS:
        raise SimulationError(
            f"start={first.date()} .. end={last.date()} spans {(last - first).days + 1} days; "
            f"the simulated period must span at least {MIN_PERIOD_DAYS} days"
        )
    if last >= today:
        raise SimulationError(
            f"end={last.date()} must be before today ({today.date()}): simulated timestamps "
            "may not lie in the future"
        )
    return Period(first, last)


def _black_friday(year: int) -> pd.Timestamp:
    nov1 = pd.Timestamp(year=year, month=11, day=1)
    first_thursday = nov1 + pd.Timedelta(days=(3 - nov1.day_of_week) % 7)
    return first_thursday + pd.Timedelta(days=22)


def seasonality(period: Period) -> np.ndarray:
    """Daily demand multiplier for the period plus ``EXTRA_DAYS`` (month, weekday, holidays)."""
    dates = pd.date_range(period.start, periods=period.n_days + EXTRA_DAYS, freq="D")
    factor = MONTH_FACTOR[dates.month - 1] * WEEKDAY_FACTOR[dates.day_of_week]
    for year in range(dates[0].year, dates[-1].year + 1):
        bf = _black_friday(year)
        factor[(dates >= bf) & (dates <= bf + pd.Timedelta(days=3))] *= 1.6
        factor[(dates.month == 12) & (dates.day.isin([24, 25]))] *= 0.5
    return factor


@dataclass(frozen=True)
class Promotions:
    """The promotion calendar; days are offsets from the period start, ``end`` exclusive."""

    promo_id: list[str]
    start: np.ndarray
    end: np.ndarray
    kind: list[str]
    rate: np.ndarray
    category: np.ndarray  # category index, -1 = site-wide

    def frame(self, period: Period) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "promo_id": self.promo_id,
                "starts_at": period.start + pd.to_timedelta(self.start, unit="D"),
                "ends_at": period.start
                + pd.to_timedelta(self.end, unit="D")
                - pd.Timedelta(seconds=1),
                "kind": self.kind,
                "discount_rate": self.rate,
                "category": [CATEGORIES[c] if c >= 0 else None for c in self.category],
            }
        )


def _yearly_promotions(year: int, rng: np.random.Generator) -> list[tuple]:
    """(id, first day, n days, kind, rate, category) of one year's promotions."""
    n_cat = len(CATEGORIES)
    bf = _black_friday(year)
    out = [
        (f"WINTER{year}", pd.Timestamp(year, 1, 2), 14, "seasonal", 0.3, -1),
        (f"SPRING{year}", pd.Timestamp(year, 3, 14 + rng.integers(0, 7)), 7, "sale", 0.15, -1),
        (f"SUMMER{year}", pd.Timestamp(year, 6, 22 + rng.integers(0, 5)), 14, "seasonal", 0.25, -1),
        (f"SCHOOL{year}", pd.Timestamp(year, 8, 10 + rng.integers(0, 7)), 7, "sale", 0.2, 0),
        (f"BLACKFRIDAY{year}", bf, 4, "sale", 0.3, -1),
        (f"BOXINGDAY{year}", pd.Timestamp(year, 12, 26), 6, "clearance", 0.35, -1),
    ]
    for quarter, month in enumerate((3, 6, 9, 11)):
        for cat in rng.choice(n_cat, size=3, replace=False):
            day = pd.Timestamp(year, month, 1 + rng.integers(0, 20))
            out.append(
                (
                    f"CLEAR{year}Q{quarter + 1}-{CATEGORIES[cat].upper()}",
                    day,
                    10,
                    "clearance",
                    0.4,
                    int(cat),
                )
            )
    for month in range(1, 13):
        for k in range(4):
            day = pd.Timestamp(year, month, 1 + rng.integers(0, 28))
            cat = -1 if rng.random() < 0.3 else int(rng.choice(n_cat, p=CATEGORY_POPULARITY))
            rate = float(rng.choice([0.2, 0.25, 0.3, 0.4]))
            out.append((f"FLASH{year}{month:02d}{'ABCD'[k]}", day, 1, "flash_sale", rate, cat))
    return out


def promotions(period: Period, seed: int) -> Promotions:
    """Promotions starting within the period (they may end after it)."""
    rng = np.random.default_rng([seed, 0x9207])
    rows = []
    for year in range(period.start.year, period.end.year + 1):
        rows += _yearly_promotions(year, rng)
    rows = [r for r in rows if period.start <= r[1] <= period.end]
    rows.sort(key=lambda r: (r[1], r[0]))
    first = np.array([(r[1] - period.start).days for r in rows], dtype=np.int64)
    return Promotions(
        promo_id=[r[0] for r in rows],
        start=first,
        end=first + np.array([r[2] for r in rows], dtype=np.int64),
        kind=[r[3] for r in rows],
        rate=np.array([r[4] for r in rows], dtype=float),
        category=np.array([r[5] for r in rows], dtype=np.int64),
    )


def promotion_grid(promos: Promotions, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Best discount rate and the promotion giving it, per (day, category)."""
    n_cat = len(CATEGORIES)
    rate = np.zeros((n_days, n_cat))
    index = np.full((n_days, n_cat), -1, dtype=np.int64)
    for k in range(len(promos.promo_id)):
        days = slice(promos.start[k], min(promos.end[k], n_days))
        cats = (
            slice(None)
            if promos.category[k] < 0
            else slice(promos.category[k], promos.category[k] + 1)
        )
        better = promos.rate[k] > rate[days, cats]
        rate[days, cats] = np.where(better, promos.rate[k], rate[days, cats])
        index[days, cats] = np.where(better, k, index[days, cats])
    return rate, index


@dataclass(frozen=True)
class Campaigns:
    """Promotional SMS campaigns: promotion announcements and category newsletters."""

    day: np.ndarray  # day of the send (local send hours are added per customer)
    category: np.ndarray  # -1 = site-wide
    campaign_id: list[str]
    per_week: float  # average number of campaigns a week


def campaigns(period: Period, promos: Promotions, seed: int) -> Campaigns:
    """The brand's promotional SMS calendar; each customer receives a random share of it."""
    rng = np.random.default_rng([seed, 0xCA4])
    last = period.n_days - 2  # sends happen up to 27 h after the day starts
    days = pd.date_range(period.start, periods=period.n_days, freq="D")
    news = np.flatnonzero(np.isin(days.day_of_week, NEWSLETTER_WEEKDAYS))
    news_cat = rng.choice(len(CATEGORIES), size=news.size, p=CATEGORY_POPULARITY)
    news_cat = np.where(rng.random(news.size) < 0.15, -1, news_cat)
    day = np.concatenate([promos.start, news])
    cat = np.concatenate([promos.category, news_cat])
    label = [p.lower() for p in promos.promo_id] + [
        "news-" + (CATEGORIES[c] if c >= 0 else "all") for c in news_cat
    ]
    order = np.lexsort((np.arange(day.size), day))
    keep = [i for i in order if 1 <= day[i] <= last]
    stamp = [(period.start + pd.Timedelta(days=int(day[i]))).strftime("%Y%m%d") for i in keep]
    return Campaigns(
        day=day[keep].astype(float),
        category=cat[keep],
        campaign_id=[f"cmp-{s}-{label[i]}" for s, i in zip(stamp, keep, strict=True)],
        per_week=len(keep) / (period.n_days / 7.0),
    )


@dataclass(frozen=True)
class Calendar:
    """Everything time-dependent that is shared by all customers."""

    period: Period
    season: np.ndarray
    promos: Promotions
    promo_rate: np.ndarray  # (days incl. EXTRA_DAYS, categories)
    promo_index: np.ndarray
    campaigns: Campaigns

    @property
    def max_promo_rate(self) -> float:
        return float(self.promo_rate.max(initial=0.0))


def build_calendar(period: Period, seed: int) -> Calendar:
    promos = promotions(period, seed)
    rate, index = promotion_grid(promos, period.n_days + EXTRA_DAYS)
    return Calendar(
        period, seasonality(period), promos, rate, index, campaigns(period, promos, seed)
    )
