"""Idempotency: Slack redelivers events it thinks we missed, people double
click, and a slash command can arrive twice. None of it may change a thing:
no second record, no second post, no answer changed.

"Nothing happened" is proved by waiting until every listener the app started
has finished (``app.idle()``) and then comparing the store and everything
Slack received with how they were before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import scenarios
from tests.harness.fakeslack import DSL_CHANNEL_ID
from tests.harness.faults import (
    InProcessApp,
    WatchedSlack,
    assert_posted_once,
    assert_records_whole,
    settings,
)
from tests.harness.slackreq import SlackRequest, app_home_opened, message_event, slash_command
from tests.harness.staff import Seen, Staff

USER = "U123"
# Web API methods whose effect someone can see (reads and auth checks aside).
VISIBLE = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open",
           "views.update", "views.publish", "response_url")


@pytest.fixture
def fake() -> Iterator[WatchedSlack]:
    with WatchedSlack() as f:
        yield f


@pytest.fixture
def app(tmp_path: Path, fake: WatchedSlack) -> Iterator[InProcessApp]:
    with InProcessApp(tmp_path / "data", fake) as running:
        yield running


def state(fake: WatchedSlack, app: InProcessApp) -> dict[str, Any]:
    """Everything a duplicate could change: the user's sessions and every
    record as stored, and every call Slack accepted."""
    app.idle()
    return {
        "sessions": [json.dumps(s, sort_keys=True)
                     for s in app.store.sessions_for_user(USER)],
        "records": [json.dumps(r, sort_keys=True) for r in app.store.iter_records()],
        "calls": [(c.method, c.args.get("channel"), c.args.get("ts"))
                  for c in fake.calls() if c.ok and c.method in VISIBLE],
    }


def walk(staff: Staff, script: list[str], until: str) -> Seen:
    """Answer ``script`` from the start until the app asks ``until``."""
    seen = staff.begin()
    for answer in script:
        if seen.step == until:
            return seen
        seen = staff.give(seen, answer)
    raise AssertionError(f"never asked {until}")


def twice_at_once(app: InProcessApp, request: SlackRequest) -> None:
    """The same click arriving twice at the same moment (two HTTP requests)."""
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            start.wait()
            app.send(request)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    app.idle()


def test_a_redelivered_message_event_changes_nothing(
        fake: WatchedSlack, app: InProcessApp) -> None:
    staff = Staff(USER, fake, app, settings())
    seen = walk(staff, scenarios.STAFF_CONCERN, until="child_ref")
    typed = message_event(USER, text="EF-7")
    nxt = staff.give(seen, "EF-7", typed)
    assert nxt.step == "facts"
    before = state(fake, app)
    # Had it been handled again, "EF-7" would be taken as (or refused as)
    # the answer to the facts question: a change either way.
    app.send(typed, retry_num=1, retry_reason="http_timeout")
    assert state(fake, app) == before
    app.restart()  # the claim is in the store, so a restart does not forget it
    app.send(typed, retry_num=2, retry_reason="http_timeout")
    assert state(fake, app) == before
    assert app.store.get_session(seen.session_id)["answers"]["child_ref"] == "EF-7"


def test_a_redelivered_final_answer_makes_no_second_record_or_post(
        fake: WatchedSlack, app: InProcessApp) -> None:
    staff = Staff(USER, fake, app, settings())
    seen = walk(staff, scenarios.ALLEGATION, until="confirm")
    typed = message_event(USER, text="submit")
    done = staff.give(seen, "submit", typed)
    assert done.kind == "submitted"
    before = state(fake, app)
    for retry in (1, 2, 3):
        app.send(typed, retry_num=retry, retry_reason="http_timeout")
    assert state(fake, app) == before
    assert [r["id"] for r in assert_records_whole(app.store)] == [done.record_id]
    assert_posted_once(fake, app.store, app.data_dir)


def test_clicking_an_answered_question_again_changes_nothing(
        fake: WatchedSlack, app: InProcessApp) -> None:
    staff = Staff(USER, fake, app, settings())
    seen = walk(staff, scenarios.STAFF_CONCERN, until="trigger")
    same = staff.reply(seen, "own_concern")
    other = staff.reply(seen, "request")
    assert staff.give(seen, "own_concern", same).step == "child_ref"
    before = state(fake, app)
    app.send(same)  # the same button again
    app.send(other)  # a different button on the answered question
    assert state(fake, app) == before
    session = app.store.get_session(seen.session_id)
    assert session["answers"]["trigger"] == "own_concern"
    assert session["history"] == ["danger", "trigger"]


@pytest.mark.parametrize(("script", "step", "answer"), [
    (scenarios.ALLEGATION, "confirm", "submit"),
    (scenarios.IMMEDIATE_DANGER, "danger", "yes"),
])
def test_a_double_click_at_the_same_moment_counts_once(
        fake: WatchedSlack, app: InProcessApp, script: list[str], step: str,
        answer: str) -> None:
    """Two clicks racing through the app: one is applied, the other sees the
    question already answered. One record, one post, one alert."""
    staff = Staff(USER, fake, app, settings())
    seen = walk(staff, script, until=step)
    mark = fake.mark()
    twice_at_once(app, staff.reply(seen, answer))
    session = app.store.get_session(seen.session_id) or {}
    dm_posts = [c for c in fake.calls()[mark:]
                if c.method == "chat.postMessage" and c.args.get("channel") == f"D{USER}"]
    if answer == "submit":
        assert len(assert_records_whole(app.store)) == 1
        assert sum(str(c.args.get("text", "")).startswith("Submitted") for c in dm_posts) == 1
    else:
        assert session["history"] == ["danger"]
        assert len(session["events"]) == 1
        assert len(fake.dsl_posts("jigsaw_alert")) == 1
        told = [c for c in dm_posts if str(c.args.get("text", "")).startswith("Call 999")]
        assert len(told) == 1  # the 999 notice, once, at once
        assert len(dm_posts) == 2  # and the next question, once
    assert_posted_once(fake, app.store, app.data_dir)
    assert len(fake.messages(DSL_CHANNEL_ID)) == 1  # the record, or the alert


def test_a_repeated_slash_command_starts_one_decision(
        fake: WatchedSlack, app: InProcessApp) -> None:
    command = slash_command(user=USER, trigger_id="1730000000.1234.repeatme")
    staff = Staff(USER, fake, app, settings())
    mark = fake.mark()
    app.send(command)
    app.idle()
    started = state(fake, app)
    assert len(app.store.sessions_for_user(USER)) == 1
    app.send(command)
    assert state(fake, app) == started
    app.restart()
    app.send(command)
    assert state(fake, app) == started
    said = [staff.classify(c) for c in fake.calls()[mark:]]
    assert [s.step for s in said if s is not None] == ["danger"]


def test_a_redelivered_app_home_event_publishes_once(
        fake: WatchedSlack, app: InProcessApp) -> None:
    opened = app_home_opened(USER)
    app.send(opened)
    app.idle()
    assert len(fake.calls("views.publish")) == 1
    app.send(opened, retry_num=1, retry_reason="http_timeout")
    app.idle()
    assert len(fake.calls("views.publish")) == 1
