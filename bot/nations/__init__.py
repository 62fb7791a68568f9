"""Nation packs: what changes between England, Wales, Scotland and Northern
Ireland, as data (DOMAIN.md section 9).

Each ``<name>.toml`` file beside this module is one pack: the school's lead
person and the other words staff see, where a referral or an allegation goes,
which duties apply, and the guidance a record cites. A pack may ``extends``
another (a local authority's variant overrides a few facts of its nation's
pack), and may bring its own templates in ``prompts/nations/<name>/``, which
are read before the defaults. Adding a nation or a variant is adding files.

Every fact carries its source and whether it was confirmed; :func:`load`
refuses a pack where one does not. Pure: no chat service, no settings.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

PACKS_DIR = Path(__file__).parent
DEFAULT_NATION = "england"
# Tables whose entries are facts: each has a value, a source and "confirmed".
FACT_TABLES = ("terms", "duties", "routes")


class PackError(ValueError):
    """A pack file is missing, malformed, or holds a fact without a source."""


@dataclass(frozen=True)
class Fact:
    value: Any
    source: str
    confirmed: bool
    note: str = ""


@dataclass(frozen=True)
class NationPack:
    """One nation's (or variant's) words, routes, duties and citations."""

    name: str
    title: str
    version: str
    # This pack first, then the packs it extends: the order its template
    # directories are searched in.
    lineage: tuple[str, ...]
    guidance_version: str
    facts: Mapping[str, Fact]
    guidance: Mapping[str, Mapping[str, Any]]
    cite: Mapping[str, tuple[str, ...]]
    terms: Mapping[str, str] = field(default_factory=dict)
    duties: Mapping[str, Any] = field(default_factory=dict)
    routes: Mapping[str, Any] = field(default_factory=dict)

    def term(self, key: str) -> str:
        return str(self.terms[key])

    def duty(self, key: str) -> bool:
        return bool(self.duties.get(key, False))

    def destination(self, route_key: str) -> str:
        """Where a route leaves the school (``routes.<key>`` of the pack)."""
        return str(self.routes.get(route_key, ""))

    def citation(self, guidance_id: str) -> str:
        """A short citation: title, year and section."""
        g = self.guidance[guidance_id]
        parts = [str(g["title"]), str(g.get("year", ""))]
        text = " ".join(p for p in parts if p)
        return f"{text}, {g['section']}" if g.get("section") else text

    def cited(self, *keys: str) -> list[dict[str, Any]]:
        """The guidance a record on these routes cites: the pack's ``always``
        list, then each key's own (unknown keys cite nothing more)."""
        ids: list[str] = []
        for key in ("always", *keys):
            for gid in self.cite.get(key, ()):
                if gid not in ids:
                    ids.append(gid)
        return [{"id": gid, **{k: self.guidance[gid].get(k, "") for k in (
            "title", "year", "section", "url")},
                 "confirmed": bool(self.guidance[gid].get("confirmed", False))}
                for gid in ids]

    def snapshot(self) -> dict[str, Any]:
        """What a record keeps so it renders in its own pack's words later,
        whatever the school's setting or the pack file says by then."""
        return {"name": self.name, "title": self.title, "version": self.version,
                "terms": dict(self.terms)}

    def unconfirmed(self) -> list[str]:
        """Facts and citations no source confirmed, for the README and review."""
        keys = [k for k, f in self.facts.items() if not f.confirmed]
        keys += [f"guidance.{k}" for k, g in self.guidance.items() if not g.get("confirmed")]
        return sorted(keys)


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


def _facts(raw: dict[str, Any], name: str) -> dict[str, Fact]:
    facts: dict[str, Fact] = {}
    for table in FACT_TABLES:
        for key, entry in raw.get(table, {}).items():
            where = f"{name}: {table}.{key}"
            if not isinstance(entry, dict) or "value" not in entry:
                raise PackError(f"{where} must be a table with a value")
            if not str(entry.get("source", "")).strip():
                raise PackError(f"{where} has no source")
            if not isinstance(entry.get("confirmed"), bool):
                raise PackError(f"{where} must say confirmed = true or false")
            facts[f"{table}.{key}"] = Fact(entry["value"], str(entry["source"]),
                                           entry["confirmed"], str(entry.get("note", "")))
    return facts


def load(name: str, directory: Path = PACKS_DIR) -> NationPack:
    """The pack called ``name``, with everything it extends, checked."""
    raw, lineage = _resolve(name, directory)
    meta = raw.get("pack", {})
    facts = _facts(raw, name)
    guidance = raw.get("guidance", {})
    for gid, entry in guidance.items():
        if not entry.get("title") or not (entry.get("url") or entry.get("section")):
            raise PackError(f"{name}: guidance.{gid} needs a title and a url or section")
        if not isinstance(entry.get("confirmed"), bool):
            raise PackError(f"{name}: guidance.{gid} must say confirmed = true or false")
    cite = {k: tuple(v) for k, v in raw.get("cite", {}).items()}
    for key, ids in cite.items():
        missing = [g for g in ids if g not in guidance]
        if missing:
            raise PackError(f"{name}: cite.{key} names unknown guidance {', '.join(missing)}")
    for required in ("version", "title"):
        if not meta.get(required):
            raise PackError(f"{name}: pack.{required} is missing")

    def table(prefix: str) -> dict[str, Any]:
        return {k.split(".", 1)[1]: f.value for k, f in facts.items()
                if k.startswith(prefix + ".")}

    return NationPack(
        name=name, title=str(meta["title"]), version=str(meta["version"]), lineage=lineage,
        guidance_version=str(meta.get("guidance_version", "")), facts=facts,
        guidance=guidance, cite=cite, terms=table("terms"), duties=table("duties"),
        routes=table("routes"),
    )


@lru_cache(maxsize=32)
def pack(name: str = DEFAULT_NATION) -> NationPack:
    """A pack from this directory, loaded once."""
    return load(name)


def available(directory: Path = PACKS_DIR) -> tuple[str, ...]:
    """The packs a school may choose: every ``*.toml`` here, sorted."""
    return tuple(sorted(p.stem for p in directory.glob("*.toml")))


@lru_cache(maxsize=1)
def fgm_duty_nations() -> tuple[str, ...]:
    """Packs under the FGM reporting duty (FGM Act 2003 s.5B: England and Wales)."""
    return tuple(n for n in available() if pack(n).duty("fgm_reporting"))


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
    return NationPack(
        name=name, title=str(snap.get("title", current.title)),
        version=str(snap.get("version", current.version)), lineage=current.lineage,
        guidance_version=current.guidance_version, facts=current.facts,
        guidance=current.guidance, cite=current.cite,
        terms={**current.terms, **snap["terms"]}, duties=current.duties,
        routes=current.routes,
    )
