"""Screens and words a member of staff reads in Slack and in Teams before
their worry reaches the DSL (issue 21: at most 10 screens and 450 words).

Each staff route is played through the real Slack endpoint (signed requests
against the fake Slack Web API) and the real Teams endpoint (Bot Framework
activities against the fake connector). What a person sees in the DM is
collected as the client renders it: in Slack each posted or updated
message's blocks (section and context text, fields, button labels; the
top-level ``text`` only when there are no blocks, as it is otherwise just
the notification), in Teams each card as posted, updated or returned in
answer to a click (TextBlocks, text runs, facts, choice and action titles).
Every line is counted once, as ``bench/paths.py`` counts the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench.paths import ROUTES as PATHS
from bench.paths import STAFF_SCREENS, STAFF_WORDS
from tests.behaviour.conftest import Slack, Teams
from tests.harness.faketeams import Post, card_actions
from tests.harness.slack_driver import blocks_of, question_step
from tests.harness.teams import CARD
from tests.harness.teams_driver import choice_button

# Every route a member of staff can take, as the terminal is measured.
ROUTES = {name: script for name, _, script, staff in PATHS if staff}


def read(texts: list[str]) -> int:
    """Words in ``texts``, each distinct line counted once."""
    seen: set[str] = set()
    for text in texts:
        for line in text.splitlines():
            line = " ".join(line.split())
            if line:
                seen.add(line)
    return sum(len(line.split()) for line in seen)


# -- Slack ---------------------------------------------------------------------
def slack_texts(node: Any) -> Iterator[str]:
    """The text objects Slack renders in a message's blocks (a button's
    confirm dialog only shows once clicked, so it is left out)."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node["text"]
        for key, value in node.items():
            if key != "confirm":
                yield from slack_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from slack_texts(item)


def slack_shown(args: dict[str, Any]) -> list[str]:
    blocks = args.get("blocks")
    if isinstance(blocks, list) and blocks:
        return list(slack_texts(blocks))
    return [str(args.get("text") or "")]


def slack_read(front: Slack, script: list[str]) -> tuple[int, int]:
    front.say("hello")
    for value in script:
        if front.jigsaw.store.list_records():
            break  # it reached the DSL: what follows is not on the way there
        front.answer(value)
    dm = front.driver.dm
    calls = [c for c in front.driver.fake.calls()
             if c.method in ("chat.postMessage", "chat.update") and c.ok
             and c.args.get("channel") == dm]
    screens = sum(1 for c in calls if c.method == "chat.postMessage" and question_step(c))
    assert all(blocks_of(c) or c.args.get("text") for c in calls)
    return screens, read([t for c in calls for t in slack_shown(c.args)])


# -- Teams ---------------------------------------------------------------------
def teams_texts(node: Any) -> Iterator[str]:
    """What the Adaptive Card renderer shows: text blocks and runs, facts,
    choice titles and action titles (a ShowCard's card only when opened)."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind in ("TextBlock", "TextRun") and isinstance(node.get("text"), str):
            yield node["text"]
        if kind == "Fact":
            yield f"{node.get('title', '')} {node.get('value', '')}"
        if isinstance(node.get("title"), str) and (
                str(kind).startswith("Action.") or "value" in node and kind is None):
            yield node["title"]  # an action's title, or a choice's
        for key in ("label", "placeholder"):
            if isinstance(node.get(key), str) and str(kind).startswith("Input."):
                yield node[key]
        for key, value in node.items():
            if key not in ("card", "refresh", "text", "title"):
                yield from teams_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from teams_texts(item)


def teams_card(activity: dict[str, Any]) -> dict[str, Any] | None:
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == CARD:
            return dict(attachment["content"])
    return None


def teams_shown(activity: dict[str, Any]) -> list[str]:
    card = teams_card(activity)
    shown = [str(activity.get("text") or "")]
    return shown + (list(teams_texts(card)) if card else [])


def is_question(post: Post) -> bool:
    """A card posted asking for an answer (its buttons go once answered)."""
    return any(a.get("verb") in ("answer", "back")
               for a in card_actions(teams_card(post.activity) or {}))


def teams_read(front: Teams, script: list[str]) -> tuple[int, int]:
    h, user = front.harness, front.staff
    answered: list[dict[str, Any]] = []  # cards returned in place of a clicked one
    h.say(user, "hello")
    for value in script:
        if front.jigsaw.store.list_records():
            break
        post = h.question(user)
        try:
            action = choice_button(post, value)
        except AssertionError:
            h.say(user, value)
            continue
        reply = h.send(h.client.execute_activity(user, action))
        if reply.body and reply.body.get("type") == CARD:
            answered.append(reply.body["value"])
    posts = h.chat(user)
    screens = sum(1 for p in posts if is_question(p))
    texts = [t for p in posts for a in (p.activity, *p.updates) for t in teams_shown(a)]
    texts += [t for card in answered for t in teams_texts(card)]
    return screens, read(texts)


# -- the limits ----------------------------------------------------------------
@pytest.mark.parametrize("front", ["slack", "teams"], indirect=True)
@pytest.mark.parametrize("route", list(ROUTES))
def test_a_staff_route_is_read_in_ten_screens_and_450_words(front: Any, route: str) -> None:
    script = ROUTES[route]
    if isinstance(front, Slack):
        screens, words = slack_read(front, script)
    else:
        assert isinstance(front, Teams)
        screens, words = teams_read(front, script)
    # The worry reached the DSL, each answer asked on a screen of its own.
    assert screens >= 3
    assert front.jigsaw.store.list_records()
    assert screens <= STAFF_SCREENS, (route, screens)
    assert words <= STAFF_WORDS, (route, words)
