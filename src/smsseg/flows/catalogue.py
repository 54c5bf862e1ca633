"""The lifecycle flow catalogue: the default ``catalogue.toml`` merged with a user's file.

Each flow is declared as data, in the segment catalogue's style: a trigger, steps (delay from the
trigger or from the previous step, channel, message type, optional offer and audience), exit
conditions, a re-entry window, a weekly SMS cap and a priority. A user file holds only what it
changes; a flow key the default lacks adds a flow (which must then be complete), a key the
default lacks *inside* a flow is an error naming it, and ``steps`` lists replace the default's.
Every broken rule is listed in one :class:`FlowCatalogueError`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from smsseg.data.contract import EVENT_TYPES
from smsseg.errors import SmssegError
from smsseg.segments.catalogue import merge


class FlowCatalogueError(SmssegError):
    """A flow catalogue file is unreadable, has unknown keys or breaks a rule."""


CATALOGUE_VERSION = 1
CHANNELS = ("sms", "email")
ANCHORS = ("trigger", "previous")
AUDIENCES = ("all", "offer_responsive")
#: Trigger kinds → (description, required parameters, optional parameters).
TRIGGER_KINDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "event": ("a browsing or cart event of one of event_types", ("event_types",), ()),
    "order": ("an order placed", (), ()),
    "opt_in": ("an SMS opt-in", (), ()),
    "loyalty_enrolment": ("enrolment in the loyalty programme", (), ()),
    "restock": (
        "a product the customer viewed (event_types) within lookback_days is restocked",
        ("event_types", "lookback_days"),
        (),
    ),
    "predicted_next_order": (
        "the model's expected next order date, moved by offset (scores)",
        (),
        ("offset",),
    ),
    "churn_band_entry": ("entry to one of the churn risk bands (scores)", ("bands",), ()),
    "dormancy": ("no order, browsing or SMS click for the dormant segment's days", (), ()),
}
#: Exit conditions → what ends the flow instance when it happens after the trigger is known.
EXIT_KINDS: dict[str, str] = {
    "purchase": "an order",
    "opt_out": "an SMS STOP",
    "add_to_cart": "a cart add (the abandoned-cart flow takes over)",
    "engagement": "an order, a browsing event or an SMS click",
    "band_exit": "a later score outside the trigger's churn bands",
}
_FLOW_KEYS = {"name", "description", "segment", "priority", "reentry_days", "max_sms_per_week",
              "exit_on", "trigger", "steps", "enabled"}  # fmt: skip
_STEP_KEYS = {"key", "channel", "message_type", "delay", "after", "offer", "audience"}
_BANDS = ("low", "medium", "high")


@dataclass(frozen=True)
class Trigger:
    """What starts a flow instance: ``kind`` (see :data:`TRIGGER_KINDS`) and its parameters."""

    kind: str
    event_types: tuple[str, ...] = ()
    lookback_days: int = 0
    offset: pd.Timedelta = pd.Timedelta(0)
    bands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One message of a flow.

    Parameters
    ----------
    key : step name, unique in the flow (``reminder_sms``).
    channel : ``sms`` or ``email``.
    message_type : the message (``message_type`` of the plan and the SMS history).
    delay : from the trigger (``after = "trigger"``) or the previous step's scheduled instant.
    after : ``trigger`` or ``previous``.
    offer : the message carries a discount (the discount cool-down applies).
    audience : ``all`` or ``offer_responsive`` (customers the uplift or discount model says
        respond to offers).
    """

    key: str
    channel: str
    message_type: str
    delay: pd.Timedelta
    after: str = "trigger"
    offer: bool = False
    audience: str = "all"


@dataclass(frozen=True)
class Flow:
    """One lifecycle flow; see the module docstring and ``docs/flows.md``."""

    key: str
    name: str
    description: str
    segment: str
    priority: int
    reentry_days: int
    max_sms_per_week: int
    exit_on: tuple[str, ...]
    trigger: Trigger
    steps: tuple[Step, ...]

    def campaign_id(self, step: str) -> str:
        """Campaign id of a step's sends: ``flow-<flow>-<step>`` (stable across runs)."""
        return f"flow-{self.key}-{step}"


@dataclass(frozen=True)
class FlowCatalogue:
    """The enabled flows in priority order, and the offer-responsiveness thresholds."""

    flows: tuple[Flow, ...]
    min_uplift: float
    min_discount_sensitivity: float
    sources: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> Flow:
        for f in self.flows:
            if f.key == key:
                return f
        raise KeyError(f"unknown flow {key!r}; known: {', '.join(f.key for f in self.flows)}")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.flows)

    def to_frame(self) -> pd.DataFrame:
        """One row per step: flow, trigger, step, channel, delay, exits, caps (for docs)."""
        rows = [
            {
                "flow": f.key, "name": f.name, "priority": f.priority, "trigger": f.trigger.kind,
                "step": s.key, "channel": s.channel, "message_type": s.message_type,
                "delay": str(s.delay), "after": s.after, "offer": s.offer, "audience": s.audience,
                "exit_on": ";".join(f.exit_on), "reentry_days": f.reentry_days,
                "max_sms_per_week": f.max_sms_per_week,
            }
            for f in self.flows
            for s in f.steps
        ]  # fmt: skip
        return pd.DataFrame(rows)


