"""The segment catalogue: the default ``catalogue.toml`` merged with a user's override file.

A user file holds only what it changes (any subset of the default's keys, at any depth); a key
the default does not have is an error naming the key, so a typo never silently keeps the
default. Lists and threshold values replace the default's; tables merge key by key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from smsseg.errors import SmssegError
from smsseg.segments.rules import RULES, SEGMENT_KEYS


class CatalogueError(SmssegError):
    """A catalogue file is unreadable, has unknown keys or breaks a rule."""


#: Where the default catalogue lives (package data).
DEFAULT_CATALOGUE = "catalogue.toml"
#: The catalogue schema version this code reads.
CATALOGUE_VERSION = 1


def _plain(value: object) -> object:
    """A threshold as it reads in a sentence: ``a, b`` for lists, ``a 1, b 2`` for tables."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    return value


@dataclass(frozen=True)
class Segment:
    """One segment of the catalogue.

    Parameters
    ----------
    key : the key used in outputs (``is_<key>`` columns, ``primary_segment``).
    name : display name.
    definition : who is in it; ``{threshold}`` placeholders are filled by :meth:`describe`.
    why : why the segment matters.
    message_types : recommended message types (from the catalogue's vocabulary).
    flow : the lifecycle flow it feeds (``""``: campaigns only, no automated flow).
    frequency_cap_per_week : default maximum SMS per week.
    sunset_after_messages : after this many more messages the customer is suppressed
        (0: never); the dormant segment's sunset.
    thresholds : the rule's parameters (see :mod:`smsseg.segments.rules`).
    excludes : segments whose members are removed from this one (at_risk excludes dormant).
    records : feature columns carried into the membership output for members.
    """

    key: str
    name: str
    definition: str
    why: str
    message_types: tuple[str, ...]
    flow: str
    frequency_cap_per_week: int
    sunset_after_messages: int = 0
    thresholds: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    excludes: tuple[str, ...] = ()
    records: tuple[str, ...] = ()

    def describe(self) -> str:
        """The definition with its thresholds filled in (lists and tables as plain text)."""
        return self.definition.format_map({k: _plain(v) for k, v in self.thresholds.items()})


@dataclass(frozen=True)
class Catalogue:
    """The twelve segments, the catch-all, the primary-segment priority and the vocabulary."""

    segments: Mapping[str, Segment]
    priority: tuple[str, ...]
    catch_all: Segment
    message_types: tuple[str, ...]
    flows: tuple[str, ...]
    sources: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """The segment keys in catalogue order (without the catch-all)."""
        return tuple(self.segments)

    def __getitem__(self, key: str) -> Segment:
        if key == self.catch_all.key:
            return self.catch_all
        if key not in self.segments:
            raise KeyError(f"unknown segment {key!r}; known: {', '.join(self.keys)}")
        return self.segments[key]

    def all_segments(self) -> tuple[Segment, ...]:
        """The twelve segments then the catch-all."""
        return (*self.segments.values(), self.catch_all)

    def to_frame(self) -> pd.DataFrame:
        """One row per segment (catch-all last): key, name, definition, why, messages, flow, caps."""
        rows = [
            {
                "key": s.key,
                "name": s.name,
                "priority": self.priority.index(s.key) + 1 if s.key in self.priority else None,
                "definition": s.describe(),
                "why": s.why,
                "message_types": ";".join(s.message_types),
                "flow": s.flow,
                "frequency_cap_per_week": s.frequency_cap_per_week,
                "sunset_after_messages": s.sunset_after_messages,
            }
            for s in self.all_segments()
        ]
        return pd.DataFrame(rows)


