"""Records only ever go to a private DSL channel the bot is in.

If the configured channel is public, or private without the bot, start-up
says so plainly in the log and records are held in the outbox: saved,
the member of staff told it is pending, and posted nowhere.
"""

from __future__ import annotations

import logging
import socket

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.guard import check_at_start
from bot.slack.delivery import ChannelGuard, ChannelUnsafe
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID, GENERAL_CHANNEL_ID
from tests.harness.slack import Harness
from tests.harness.slack_driver import Driver, all_text

PRIVATE_WITHOUT_BOT = "CPRIV"


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """The DSL channel under test (``indirect`` parameter), else CDSL."""
    return Settings(school_name="Hillside Primary",
                    dsl_channel=getattr(request, "param", DSL_CHANNEL_ID),
                    dsl_user_ids=("UDSL1",))


def unsafe(slack: Harness, case: str) -> str:
    """Make the fake workspace match ``case``; returns what the log must say."""
    if case == "public":
        return f"DSL channel {GENERAL_CHANNEL_ID} is not a private channel"
    if case == "private_without_bot":
        slack.fake.add_channel(PRIVATE_WITHOUT_BOT, name="dsl-old", is_private=True,
                               members=["UDSL1", "UDSL2"])
        return f"cannot see DSL channel {PRIVATE_WITHOUT_BOT}: channel_not_found"
    slack.fake.set_members(DSL_CHANNEL_ID, ["UDSL1", "UDSL2"])  # bot removed
    return f"cannot see DSL channel {DSL_CHANNEL_ID}: channel_not_found"


CASES = [
    pytest.param(GENERAL_CHANNEL_ID, "public", id="public"),
    pytest.param(PRIVATE_WITHOUT_BOT, "private_without_bot", id="private-without-bot"),
    pytest.param(DSL_CHANNEL_ID, "bot_removed", id="bot-removed"),
]


def test_a_private_channel_with_the_bot_passes(slack: Harness,
                                               caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert check_at_start(slack.front.delivery.guard) is True
    assert "DSL channel check failed" not in caplog.text


@pytest.mark.parametrize(("settings", "case"), CASES, indirect=["settings"])
def test_an_unsafe_channel_is_refused_with_a_clear_log(
        slack: Harness, case: str, caplog: pytest.LogCaptureFixture) -> None:
    reason = unsafe(slack, case)
    with caplog.at_level(logging.ERROR, logger="jigsaw"):
        assert check_at_start(slack.front.delivery.guard) is False
    [line] = [r for r in caplog.records if "DSL channel check failed" in r.getMessage()]
    assert line.levelno == logging.ERROR
    assert reason in line.getMessage() and "held" in line.getMessage()


@pytest.mark.parametrize(("settings", "case"), CASES, indirect=["settings"])
def test_records_and_alerts_are_held_not_posted(
        slack: Harness, case: str, caplog: pytest.LogCaptureFixture) -> None:
    reason = unsafe(slack, case)
    check_at_start(slack.front.delivery.guard)
    driver = Driver(slack)
    driver.start()
    with caplog.at_level(logging.ERROR, logger="jigsaw"):
        record = driver.run(sc.IMMEDIATE_DANGER)

    assert record is not None and record["kind"] == "emergency"
    assert record["delivery"]["state"] != "posted"
    posted = slack.fake.calls("chat.postMessage")
    assert {c.args.get("channel") for c in posted} == {driver.dm, "DUDSL1"}
    # The DSL is told by DM, once, that records are held (no child details).
    [told] = [c for c in posted if c.args.get("channel") == "DUDSL1"]
    assert "held" in told.args["text"] and "QR" not in told.args["text"]
    for channel in (GENERAL_CHANNEL_ID, DSL_CHANNEL_ID, PRIVATE_WITHOUT_BOT):
        assert slack.fake.messages(channel) == []
    assert [kind for kind, _, _ in slack.front.delivery.pending()] == ["alert", "record"]
    # The member of staff is told to phone, and that the record is pending.
    assert "phone" in all_text(driver.updates(str(driver.questions()[0].response["ts"]))[-1])
    assert "pending" in driver.last_dm_text() and record["id"] in driver.last_dm_text()
    held = [r.getMessage() for r in caplog.records if "held" in r.getMessage()]
    assert any(reason in m for m in held)


@pytest.mark.parametrize("settings", [DSL_CHANNEL_ID], indirect=True)
def test_a_held_record_is_posted_once_the_bot_is_back_in_the_channel(slack: Harness) -> None:
    unsafe(slack, "bot_removed")
    driver = Driver(slack)
    driver.start()
    record = driver.run(sc.ALLEGATION)
    assert record is not None and slack.fake.messages(DSL_CHANNEL_ID) == []

    slack.fake.set_members(DSL_CHANNEL_ID, ["UBOT", "UDSL1", "UDSL2"])
    assert slack.front.delivery.flush(force=True) == 0

    [message] = slack.fake.messages(DSL_CHANNEL_ID)
    stored = slack.jigsaw.store.get_record(record["id"])
    assert stored is not None and stored["delivery"]["ts"] == message["ts"]
    assert record["id"] in driver.last_dm_text() and "now reached" in driver.last_dm_text()


def test_unreachable_slack_at_start_up_holds_records_without_crashing() -> None:
    """Slack down when the app starts: a clear log, records held, no crash."""
    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = WebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{port}/api/", timeout=2,
                       retry_handlers=[])
    guard = ChannelGuard(client, "CDSL")
    try:
        guard.check()
    except ChannelUnsafe as exc:
        assert "cannot check DSL channel CDSL" in str(exc)
    else:
        raise AssertionError("an unreachable Slack must not pass the channel check")
