"""What a person typed reads back exactly as typed in Microsoft's own
Adaptive Card renderer (the npm package ``adaptivecards`` in headless
Chromium), which evaluates ``{{DATE(..)}}`` in card text as Teams does.

Needs Node, Chromium and a directory with ``adaptivecards`` and
``puppeteer-core`` installed (``npm install adaptivecards puppeteer-core``),
named by ``JIGSAW_CARD_RENDERER``; skipped without them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.config import Settings
from bot.prompts import Prompts
from bot.teams.cards import Cards

RENDERER = os.environ.get("JIGSAW_CARD_RENDERER", "")
SCRIPT = Path(__file__).parent / "renderer" / "render.mjs"
TYPED = ("Seen {{DATE(2017-02-14T06:08:39Z, SHORT)}} at {{TIME(2017-02-14T06:08:39Z)}} "
         "${name} **bold** <at>everyone</at> [x](https://evil.example)")

pytestmark = pytest.mark.skipif(
    not (RENDERER and shutil.which("node") and shutil.which(os.environ.get("CHROMIUM",
                                                                           "chromium"))),
    reason="no Adaptive Card renderer (set JIGSAW_CARD_RENDERER)")


def rendered(cards: dict[str, object]) -> dict[str, str]:
    done = subprocess.run(["node", str(SCRIPT)], input=json.dumps(cards), capture_output=True,
                          text=True, timeout=120, check=True)
    return dict(json.loads(done.stdout))


def test_typed_text_is_shown_as_typed_by_the_renderer() -> None:
    cards = Cards(Prompts(), Settings(school_name="Hillside Primary"))

    def dump(card: object) -> object:
        return card.model_dump(by_alias=True, exclude_none=True)  # type: ignore[attr-defined]

    shown = rendered({
        "typed": dump(cards.plain(TYPED)),
        "alert": dump(cards.urgent_alert(TYPED, "yes", [("d1", "Dana DSL")], "s:urgent")),
        # The control: the same text in one text run is evaluated.
        "control": {"type": "AdaptiveCard", "version": "1.5", "body": [
            {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": TYPED}]}]},
    })
    assert TYPED in shown["typed"]
    assert TYPED in shown["alert"]
    assert "{{DATE" not in shown["control"], "the renderer evaluates text functions"