# ---------------------------------------------------------------------- reading and merging
def _read_toml(path: Path) -> dict:
    if not path.is_file():
        raise CatalogueError(f"catalogue file {path} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"catalogue file {path} is not valid TOML: {exc}") from None


def default_catalogue_dict() -> dict:
    """The default catalogue as parsed TOML."""
    text = resources.files("smsseg.segments").joinpath(DEFAULT_CATALOGUE).read_text("utf-8")
    return tomllib.loads(text)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a table"


def merge(default: Mapping, user: Mapping, where: str, path: str = "") -> dict:
    """``default`` updated with ``user``; unknown keys and type changes raise, naming the key.

    Tables merge key by key, except threshold values (``...thresholds.<name>``), which like
    every other value replace the default's.
    """
    out = dict(default)
    for key, value in user.items():
        dotted = f"{path}.{key}" if path else key
        if key not in default:
            known = ", ".join(sorted(default)) or "none"
            raise CatalogueError(f"unknown key '{dotted}' in {where} (known here: {known})")
        base = default[key]
        if _kind(value) != _kind(base):
            raise CatalogueError(
                f"'{dotted}' = {value!r} in {where} must be {_kind(base)}, like the default {base!r}"
            )
        leaf = path.endswith(".thresholds")
        out[key] = (
            merge(base, value, where, dotted) if isinstance(base, dict) and not leaf else value
        )
    return out


# ---------------------------------------------------------------------- validation
def _segment(key: str, raw: Mapping) -> Segment:
    return Segment(
        key=key,
        name=str(raw["name"]),
        definition=str(raw["definition"]),
        why=str(raw["why"]),
        message_types=tuple(raw["message_types"]),
        flow=str(raw["flow"]),
        frequency_cap_per_week=raw["frequency_cap_per_week"],
        sunset_after_messages=raw.get("sunset_after_messages", 0),
        thresholds=MappingProxyType(dict(raw.get("thresholds", {}))),
        excludes=tuple(raw.get("excludes", ())),
        records=tuple(raw.get("records", ())),
    )


def _segment_problems(seg: Segment, where: str, vocab: tuple, flows: tuple) -> list[str]:
    keys = SEGMENT_KEYS
    problems = [
        f"{where}.message_types has unknown {m!r} (vocabulary: {', '.join(vocab)})"
        for m in seg.message_types
        if m not in vocab
    ]
    if seg.flow and seg.flow not in flows:
        problems.append(f"{where}.flow={seg.flow!r} must be '' or one of {', '.join(flows)}")
    for name in ("frequency_cap_per_week", "sunset_after_messages"):
        value = getattr(seg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{where}.{name}={value!r} must be a whole number >= 0")
    for other in seg.excludes:
        if other not in keys or other == seg.key:
            problems.append(f"{where}.excludes has {other!r}, which is not another segment key")
    try:
        seg.describe()
    except (KeyError, ValueError, IndexError) as exc:
        problems.append(f"{where}.definition refers to an unknown threshold {exc}")
    if where != "catch_all":
        problems += [f"{where}.thresholds.{p}" for p in threshold_problems(seg.key, seg.thresholds)]
    return problems


def threshold_problems(key: str, thresholds: Mapping) -> list[str]:
    """Thresholds that break the rule's bounds, choices or cross-checks."""
    rule = RULES[key]
    problems = []
    for name, (low, high) in rule.bounds.items():
        value = thresholds[name]
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
            problems.append(f"{name}={value!r} must be in {span}")
    for name, allowed in rule.choices.items():
        if thresholds[name] not in allowed:
            problems.append(f"{name}={thresholds[name]!r} must be one of {', '.join(allowed)}")
    return problems + (rule.check(thresholds) if rule.check and not problems else [])


def _priority_problems(priority: tuple) -> list[str]:
    problems = []
    missing = [k for k in SEGMENT_KEYS if k not in priority]
    unknown = [k for k in priority if k not in SEGMENT_KEYS]
    duplicated = sorted({k for k in priority if priority.count(k) > 1})
    if missing or unknown or duplicated:
        problems.append(
            f"catalogue.priority must list each of the {len(SEGMENT_KEYS)} segment keys once "
            f"(missing {missing}, unknown {unknown}, repeated {duplicated})"
        )
    return problems


def build_catalogue(raw: Mapping, sources: tuple[str, ...] = ()) -> Catalogue:
    """A validated :class:`Catalogue` from a merged catalogue dict.

    Raises
    ------
    CatalogueError
        Listing every broken rule at once.
    """
    vocab = tuple(raw["vocabulary"]["message_types"])
    flows = tuple(raw["vocabulary"]["flows"])
    segments = {key: _segment(key, raw["segments"][key]) for key in SEGMENT_KEYS}
    catch_raw = dict(raw["catch_all"])
    catch_all = _segment(str(catch_raw.pop("key")), catch_raw)
    priority = tuple(raw["catalogue"]["priority"])
    problems = _priority_problems(priority)
    if raw["catalogue"].get("version") != CATALOGUE_VERSION:
        problems.append(
            f"catalogue.version={raw['catalogue'].get('version')!r} must be {CATALOGUE_VERSION}"
        )
    if catch_all.key in SEGMENT_KEYS or not catch_all.key.isidentifier():
        problems.append(f"catch_all.key={catch_all.key!r} must be a new identifier-like key")
    for key, seg in segments.items():
        problems += _segment_problems(seg, f"segments.{key}", vocab, flows)
    problems += _segment_problems(catch_all, "catch_all", vocab, flows)
    if problems:
        where = " + ".join(sources) or "catalogue"
        raise CatalogueError(f"invalid segment catalogue ({where}): " + "; ".join(problems))
    return Catalogue(segments, priority, catch_all, vocab, flows, sources)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The default catalogue, merged with the user's override file ``path`` when given.

    Parameters
    ----------
    path : a TOML file holding any subset of the default catalogue's keys.

    Returns
    -------
    Catalogue

    Raises
    ------
    CatalogueError
        Missing or invalid file, unknown key (named in the message), wrong value type, or a
        threshold out of its bounds.

    Example
    -------
    >>> catalogue = load_catalogue()
    >>> catalogue["dormant"].thresholds["days"], catalogue["vip"].frequency_cap_per_week
    (120, 2)
    """
    raw = default_catalogue_dict()
    sources = ("default",)
    if path is not None:
        path = Path(path)
        raw = merge(raw, _read_toml(path), where=str(path))
        sources += (str(path),)
    return build_catalogue(raw, sources)
