"""Red-team findings 8 and 13: text long enough to break Slack's message
limits. The fake Slack Web API refuses what real Slack refuses (see
``tests.harness.fakeslack._check_limits``); everything goes through the real app
over HTTP."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack.wire import Action, Modal
from tests import scenarios as sc
from tests.harness.fakeslack import FakeSlack
from tests.harness.live import DSL_CHANNEL, STAFF, LiveApp
from tests.harness.slack_driver import texts
from tests.harness.slackreq import text_input, view_submission


@pytest.fixture
def web(fake: FakeSlack, tmp_path: Path) -> Iterator[LiveApp]:
    """The app over its HTTP endpoint."""
    app = LiveApp("http", fake, tmp_path / "data")
    yield app
    app.close()


# A follow-up note of 2,000 characters that Slack's escaping makes four
# times longer; three of them on one record.
def _note(n: int) -> str:
    return (f"{n} " + "&&&& " * 400)[:1995] + f" END{n}"


def _thread(web: LiveApp) -> list[dict]:
    return [c.args for c in web.posts_to(DSL_CHANNEL) if c.args.get("thread_ts") and c.ok]


def _long_record(web: LiveApp) -> str:
    """A staff concern held while Slack refuses posts to the channel, on
    which the DSL sets three long follow-ups before it is posted."""
    down = web.fake.fail_while("chat.postMessage",
                                lambda c: c.args.get("channel") == DSL_CHANNEL, status=500)
    web.decide(sc.STAFF_CONCERN)
    record_id = str(web.only_record()["id"])
    due = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
    for n in (1, 2, 3):
        web.send(view_submission("UDSL1", callback_id=Modal.REVIEW_FOLLOWUP,
                                  values={"note": {"value": text_input(_note(n))},
                                          "due": {"value": {"type": "datepicker",
                                                            "selected_date": due}}},
                                  private_metadata=json.dumps({"r": record_id})))
    assert web.only_record()["delivery"].get("state") != "posted"
    down.remaining = 0
    web.fake.clear()
    web.front.delivery.flush(force=True)
    return record_id


# -- point 13: a very long record's thread replies --------------------------------------

def test_a_very_long_record_reaches_the_channel_in_full(web: LiveApp) -> None:
    record_id = _long_record(web)
    assert web.only_record()["delivery"]["state"] == "posted"
    refused = [c for c in web.fake.calls() if not c.ok]
    assert not refused, [(c.method, c.response.get("error")) for c in refused]
    # One phone screen in the channel, nothing spilled into its thread; the
    # three notes are whole in "View full record".
    assert [c for c in web.posts_to(DSL_CHANNEL)
            if "record_id" in str(c.args.get("metadata"))]
    assert not _thread(web)
    web.review_click("UDSL1", Action.REVIEW_VIEW, record_id)
    refused = [c for c in web.fake.calls() if not c.ok]
    assert not refused, [(c.method, c.response.get("error")) for c in refused]
    [opened] = web.fake.calls("views.open")
    shown = html.unescape("".join(texts(opened.args["view"])))
    for n in (1, 2, 3):
        assert f"END{n}" in shown
    assert shown.replace("\u200b", "").count("&") >= 3 * _note(1).count("&")
    # The staff member heard it is through.
    assert any(record_id in t for t in web.dm_said())
    assert not web.log.errors()


# -- point 8: a 40,000-character answer ---------------------------------------------------

def test_a_40000_character_answer_does_not_lock_the_person_out(web: LiveApp) -> None:
    huge = ("Bruise on the arm & a story that changes. " * 1000)[:40_000]
    web.answer_all(["start", *sc.STAFF_CONCERN[:3], huge])
    session = web.jigsaw.latest_open(STAFF)
    assert session is not None
    # Told plainly what the limit is; every message the bot sent was accepted.
    said = "\n".join(web.dm_texts())
    assert "40000 characters" in said and "3000" in said
    refused = [c for c in web.fake.calls() if not c.ok]
    assert not refused, [(c.method, c.response.get("error")) for c in refused]
    # Nothing entered is lost: the whole answer is kept as the draft.
    assert session.drafts.get("facts") == huge
    # Paused and resumed, the question comes back with the draft, and Slack
    # accepts it (the re-post used to break Slack's limits, and the question
    # could then never be shown again).
    web.say("pause")
    web.say("resume")
    refused = [c for c in web.fake.calls() if not c.ok]
    assert not refused, [(c.method, c.response.get("error")) for c in refused]
    shown = "\n".join(web.dm_texts())
    assert "so you can copy it" in shown and "more characters, kept" in shown
    # The person can carry on: a shorter answer is taken.
    web.say(sc.STAFF_CONCERN[3])
    session = web.jigsaw.get(session.id)
    assert session is not None and session.answers.get("facts") == sc.STAFF_CONCERN[3]
    assert not session.drafts.get("facts")
