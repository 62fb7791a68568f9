"""Wording lives in ``prompts/`` as Jinja2 templates; this module renders it.

Each step has one template whose blocks hold its question, help and choice
labels, so a school can reword a step by editing one file. Rendering never
escapes for a particular front end: Slack and the terminal each escape what
they show, and user text is only ever passed as data.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

import prompts as _prompts_pkg

PROMPTS_DIR = Path(_prompts_pkg.__file__).parent


class Prompts:
    """A small facade over a Jinja2 environment rooted at ``prompts/``."""

    def __init__(self, directory: Path = PROMPTS_DIR, **globals_: Any) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.globals.update(globals_)
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

    def has_block(self, name: str, block: str) -> bool:
        return block in self.env.get_template(name).blocks

    def exists(self, name: str) -> bool:
        """Whether a template is there (optional wording, e.g. a notice)."""
        try:
            self.env.get_template(name)
        except jinja2.TemplateNotFound:
            return False
        return True


@lru_cache(maxsize=8)
def _cached(directory: str) -> Prompts:
    return Prompts(Path(directory))


def default_prompts() -> Prompts:
    """One shared environment: Jinja caches compiled templates per environment."""
    return _cached(str(PROMPTS_DIR))
