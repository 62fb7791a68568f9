"""Draw the DSL channel post as a person sees it on a phone: the Teams card
in Microsoft's Adaptive Card renderer, and the Slack post in an
approximation of Slack's layout (Slack has no public renderer), both in
headless Chromium. Writes docs/dsl-post-teams.png and docs/dsl-post-slack.png.

    .venv/bin/python docs/render_post_images.py

Needs Node, Chromium and ``npm ci --prefix teams`` (as the card renderer test).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import record as records
from bot.config import Settings
from bot.flow import Flow
from bot.slack.blocks import Blocks
from bot.teams.cards import Cards
from tests import scenarios as sc

ROOT = Path(__file__).resolve().parents[1]
PHONE = 390  # CSS pixels: a common phone width
NOW = datetime(2026, 12, 7, 10, 49, tzinfo=UTC)


def sample() -> tuple[dict[str, Any], Settings, Any]:
    settings = Settings(school_name="Hillside Primary", dsl_channel="CDSL")
    flow = Flow(settings, clock=lambda: NOW)
    session = flow.start("U123")
    for answer in sc.STAFF_SELF_REFERRAL:
        assert flow.answer(session, answer).accepted, answer
    record = records.build(session, settings, flow.prompts, now=NOW,
                           person={"name": "Ms J. Smith", "role": "TA, Year 4"})
    record["id"] = "ISD-2026-0042"
    return record, settings, flow.prompts


def mrkdwn(text: str) -> str:
    """Enough of Slack's mrkdwn to draw the post: bold, line breaks, emoji."""
    text = html.escape(html.unescape(text.replace("\u200b", "")))
    text = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", text)
    text = text.replace(":rotating_light:", "<span style='color:#e01e5a'>&#9650;</span>")
    text = text.replace("&lt;@U123&gt;", "<span class=at>@Ms J. Smith</span>")
    return text.replace("\n", "<br>")


def slack_html(blocks: list[dict[str, Any]]) -> str:
    out = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            out.append(f"<h3>{html.escape(block['text']['text'])}</h3>")
        elif kind == "section":
            if "text" in block:
                out.append(f"<p>{mrkdwn(block['text']['text'])}</p>")
            if "fields" in block:
                cells = "".join(f"<div>{mrkdwn(f['text'])}</div>" for f in block["fields"])
                out.append(f"<div class=grid>{cells}</div>")
        elif kind == "actions":
            buttons = "".join(
                f"<span class='b {e.get('style', '')}'>{html.escape(e['text']['text'])}</span>"
                for e in block["elements"])
            out.append(f"<div class=acts>{buttons}</div>")
        elif kind == "context":
            out.append("<p class=ctx>" + " ".join(mrkdwn(e["text"]) for e in block["elements"])
                       + "</p>")
    style = """body{font:15px/1.4 -apple-system,Lato,sans-serif;margin:0;padding:12px;width:366px}
    .who{font-weight:700} .who span{color:#616061;font-weight:400;font-size:12px}
    h3{margin:6px 0;font-size:17px} p{margin:6px 0} .ctx{color:#616061;font-size:12px}
    .grid{display:grid;grid-template-columns:1fr 1fr;gap:6px 12px;margin:6px 0}
    .acts{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}
    .b{border:1px solid #bbb;border-radius:4px;padding:4px 10px;font-weight:700;font-size:13px}
    .at{color:#1264a3;background:#e8f5fa}
    .primary{background:#007a5a;color:#fff;border-color:#007a5a}"""
    return (f"<html><head><meta charset=utf-8><style>{style}</style></head><body>"
            f"<div class=who>Jigsaw <span>APP 10:49</span></div>{''.join(out)}</body></html>")


def main() -> None:
    record, settings, prompts = sample()
    chromium = shutil.which(os.environ.get("CHROMIUM", "chromium")) or "/usr/bin/chromium"
    card = Cards(prompts, settings).record(record).model_dump(by_alias=True, exclude_none=True)
    subprocess.run(["node", str(ROOT / "tests/teams/renderer/render.mjs"),
                    str(ROOT / "docs/dsl-post-teams.png")], input=json.dumps({"card": card}),
                   text=True, check=True, capture_output=True,
                   env={**os.environ, "JIGSAW_CARD_RENDERER": str(ROOT / "teams"),
                        "CHROMIUM": chromium, "JIGSAW_VIEWPORT_WIDTH": str(PHONE)})
    main_blocks, _ = Blocks(prompts, settings).record_message(record)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "post.html"
        page.write_text(slack_html(main_blocks), encoding="utf-8")
        subprocess.run([chromium, "--headless=new", "--no-sandbox", "--hide-scrollbars",
                        f"--screenshot={ROOT / 'docs/dsl-post-slack.png'}",
                        f"--window-size={PHONE},760", page.as_uri()],
                       check=True, capture_output=True)


if __name__ == "__main__":
    main()
