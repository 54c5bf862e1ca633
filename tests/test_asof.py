"""One as-of parser for every command; what the data holds after the as-of is said, not hidden.

A date, a naive timestamp, ``Z`` and an offset naming the same instant give the same run in
every command (``train`` and ``score`` used to crash on the last two), bad spellings get one
wording, and every command that reads the data as of an instant says how many rows it leaves
out, with the as-of that would include the last day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from smsseg.errors import SmssegError
from smsseg.provenance import RowsAfter, after_as_of_note, as_of_warnings, rows_after
from smsseg.timeutil import as_of_label, format_instant, parse_as_of
from tests import tiny_shop
from tests.tiny_shop import AS_OF, FAST_TRAIN, invoke, ok

# the small shop's BTYD fits and tier bootstrap are degenerate, and say so
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

#: One instant, 00:00 UTC on 31 December 2025, spelled four ways.
SPELLINGS = {
    "date": "2025-12-31",
    "naive": "2025-12-31T00:00:00",
    "Z": "2025-12-31T00:00Z",
    "offset": "2025-12-31T05:30:00+05:30",
}
#: The backtest's T, spelled the same four ways (T + 30 days is within the data).
T_SPELLINGS = {
    "date": "2025-11-01",
    "naive": "2025-11-01T00:00:00",
    "Z": "2025-11-01T00:00:00Z",
    "offset": "2025-10-31T19:00-05:00",
}
#: What every command that builds features says about 31 December at AS_OF.
NOT_USED = (
    "after 2025-12-31T00:00Z are not used; pass --as-of 2026-01-01 to include 31 December 2025"
)


# --- the parser --------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS)
def test_every_spelling_of_an_instant_is_the_same_naive_utc_timestamp(spelling):
    assert parse_as_of(spelling) == pd.Timestamp("2025-12-31")
    assert parse_as_of(spelling).tzinfo is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-12-31T23:00:00+05:00", "2025-12-31 18:00"),
        ("2025-12-31T23:00:00-05:00", "2026-01-01 04:00"),
        ("2025-12-31 18:30", "2025-12-31 18:30"),
        (date(2025, 12, 31), "2025-12-31"),
        (datetime(2025, 12, 31, 23, tzinfo=timezone(timedelta(hours=5))), "2025-12-31 18:00"),
        (pd.Timestamp("2025-12-31 12:00", tz="America/New_York"), "2025-12-31 17:00"),
        (np.datetime64("2025-12-31T06:00"), "2025-12-31 06:00"),
    ],
    ids=["offset+", "offset-", "space", "date", "datetime", "tz-timestamp", "datetime64"],
)
def test_offsets_and_objects_are_converted_to_utc(value, expected):
    assert parse_as_of(value) == pd.Timestamp(expected)


@pytest.mark.parametrize(
    "value",
    [
        "12/31/2025",
        "31.12.2025",
        "2025",
        "now",
        "today",
        "2025-12-31Z",
        "2025-13-01",
        "NaT",
        5,
        True,
        1.5,
    ],  # fmt: skip
)
def test_what_is_not_iso_8601_is_refused_with_one_wording(value):
    with pytest.raises(SmssegError) as caught:
        parse_as_of(value, "--as-of")
    assert str(caught.value).startswith(f"--as-of={value!r} is not a date or timestamp; use ISO")


@pytest.mark.parametrize("value", [None, "", "  "])
def test_a_missing_as_of_is_required_not_defaulted(value):
    with pytest.raises(SmssegError, match="as_of is required"):
        parse_as_of(value)


def test_instants_are_shown_in_utc_with_the_time():
    assert format_instant(parse_as_of("2025-12-31")) == "2025-12-31T00:00Z"
    assert format_instant(parse_as_of("2025-12-31T23:00:07+05:00")) == "2025-12-31T18:00:07Z"
    assert as_of_label(parse_as_of("2026-01-01T00:00Z")) == "2026-01-01"
    assert as_of_label(parse_as_of("2025-12-31T18:00")) == "2025-12-31T18:00Z"


# --- what the data holds after the as-of -------------------------------------------------------


def _after(as_of: str, counts: dict[str, int] | None = None, last="2025-12-31 21:11"):
    return RowsAfter(parse_as_of(as_of), counts or {}, pd.Timestamp(last))


def test_the_note_names_the_counts_and_the_as_of_that_includes_the_last_day():
    note = after_as_of_note(_after("2025-12-31", {"orders": 1008, "sms": 1}))
    assert note == f"1,008 orders and 1 SMS event {NOT_USED}"
    earlier = after_as_of_note(_after("2025-06-30", {"orders": 5, "events": 7, "customers": 2}))
    assert earlier == (
        "5 orders, 7 site events and 2 customers created after 2025-06-30T00:00Z are not used; "
        "pass --as-of 2026-01-01 to use all of it (the data ends on 31 December 2025)"
    )
    assert after_as_of_note(_after("2026-01-01")) is None
    held_out = after_as_of_note(_after("2025-11-01", {"orders": 3}), held_out=True)
    assert held_out.endswith("are held out of training and scoring; they only give the realized "
                             "outcomes")  # fmt: skip


def test_an_as_of_past_the_data_or_the_clock_is_warned_about():
    now = pd.Timestamp("2026-06-01")
    assert as_of_warnings(_after("2026-01-01"), now) == []
    assert as_of_warnings(_after("2025-12-31T12:00"), now) == []
    (late,) = as_of_warnings(_after("2026-03-01"), now)
    assert "is after the end of the data (its last day is 31 December 2025): the 59 day(s)" in late
    assert late.endswith("pass --as-of 2026-01-01 to end with the data")
    (future,) = as_of_warnings(_after("2026-07-01T00:00+02:00"), now)
    assert future.startswith("--as-of 2026-06-30T22:00Z is in the future (now 2026-06-01T00:00Z)")


def test_rows_after_counts_each_dated_table(tmp_path_factory):
    from smsseg.data.load import load

    data = tiny_shop.shop(tmp_path_factory.getbasetemp())
    after = rows_after(load(data), "2025-12-31T12:00Z")
    cut = pd.Timestamp("2025-12-31 12:00")
    orders = pd.read_parquet(data / "orders.parquet")
    events = pd.read_parquet(data / "events.parquet")
    assert after.counts["orders"] == (orders["ordered_at"] > cut).sum() > 0
    assert after.counts["events"] == (events["occurred_at"] > cut).sum() > 0
    assert "promotions" not in after.counts  # a calendar planned in advance, never "left out"
    assert after.last >= max(orders["ordered_at"].max(), events["occurred_at"].max())
    assert after.last_day == pd.Timestamp("2025-12-31")
    assert after.covering_as_of == pd.Timestamp("2026-01-01")


# --- every command, every spelling -------------------------------------------------------------


def _expected_note(data, *, skip=("promotions",)) -> str:
    """The counts rows_after must find at AS_OF, from the files themselves."""
    from smsseg.data.contract import TABLES
    from smsseg.provenance import ROW_NOUNS

    cut, parts = pd.Timestamp(AS_OF), []
    for name, spec in TABLES.items():
        path = data / f"{name}.parquet"
        if spec.time_column is None or name in skip or not path.is_file():
            continue
        n = int((pd.read_parquet(path, columns=[spec.time_column]).iloc[:, 0] > cut).sum())
        if n:
            parts.append(f"{n:,} {ROW_NOUNS[name][n != 1]}")
    listing = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return f"{listing} {NOT_USED}"


def _command(name: str, as_of: str, base, out):
    data = tiny_shop.shop(base)
    return {
        "features": lambda: ["features", "--data", data, "--as-of", as_of,
                             "--out", out / "f.parquet", "--no-btyd"],
        "train": lambda: ["train", "--data", data, "--as-of", as_of, "--model", out / "m",
                          *FAST_TRAIN],
        "score": lambda: ["score", "--data", data, "--as-of", as_of,
                          "--model", tiny_shop.model(base), "--out", out / "s.parquet"],
        "segment": lambda: ["segment", "--data", data, "--as-of", as_of,
                            "--scores", tiny_shop.scores(base), "--out", out / "seg",
                            "--no-mlflow", "--stability-boot", "0"],
        "plan": lambda: ["plan", "--segments", tiny_shop.segments(base), "--data", data,
                         "--as-of", as_of, "--goal", "reduce_churn", "--out", out / "plan"],
    }[name]()  # fmt: skip


#: The Parquet output each command writes, with its provenance.
OUTPUTS = {"features": "f.parquet", "score": "s.parquet", "segment": "seg/membership.parquet",
           "plan": "plan/plan.parquet"}  # fmt: skip


#: Commands × spellings. Training is the slow one: the shared model was trained with the date
#: spelling, so train runs with the two spellings that used to crash it.
MATRIX = [
    (command, spelling)
    for command in ("features", "train", "score", "segment", "plan")
    for spelling in SPELLINGS
    if command != "train" or spelling in ("Z", "offset")
]


@pytest.mark.parametrize(("command", "spelling"), MATRIX, ids=[f"{c}-{s}" for c, s in MATRIX])
def test_every_command_takes_every_spelling_and_says_what_it_leaves_out(
    command, spelling, tmp_path, tmp_path_factory
):
    base = tmp_path_factory.getbasetemp()
    # scores and segments made with the date spelling are accepted with any other: one instant
    result = ok(*_command(command, SPELLINGS[spelling], base, tmp_path))
    data = tiny_shop.shop(base)
    # a plan reads consent (SMS) whatever its date, so it leaves out no SMS row
    expected = _expected_note(
        data, skip=("promotions", "sms") if command == "plan" else ("promotions",)
    )
    assert f"note: {expected}" in result.text
    assert "Traceback" not in result.output
    if command in OUTPUTS:
        metadata = pq.read_schema(tmp_path / OUTPUTS[command]).metadata
        assert metadata[b"smsseg.as_of"] == b"2025-12-31T00:00:00Z"


@pytest.mark.parametrize("spelling", ["Z", "offset"])  # the spellings that used to crash it
def test_backtest_takes_every_spelling_and_says_its_future_is_held_out(spelling, tmp_path_factory):
    data = tiny_shop.shop(tmp_path_factory.getbasetemp())
    result = ok("backtest", "--data", data, "--as-of", T_SPELLINGS[spelling], *FAST_TRAIN)
    orders = pd.read_parquet(data / "orders.parquet")
    n = int((orders["ordered_at"] > pd.Timestamp("2025-11-01")).sum())
    assert f"{n:,} orders" in result.text
    assert "after 2025-11-01T00:00Z are held out of training and scoring" in result.text
    assert "Realized churn in (2025-11-01, +30 days]" in result.text


@pytest.mark.parametrize(
    "command", ["features", "train", "score", "segment", "plan", "backtest", "demo"]
)
def test_a_bad_as_of_gets_the_same_message_in_every_command(command, tmp_path):
    args = {
        "features": ["--data", tmp_path, "--out", tmp_path / "f.parquet"],
        "train": ["--data", tmp_path, "--no-mlflow"],
        "score": ["--data", tmp_path, "--out", tmp_path / "s.parquet"],
        "segment": ["--data", tmp_path, "--scores", tmp_path / "s.parquet", "--out", tmp_path],
        "plan": ["--segments", tmp_path, "--data", tmp_path, "--goal", "reduce_churn",
                 "--out", tmp_path / "p"],
        "backtest": ["--data", tmp_path, "--no-mlflow"],
        "demo": ["--out", tmp_path / "demo"],
    }[command]  # fmt: skip
    result = invoke(command, *args, "--as-of", "12/31/2025")
    assert result.exit_code == 1, result.output
    assert result.text.startswith(
        "error: --as-of='12/31/2025' is not a date or timestamp; use ISO 8601, e.g. 2025-12-31,"
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2026-01-01", None),
        ("2026-03-01", "is after the end of the data (its last day is 31 December 2025)"),
        ("2999-01-01T00:00Z", "--as-of 2999-01-01T00:00Z is in the future"),
    ],
    ids=["covering", "after-the-data", "future"],
)
def test_an_as_of_past_the_data_gets_a_warning(as_of, message, tmp_path, tmp_path_factory):
    data = tiny_shop.shop(tmp_path_factory.getbasetemp())
    result = ok("features", "--data", data, "--as-of", as_of, "--out", tmp_path / "f.parquet",
                "--no-btyd")  # fmt: skip
    if message is None:  # the as-of that includes the last day: nothing to say
        assert "note:" not in result.text and "warning: --as-of" not in result.text
    else:
        assert "warning: --as-of" in result.text and message in result.text