def default_catalogue_dict() -> dict:
    """The default flow catalogue as parsed TOML."""
    text = resources.files("smsseg.flows").joinpath("catalogue.toml").read_text("utf-8")
    return tomllib.loads(text)


def _read_toml(path: Path) -> dict:
    if not path.is_file():
        raise FlowCatalogueError(f"flow catalogue file {path} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FlowCatalogueError(f"flow catalogue file {path} is not valid TOML: {exc}") from None


def merge_user(default: Mapping, user: Mapping, where: str) -> dict:
    """``default`` with the user's file applied: flows merge key by key, new flows are added."""
    try:
        top = {k: v for k, v in user.items() if k != "flows"}
        out = merge(default, top, where)
        flows = dict(default["flows"])
        for key, raw in dict(user.get("flows", {})).items():
            if not isinstance(raw, Mapping):
                raise FlowCatalogueError(f"'flows.{key}' in {where} must be a table")
            if key in flows:
                own = {k: raw[k] for k in ("steps", "enabled") if k in raw}  # replaced whole
                rest = {k: v for k, v in raw.items() if k not in own}
                flows[key] = {**merge(flows[key], rest, where, f"flows.{key}"), **own}
            else:
                flows[key] = dict(raw)
    except SmssegError as exc:
        raise FlowCatalogueError(str(exc)) from None
    out["flows"] = flows
    return out


def parse_duration(text: object) -> pd.Timedelta:
    """``"4h"``, ``"2d"``, ``"30min"`` → Timedelta (``d`` read as days, as pandas 4 wants ``D``);
    raises ``ValueError`` when unparsable."""
    return pd.Timedelta(re.sub(r"(?<=\d)\s*d(ays?)?$", " days", str(text).strip()))


def _delay(value: object, where: str, problems: list[str]) -> pd.Timedelta:
    try:
        delay = parse_duration(value)
    except ValueError:
        problems.append(f"{where}={value!r} is not a duration such as '1h', '4h', '2d', '30min'")
        return pd.Timedelta(0)
    if pd.isna(delay):
        problems.append(f"{where}={value!r} is not a duration such as '1h', '4h', '2d'")
        return pd.Timedelta(0)
    return delay


def _whole(value: object, where: str, problems: list[str], low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        problems.append(f"{where}={value!r} must be a whole number >= {low}")
        return low
    return value


def _trigger(raw: object, where: str, problems: list[str]) -> Trigger:
    if not isinstance(raw, Mapping) or "kind" not in raw:
        problems.append(f"{where} must be a table with a kind ({', '.join(TRIGGER_KINDS)})")
        return Trigger("event")
    kind = raw["kind"]
    if kind not in TRIGGER_KINDS:
        problems.append(f"{where}.kind={kind!r} must be one of {', '.join(TRIGGER_KINDS)}")
        return Trigger("event")
    _, required, optional = TRIGGER_KINDS[kind]
    extra = sorted(set(raw) - {"kind", *required, *optional})
    if extra:
        problems.append(f"{where} of kind {kind!r} has unknown key(s) {extra}")
    missing = [k for k in required if k not in raw]
    if missing:
        problems.append(f"{where} of kind {kind!r} needs {missing}")
    events = tuple(raw.get("event_types", ()))
    bad = [e for e in events if e not in EVENT_TYPES]
    if bad or ("event_types" in required and not events):
        problems.append(
            f"{where}.event_types={list(events)!r} must list event types of the data contract "
            f"({', '.join(EVENT_TYPES)})"
        )
    bands = tuple(raw.get("bands", ()))
    if "bands" in required and (not bands or any(b not in _BANDS for b in bands)):
        problems.append(f"{where}.bands={list(bands)!r} must list some of {', '.join(_BANDS)}")
    lookback = raw.get("lookback_days", 0)
    return Trigger(
        kind=kind,
        event_types=events,
        lookback_days=_whole(lookback, f"{where}.lookback_days", problems, 1 if lookback else 0),
        offset=_delay(raw.get("offset", "0h"), f"{where}.offset", problems),
        bands=bands,
    )


def _step(raw: object, where: str, problems: list[str], first: bool) -> Step:
    if not isinstance(raw, Mapping):
        problems.append(f"{where} must be a table")
        return Step("?", "sms", "?", pd.Timedelta(0))
    extra = sorted(set(raw) - _STEP_KEYS)
    if extra:
        problems.append(f"{where} has unknown key(s) {extra}; allowed: {sorted(_STEP_KEYS)}")
    missing = [k for k in ("key", "channel", "message_type", "delay") if k not in raw]
    if missing:
        problems.append(f"{where} needs {missing}")
    step = Step(
        key=str(raw.get("key", "?")),
        channel=raw.get("channel", "sms"),
        message_type=str(raw.get("message_type", "?")),
        delay=_delay(raw.get("delay", "0h"), f"{where}.delay", problems),
        after=raw.get("after", "trigger"),
        offer=raw.get("offer", False),
        audience=raw.get("audience", "all"),
    )
    for name, allowed in (("channel", CHANNELS), ("after", ANCHORS), ("audience", AUDIENCES)):
        if getattr(step, name) not in allowed:
            problems.append(f"{where}.{name}={getattr(step, name)!r} must be one of {allowed}")
    if step.delay < pd.Timedelta(0):
        problems.append(f"{where}.delay={raw.get('delay')!r} must not be negative")
    if first and step.after == "previous":
        problems.append(f"{where}.after='previous' on the first step: there is no previous step")
    if not isinstance(step.offer, bool):
        problems.append(f"{where}.offer={step.offer!r} must be true or false")
    return step


def _flow(key: str, raw: Mapping, problems: list[str]) -> Flow:
    where = f"flows.{key}"
    extra = sorted(set(raw) - _FLOW_KEYS)
    if extra:
        problems.append(f"{where} has unknown key(s) {extra}; allowed: {sorted(_FLOW_KEYS)}")
    missing = sorted(_FLOW_KEYS - {"enabled"} - set(raw))
    if missing:
        problems.append(f"{where} needs {missing}")
    exits = tuple(raw.get("exit_on", ()))
    problems += [
        f"{where}.exit_on has unknown {e!r} (known: {', '.join(EXIT_KINDS)})"
        for e in exits
        if e not in EXIT_KINDS
    ]
    raw_steps = raw.get("steps", [])
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append(f"{where}.steps must be a non-empty list of steps")
        raw_steps = []
    steps = tuple(
        _step(s, f"{where}.steps[{i}]", problems, i == 0) for i, s in enumerate(raw_steps)
    )
    seen = [s.key for s in steps]
    if len(set(seen)) != len(seen):
        problems.append(f"{where}.steps repeat a key: {seen}")
    trigger = _trigger(raw.get("trigger"), f"{where}.trigger", problems)
    if "band_exit" in exits and trigger.kind != "churn_band_entry":
        problems.append(f"{where}.exit_on has 'band_exit' but the trigger is not churn_band_entry")
    return Flow(
        key=key,
        name=str(raw.get("name", key)),
        description=str(raw.get("description", "")),
        segment=str(raw.get("segment", "")),
        priority=_whole(raw.get("priority", 1), f"{where}.priority", problems, 1),
        reentry_days=_whole(raw.get("reentry_days", 0), f"{where}.reentry_days", problems),
        max_sms_per_week=_whole(
            raw.get("max_sms_per_week", 1), f"{where}.max_sms_per_week", problems
        ),
        exit_on=exits,
        trigger=trigger,
        steps=steps,
    )


def build_catalogue(raw: Mapping, sources: tuple[str, ...] = ()) -> FlowCatalogue:
    """A validated :class:`FlowCatalogue` from a merged catalogue dict.

    Raises
    ------
    FlowCatalogueError
        Listing every broken rule at once.
    """
    problems: list[str] = []
    version = raw.get("catalogue", {}).get("version")
    if version != CATALOGUE_VERSION:
        problems.append(f"catalogue.version={version!r} must be {CATALOGUE_VERSION}")
    flows = []
    for key, body in raw.get("flows", {}).items():
        if not key.isidentifier():
            problems.append(f"flows.{key}: a flow key must be identifier-like (abandoned_cart)")
        enabled = body.get("enabled", True)
        if not isinstance(enabled, bool):
            problems.append(f"flows.{key}.enabled={enabled!r} must be true or false")
        elif enabled:
            flows.append(_flow(key, body, problems))
    models = raw.get("models", {})
    for name in ("min_uplift", "min_discount_sensitivity"):
        if isinstance(models.get(name), bool) or not isinstance(models.get(name), int | float):
            problems.append(f"models.{name}={models.get(name)!r} must be a number")
    if problems:
        where = " + ".join(sources) or "flow catalogue"
        raise FlowCatalogueError(f"invalid flow catalogue ({where}): " + "; ".join(problems))
    flows.sort(key=lambda f: (f.priority, f.key))
    return FlowCatalogue(
        tuple(flows),
        float(models["min_uplift"]),
        float(models["min_discount_sensitivity"]),
        sources,
    )


def load_flows(path: str | Path | None = None) -> FlowCatalogue:
    """The default flow catalogue, merged with the user's file ``path`` when given.

    Raises
    ------
    FlowCatalogueError
        Missing or invalid file, unknown key (named), wrong type, or a value breaking its rule.

    Example
    -------
    >>> flows = load_flows()
    >>> flows["abandoned_cart"].steps[1].delay
    Timedelta('0 days 04:00:00')
    """
    raw = default_catalogue_dict()
    sources = ("default",)
    if path is not None:
        path = Path(path)
        raw = merge_user(raw, _read_toml(path), where=str(path))
        sources += (str(path),)
    return build_catalogue(raw, sources)
