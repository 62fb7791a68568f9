"""Nation packs: what changes between England, Wales, Scotland and Northern
Ireland, as data (DOMAIN.md sections 9 and 11).

Each ``<name>.toml`` file beside this module is one pack: the school's lead
person and the other words staff see, where a referral or an allegation goes,
which duties apply, and the guidance a record cites. A pack may ``extends``
another (a local authority's variant overrides a few facts of its nation's
pack), and may bring its own templates in ``prompts/nations/<name>/``, which
are read before the defaults. Adding a nation or a variant is adding files.

Guidance changes every September and law starts on commencement dates, so a
fact or a piece of guidance may list dated ``editions``, each with the day it
applies ``from``. An edition with ``pending = true`` and no ``from`` is a duty
whose commencement regulations are not yet made: ready, and off.
:meth:`NationPack.on` gives the pack as it stood on a day; a record is built
from that, and keeps what it cited whatever the pack says later.

Every fact carries its source and whether it was confirmed; :func:`load`
refuses a pack where one does not. Pure: no chat service, no settings.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, TypeVar

PACKS_DIR = Path(__file__).parent
DEFAULT_NATION = "england"
# Tables whose entries are facts: each has a value, a source and "confirmed".
FACT_TABLES = ("terms", "duties", "routes")
# What a record keeps of each piece of guidance it cites.
CITATION_FIELDS = ("title", "year", "section", "url")


_T = TypeVar("_T", "Fact", "Edition")


class PackError(ValueError):
    """A pack file is missing, malformed, or holds a fact without a source."""


@dataclass(frozen=True)
class Fact:
    value: Any
    source: str
    confirmed: bool
    note: str = ""
    # The day it applies from (None: always); pending: commencement awaited.
    start: date | None = None
    pending: bool = False

    def in_force(self, day: date) -> bool:
        if self.start is not None:
            return self.start <= day
        return not self.pending


@dataclass(frozen=True)
class Edition:
    """One edition of a piece of guidance (or of a law's duty), as cited."""

    gid: str
    fields: Mapping[str, str]
    confirmed: bool
    source: str = ""
    note: str = ""
    start: date | None = None
    pending: bool = False

    def in_force(self, day: date) -> bool:
        if self.start is not None:
            return self.start <= day
        return not self.pending


@dataclass(frozen=True)
class Timeline:
    """Every edition of every fact and piece of guidance in a pack."""

    facts: Mapping[str, tuple[Fact, ...]]
    guidance: Mapping[str, tuple[Edition, ...]]

    @cached_property
    def starts(self) -> tuple[date, ...]:
        days = {f.start for fs in self.facts.values() for f in fs if f.start}
        days |= {e.start for es in self.guidance.values() for e in es if e.start}
        return tuple(sorted(days))


def _today() -> date:
    return date.today()


# The day a pack is read on when no day is given (a test may set it).
today: Callable[[], date] = _today


@dataclass(frozen=True)
class NationPack:
    """One nation's (or variant's) words, routes, duties and citations, as
    they stood on ``day``."""

    name: str
    title: str
    version: str
    # This pack first, then the packs it extends: the order its template
    # directories are searched in.
    lineage: tuple[str, ...]
    facts: Mapping[str, Fact]
    guidance: Mapping[str, Mapping[str, Any]]
    cite: Mapping[str, tuple[str, ...]]
    terms: Mapping[str, str] = field(default_factory=dict)
    duties: Mapping[str, Any] = field(default_factory=dict)
    routes: Mapping[str, Any] = field(default_factory=dict)
    timeline: Timeline = field(default_factory=lambda: Timeline({}, {}))
    day: date | None = None

    def term(self, key: str) -> str:
        return str(self.terms[key])

    def duty(self, key: str) -> bool:
        return bool(self.duties.get(key, False))

    def destination(self, route_key: str) -> str:
        """Where a route leaves the school (``routes.<key>`` of the pack)."""
        return str(self.routes.get(route_key, ""))

    @property
    def guidance_version(self) -> str:
        """The editions in force, named briefly: what the wording follows."""
        return self.version_of(self.guidance)

    def version_of(self, ids: Iterable[str]) -> str:
        """These pieces of guidance, as in force, named briefly (a record's
        line says only what it cites)."""
        found = (self.guidance[g] for g in ids if g in self.guidance)
        names = (" ".join(p for p in (str(g.get("short") or g["title"]), str(g.get("year", "")))
                          if p) for g in found)
        return "; ".join(dict.fromkeys(names))

    def on(self, day: date) -> NationPack:
        """This pack as it stood on ``day``: the editions and duties in force."""
        return _on(self, _boundary(self.timeline, day))

    def citation(self, guidance_id: str) -> str:
        """A short citation: title, year and section, of the edition in force."""
        g = self.guidance[guidance_id]
        parts = [str(g["title"]), str(g.get("year", ""))]
        text = " ".join(p for p in parts if p)
        return f"{text}, {g['section']}" if g.get("section") else text

    def cited(self, *keys: str) -> list[dict[str, Any]]:
        """The guidance a record on these routes (and duties, and situations)
        cites: the pack's ``always`` list, then each key's own; unknown keys,
        and guidance not in force on the pack's day, cite nothing."""
        ids: list[str] = []
        for key in ("always", *keys):
            for gid in self.cite.get(key, ()):
                if gid not in ids and gid in self.guidance:
                    ids.append(gid)
        return [{"id": gid, **{k: str(self.guidance[gid].get(k, "")) for k in CITATION_FIELDS},
                 "from": str(self.guidance[gid].get("from", "")),
                 "confirmed": bool(self.guidance[gid].get("confirmed", False))}
                for gid in ids]

    def snapshot(self) -> dict[str, Any]:
        """What a record keeps so it renders in its own pack's words later,
        whatever the school's setting or the pack file says by then."""
        return {"name": self.name, "title": self.title, "version": self.version,
                "terms": dict(self.terms)}

    def unconfirmed(self) -> list[str]:
        """Facts and citations in force that no source confirmed."""
        keys = [k for k, f in self.facts.items() if not f.confirmed]
        keys += [f"guidance.{k}" for k, g in self.guidance.items() if not g.get("confirmed")]
        return sorted(keys)

    def rules(self) -> list[dict[str, Any]]:
        """Every dated or pending rule and edition in the pack, for
        ``jigsaw guidance`` and the README: what it is, from when, whether it
        is in force on the pack's day, and whether a source confirmed it."""
        day = self.day or today()
        rows: list[dict[str, Any]] = []
        for gid, editions in self.timeline.guidance.items():
            for e in editions:
                rows.append({"kind": "guidance", "key": gid,
                             "what": " ".join(p for p in (e.fields.get("title", ""),
                                                          e.fields.get("year", "")) if p),
                             "section": e.fields.get("section", ""),
                             "from": e.start, "pending": e.pending and e.start is None,
                             "in_force": e.in_force(day) and _newest(editions, day) is e,
                             "confirmed": e.confirmed, "source": e.source, "note": e.note})
        for key, facts in self.timeline.facts.items():
            if len(facts) == 1 and facts[0].start is None and not facts[0].pending:
                continue  # undated facts are in the pack's table, not its timeline
            for f in facts:
                what = {True: "on", False: "off"}.get(f.value, f.value) if isinstance(
                    f.value, bool) else str(f.value)
                rows.append({"kind": key.split(".", 1)[0], "key": key.split(".", 1)[1],
                             "what": what, "section": "",
                             "from": f.start, "pending": f.pending and f.start is None,
                             "in_force": f.in_force(day) and _newest(facts, day) is f,
                             "confirmed": f.confirmed, "source": f.source, "note": f.note})
        return rows


def _newest(editions: tuple[_T, ...], day: date) -> _T | None:
    """The latest edition in force on ``day`` (editions are sorted by start)."""
    current: _T | None = None
    for e in editions:
        if e.in_force(day):
            current = e
    return current


def _boundary(timeline: Timeline, day: date) -> date:
    """The latest start date on or before ``day``: packs on days with the
    same boundary are the same pack (so one object per edition set)."""
    starts = [d for d in timeline.starts if d <= day]
    return starts[-1] if starts else date.min


# Packs resolved on a boundary day, by timeline: one object per edition set.
# Each value holds its timeline, so the id in its key stays that timeline's.
_RESOLVED: dict[tuple[int, date], NationPack] = {}


def _on(pack: NationPack, boundary: date) -> NationPack:
    key = (id(pack.timeline), boundary)
    found = _RESOLVED.get(key)
    if found is None or found.timeline is not pack.timeline:
        found = _RESOLVED[key] = _resolved(pack, boundary)
    return found


def _resolved(pack: NationPack, day: date) -> NationPack:
    facts: dict[str, Fact] = {}
    for key, editions in pack.timeline.facts.items():
        current = _newest(editions, day)
        if current is not None:
            facts[key] = current
    guidance: dict[str, dict[str, Any]] = {}
    for gid, g_editions in pack.timeline.guidance.items():
        edition = _newest(g_editions, day)
        if edition is not None:
            guidance[gid] = {**edition.fields, "confirmed": edition.confirmed,
                             "from": edition.start.isoformat() if edition.start else ""}

    def table(prefix: str) -> dict[str, Any]:
        return {k.split(".", 1)[1]: f.value for k, f in facts.items()
                if k.startswith(prefix + ".")}

    return dataclasses.replace(pack, facts=facts, guidance=guidance, terms=table("terms"),
                               duties=table("duties"), routes=table("routes"), day=day)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(f"no nation pack {path.stem!r} in {path.parent}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{path}: {exc}") from exc


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, table by table; a fact is replaced whole."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if key in FACT_TABLES or key in ("guidance", "cite"):
            merged.setdefault(key, {}).update(copy.deepcopy(value))
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _resolve(name: str, directory: Path, seen: tuple[str, ...] = ()) -> tuple[
        dict[str, Any], tuple[str, ...]]:
    if name in seen:
        raise PackError(f"nation pack {name!r} extends itself")
    raw = _read(directory / f"{name}.toml")
    base_name = str(raw.get("pack", {}).get("extends", "") or "")
    if not base_name:
        return raw, (name,)
    base, lineage = _resolve(base_name, directory, (*seen, name))
    return _merge(base, raw), (name, *lineage)


def _dating(entry: Mapping[str, Any], where: str) -> tuple[date | None, bool]:
    start = entry.get("from")
    pending = entry.get("pending", False)
    if start is not None and not isinstance(start, date):
        raise PackError(f"{where}: from must be a date (from = 2026-09-01)")
    if not isinstance(pending, bool):
        raise PackError(f"{where}: pending must be true or false")
    return start, pending


def _editions(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """An entry's editions, each with the entry's own fields as defaults."""
    listed = entry.get("editions")
    if listed is None:
        return [entry]
    base = {k: v for k, v in entry.items() if k != "editions"}
    return [{**base, **e} for e in listed]


def _facts(raw: dict[str, Any], name: str) -> dict[str, tuple[Fact, ...]]:
    facts: dict[str, tuple[Fact, ...]] = {}
    for table in FACT_TABLES:
        for key, entry in raw.get(table, {}).items():
            where = f"{name}: {table}.{key}"
            if not isinstance(entry, dict):
                raise PackError(f"{where} must be a table with a value")
            found = []
            for edition in _editions(entry):
                if "value" not in edition:
                    raise PackError(f"{where} must be a table with a value")
                if not str(edition.get("source", "")).strip():
                    raise PackError(f"{where} has no source")
                if not isinstance(edition.get("confirmed"), bool):
                    raise PackError(f"{where} must say confirmed = true or false")
                start, pending = _dating(edition, where)
                found.append(Fact(edition["value"], str(edition["source"]),
                                  edition["confirmed"], str(edition.get("note", "")),
                                  start, pending))
            facts[f"{table}.{key}"] = tuple(sorted(found, key=lambda f: f.start or date.min))
    return facts


def _guidance(raw: dict[str, Any], name: str) -> dict[str, tuple[Edition, ...]]:
    guidance: dict[str, tuple[Edition, ...]] = {}
    for gid, entry in raw.get("guidance", {}).items():
        where = f"{name}: guidance.{gid}"
        found = []
        for edition in _editions(entry):
            if not edition.get("title") or not (edition.get("url") or edition.get("section")):
                raise PackError(f"{where} needs a title and a url or section")
            if not isinstance(edition.get("confirmed"), bool):
                raise PackError(f"{where} must say confirmed = true or false")
            if not str(edition.get("source", "")).strip():
                raise PackError(f"{where} has no source")
            start, pending = _dating(edition, where)
            fields = {k: str(edition[k]) for k in (*CITATION_FIELDS, "short") if edition.get(k)}
            found.append(Edition(gid, fields, edition["confirmed"],
                                 str(edition.get("source", "")), str(edition.get("note", "")),
                                 start, pending))
        guidance[gid] = tuple(sorted(found, key=lambda e: e.start or date.min))
    return guidance


def load(name: str, directory: Path = PACKS_DIR) -> NationPack:
    """The pack called ``name``, with everything it extends, checked, as it
    stands on :data:`today`."""
    raw, lineage = _resolve(name, directory)
    meta = raw.get("pack", {})
    timeline = Timeline(_facts(raw, name), _guidance(raw, name))
    cite = {k: tuple(v) for k, v in raw.get("cite", {}).items()}
    for key, ids in cite.items():
        missing = [g for g in ids if g not in timeline.guidance]
        if missing:
            raise PackError(f"{name}: cite.{key} names unknown guidance {', '.join(missing)}")
    for required in ("version", "title"):
        if not meta.get(required):
            raise PackError(f"{name}: pack.{required} is missing")
    whole = NationPack(name=name, title=str(meta["title"]), version=str(meta["version"]),
                       lineage=lineage, facts={}, guidance={}, cite=cite, timeline=timeline)
    return whole.on(today())


@lru_cache(maxsize=32)
def _loaded(name: str, commenced: tuple[tuple[str, date], ...] = ()) -> NationPack:
    return commence(load(name), dict(commenced)) if commenced else load(name)


def pack(name: str = DEFAULT_NATION, day: date | None = None,
         commenced: Mapping[str, date] | None = None) -> NationPack:
    """A pack from this directory (loaded once), as it stood on ``day``
    (today when not given). ``commenced`` gives pending rules the day their
    regulations start (a school's setting, before the pack is updated)."""
    return _loaded(name, tuple(sorted((commenced or {}).items()))).on(day or today())


def pending_rules(pack_: NationPack) -> tuple[str, ...]:
    """Rules waiting for commencement: the keys ``commenced`` may name."""
    keys = {k.split(".", 1)[1] for k, fs in pack_.timeline.facts.items()
            if any(f.pending and f.start is None for f in fs)}
    keys |= {g for g, es in pack_.timeline.guidance.items()
             if any(e.pending and e.start is None for e in es)}
    return tuple(sorted(keys))


def commence(pack_: NationPack, commenced: Mapping[str, date]) -> NationPack:
    """``pack_`` with each named pending rule (a duty and the guidance of the
    same key) in force from its date."""
    unknown = set(commenced) - set(pending_rules(pack_))
    if unknown:
        raise PackError(f"{pack_.name}: nothing pending is called {', '.join(sorted(unknown))}")

    def dated(key: str, editions: tuple[_T, ...]) -> tuple[_T, ...]:
        start = commenced.get(key)
        if start is None:
            return editions
        return tuple(dataclasses.replace(e, start=start) if e.pending and e.start is None
                     else e for e in editions)

    timeline = Timeline(
        {k: dated(k.split(".", 1)[1] if k.startswith("duties.") else "", fs)
         for k, fs in pack_.timeline.facts.items()},
        {g: dated(g, es) for g, es in pack_.timeline.guidance.items()})
    return dataclasses.replace(pack_, timeline=timeline).on(pack_.day or today())


def available(directory: Path = PACKS_DIR) -> tuple[str, ...]:
    """The packs a school may choose: every ``*.toml`` here, sorted."""
    return tuple(sorted(p.stem for p in directory.glob("*.toml")))


@lru_cache(maxsize=1)
def fgm_duty_nations() -> tuple[str, ...]:
    """Packs under the FGM reporting duty (FGM Act 2003 s.5B: England and Wales)."""
    return tuple(n for n in available() if pack(n).duty("fgm_reporting"))


def adult_protection_from(name: str) -> int:
    """The age adult protection law starts at in a nation (16 in Scotland,
    Adult Support and Protection (Scotland) Act 2007; 18 elsewhere)."""
    try:
        return int(pack(name).term("adult_protection_from"))
    except (KeyError, ValueError):
        return 18


def from_snapshot(snapshot: Mapping[str, Any] | None, fallback: str = DEFAULT_NATION
                  ) -> NationPack:
    """The pack a record was made under, with the words it stored, so it
    renders as it did then. Records from before packs existed get the
    named (or default) pack as it is now."""
    snap = dict(snapshot or {})
    name = str(snap.get("name") or fallback)
    current = pack(name) if name in available() else pack(DEFAULT_NATION)
    if not snap.get("terms"):
        return current
    # A term added to the pack after the record was made: its first edition,
    # the words of the record's time, not today's.
    first = {k.split(".", 1)[1]: fs[0].value for k, fs in current.timeline.facts.items()
             if k.startswith("terms.") and fs}
    return dataclasses.replace(
        current, name=name, title=str(snap.get("title", current.title)),
        version=str(snap.get("version", current.version)),
        terms={**current.terms, **first, **snap["terms"]})
