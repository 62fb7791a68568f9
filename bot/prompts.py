"""Wording lives in ``prompts/`` as Jinja2 templates; this module renders it.

Each step has one template whose blocks hold its question, help and choice
labels, so a school can reword a step by editing one file. Rendering never
escapes for a particular front end: Slack and the terminal each escape what
they show, and user text is only ever passed as data.

Each environment speaks one nation pack's words (``t``: its terms; ``pack``:
the whole pack), and reads the pack's own templates in
``prompts/nations/<name>/`` (and those of the packs it extends) before the
defaults, so a nation overrides a template by having a file of the same name.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

import prompts as _prompts_pkg
from bot import nations

PROMPTS_DIR = Path(_prompts_pkg.__file__).parent
NATIONS_SUBDIR = "nations"


def sentence(text: str) -> str:
    """First letter upper case, the rest as written ("the HSC Trust..." stays)."""
    return text[:1].upper() + text[1:]


class Prompts:
    """A small facade over a Jinja2 environment rooted at ``prompts/``."""

    def __init__(self, directory: Path = PROMPTS_DIR,
                 pack: nations.NationPack | None = None, **globals_: Any) -> None:
        self.directory = directory
        self.pack = pack or nations.pack()
        search = [str(directory / NATIONS_SUBDIR / name) for name in self.pack.lineage
                  if (directory / NATIONS_SUBDIR / name).is_dir()]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*search, str(directory)]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.globals.update(globals_)
        self.env.globals["t"] = dict(self.pack.terms)
        self.env.globals["pack"] = self.pack
        self.env.filters["sentence"] = sentence
        self.env.globals["label"] = self.label
        self.env.globals["wording"] = self.wording
        self.env.filters["wording"] = lambda value, prefix="": self.wording(f"{prefix}{value}",
                                                                            str(value))

    def wording(self, key: str, default: str = "") -> str:
        """A record label (``prompts/record/labels.j2``), e.g. ``decision_share``."""
        return self.block("record/labels.j2", key, default=default or key)

    def label(self, step: str, value: str | None) -> str:
        """The wording of one choice, for showing stored answers back."""
        if value in (None, ""):
            return ""
        name = f"steps/{step}.j2"
        return self.block(name, f"choice_{value}", default=str(value))

    def render(self, name: str, **context: Any) -> str:
        """Render a whole template, trimmed."""
        return self.env.get_template(name).render(**context).strip()

    def block(self, name: str, block: str, default: str | None = None, **context: Any) -> str:
        """Render one named block of a template (a question, a label...)."""
        template = self.env.get_template(name)
        render = template.blocks.get(block)
        if render is None:
            if default is not None:
                return default
            raise KeyError(f"{name} has no block {block!r}")
        ctx = template.new_context(dict(context))
        return "".join(render(ctx)).strip()

    def for_record(self, record: dict[str, Any]) -> Prompts:
        """Wording for a stored record: the nation and words it was made
        under, whatever the school's setting is now."""
        snapshot = record.get("pack")
        if not snapshot and not record.get("nation"):
            return self
        name = (snapshot or {}).get("name") or record.get("nation") or nations.DEFAULT_NATION
        if name == self.pack.name and (snapshot is None or (
                snapshot.get("terms") == dict(self.pack.terms)
                and snapshot.get("version") == self.pack.version)):
            return self  # made under the pack this environment speaks
        return _for_snapshot(str(self.directory), name, _frozen(snapshot))

    def on(self, pack: nations.NationPack) -> Prompts:
        """Wording in ``pack`` (this nation on another day): its editions'
        citations and terms; this environment when the pack is the same."""
        if pack is self.pack:
            return self
        key = (str(self.directory), id(pack))
        found = _DATED.get(key)
        if found is None or found.pack is not pack:
            found = _DATED[key] = Prompts(self.directory, pack)
        return found

    def has_block(self, name: str, block: str) -> bool:
        return block in self.env.get_template(name).blocks

    def exists(self, name: str) -> bool:
        """Whether a template is there (optional wording, e.g. a notice)."""
        try:
            self.env.get_template(name)
        except jinja2.TemplateNotFound:
            return False
        return True


# Environments for packs on other days, by pack; each holds its pack, so the
# id in its key stays that pack's.
_DATED: dict[tuple[str, int], Prompts] = {}


def _frozen(snapshot: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    snap = snapshot or {}
    return (("name", snap.get("name")), ("title", snap.get("title")),
            ("version", snap.get("version")),
            ("terms", tuple(sorted((snap.get("terms") or {}).items()))))


@lru_cache(maxsize=32)
def _for_snapshot(directory: str, name: str, frozen: tuple[tuple[str, Any], ...]) -> Prompts:
    snap = dict(frozen)
    snapshot = {**snap, "terms": dict(snap["terms"])} if snap.get("terms") else None
    return Prompts(Path(directory), nations.from_snapshot(snapshot, name))


@lru_cache(maxsize=16)
def _cached(directory: str, nation: str) -> Prompts:
    return Prompts(Path(directory), nations.pack(nation))


def default_prompts(nation: str = nations.DEFAULT_NATION) -> Prompts:
    """One shared environment per nation: Jinja caches compiled templates per
    environment."""
    return _cached(str(PROMPTS_DIR), nation)
