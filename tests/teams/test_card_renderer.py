"""What a person typed reads back exactly as typed in Microsoft's own
Adaptive Card renderer (the npm package ``adaptivecards`` in headless
Chromium), which evaluates ``{{DATE(..)}}`` in card text as Teams does.

Needs Node, Chromium and the npm packages ``adaptivecards`` and
``puppeteer-core`` of ``teams/package.json`` (``npm ci --prefix teams``;
another directory holding them may be named by ``JIGSAW_CARD_RENDERER``).
Skipped without them, except in CI.
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
from bot.service import DecisionService
from bot.teams.cards import Cards
from tests import scenarios as sc

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The renderer comes with the tests' npm packages (``npm ci --prefix teams``).
RENDERER = os.environ.get("JIGSAW_CARD_RENDERER") or str(PROJECT_ROOT / "teams")
SCRIPT = Path(__file__).parent / "renderer" / "render.mjs"
TYPED = ("Seen {{DATE(2017-02-14T06:08:39Z, SHORT)}} at {{TIME(2017-02-14T06:08:39Z)}} "
         "${name} **bold** <at>everyone</at> [x](https://evil.example)")
CHROMIUM = os.environ.get("CHROMIUM", "chromium")


@pytest.fixture(autouse=True)
def _renderer() -> None:
    """Node, Chromium and the npm packages, or skip (outside CI only: CI
    installs them, so there a missing renderer is a failure)."""
    missing = [what for what, there in (
        ("node", shutil.which("node")), ("chromium", shutil.which(CHROMIUM)),
        ("adaptivecards", (Path(RENDERER) / "node_modules" / "adaptivecards").is_dir()),
        ("puppeteer-core", (Path(RENDERER) / "node_modules" / "puppeteer-core").is_dir()),
    ) if not there]
    if missing:
        message = (f"no Adaptive Card renderer: {', '.join(missing)} missing (npm ci --prefix "
                   "teams; apt-get install chromium)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + ". Skipped outside CI.")


def rendered(cards: dict[str, object]) -> dict[str, str]:
    chromium = shutil.which(CHROMIUM) or CHROMIUM
    done = subprocess.run(["node", str(SCRIPT)], input=json.dumps(cards), capture_output=True,
                          text=True, timeout=120, check=True,
                          env={**os.environ, "JIGSAW_CARD_RENDERER": RENDERER,
                               "CHROMIUM": chromium})
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


def test_the_channel_card_is_read_only_and_the_dsl_view_has_the_buttons(
        jigsaw: DecisionService) -> None:
    """The record card as posted (what anyone without a view of their own
    sees) and the DSL team's view it refreshes to, as the renderer shows
    them: the buttons only in the DSL's."""
    from tests.harness.live import decide_in_process

    record = decide_in_process(jigsaw, sc.STAFF_CONCERN)
    cards = Cards(jigsaw.prompts, jigsaw.settings)

    def dump(card: object) -> object:
        return card.model_dump(by_alias=True, exclude_none=True)  # type: ignore[attr-defined]

    shown = rendered({
        "posted": dump(cards.viewed_by(cards.record(record, review=False), record["id"],
                                       ["29:dsl"])),
        "dsl": dump(cards.viewed_by(cards.record(record), record["id"], ["29:dsl"])),
    })
    assert record["id"] in shown["posted"] and record["id"] in shown["dsl"]
    assert "Acknowledge" not in shown["posted"] and "View full record" not in shown["posted"]
    assert "Acknowledge" in shown["dsl"] and "View full record" in shown["dsl"]


def test_the_record_card_shows_the_essentials_in_the_renderer() -> None:
    """The DSL channel card in Microsoft's renderer: the essentials, in
    order; the lawful basis and guidance only in the full record."""
    from tests.reliability.test_requests import BASE_RECORD, BLOCK_FLOW

    cards = Cards(BLOCK_FLOW.prompts, Settings(school_name="Hillside Primary"))
    shown = rendered({"card": cards.record(BASE_RECORD).model_dump(by_alias=True,
                                                                    exclude_none=True)})["card"]
    order = [shown.index(f"\n{label}\n") for label in (
        "Child", "Category", "Raised by", "When", "Decision", "Status", "In one line")]
    assert order == sorted(order), shown
    assert BASE_RECORD["summary_line"] in shown
    assert "Lawful basis" not in shown and "Guidance" not in shown
