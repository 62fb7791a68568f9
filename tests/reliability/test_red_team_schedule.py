"""The escalation schedule attacked: an urgent alert's escalation deleted
from the store while it still waits, and the wall clock set back.

The app runs in its own process (HTTP mode, the fake Slack Web API); the
test edits its data directory between runs and runs ``jigsaw verify`` as an
administrator would. Sending after a restart is shown with the scheduler's
own tick and an injected clock, through the real HTTP endpoint.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.service import DecisionService
from bot.slack.delivery import ALERT_EVENT
from storage import TinyDBStore
from tests.harness.clock import Clock
from tests.harness.fakeslack import FakeSlack
from tests.harness.faults import WatchedSlack
from tests.harness.live import subprocess_env
from tests.harness.process import AppProcess
from tests.harness.process_staff import click, dsl_alert, dsl_posts, say
from tests.harness.slack_driver import question_step

AUDIT_KEY = "schedule-attack-audit-key-0123456789abcdef"
STAFF = "USTAFF"
DELETED = "was deleted while still waiting"


@pytest.fixture
def slack() -> Iterator[WatchedSlack]:
    with WatchedSlack() as fake:
        yield fake


def jigsaw(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=subprocess_env(data, JIGSAW_AUDIT_KEY=AUDIT_KEY,
                                             JIGSAW_DSL_CHANNEL="CDSL"),
                          cwd=data.parent, timeout=120)


def schedule(data: Path) -> dict[str, Any]:
    meta = json.loads((data / "meta.json").read_text(encoding="utf-8"))
    value = meta["meta"]["schedule"]["value"]
    assert isinstance(value, dict)
    return value


def escalations(data: Path) -> dict[str, Any]:
    return {k: v for k, v in schedule(data).get("jobs", {}).items()
            if v.get("kind") == "escalate"}


def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def raise_alert(slack: WatchedSlack, app: AppProcess) -> str:
    """Staff answer "Yes: danger now"; the alert's event id once its
    escalation is in the schedule and the ledger knows it."""
    danger = say(app, slack, STAFF, "hello")
    assert question_step(danger) == "danger"
    mark = slack.mark()
    click(app, danger, "yes", STAFF)
    assert dsl_alert(slack, mark) is not None
    [job] = wait_for(lambda: list(escalations(app.data_dir).values()))
    ledger = app.data_dir / "ledger.jsonl"
    wait_for(lambda: '"op":"escalation"' in ledger.read_text(encoding="utf-8"))
    return str(job["event_id"])


def test_a_pending_escalation_deleted_from_the_schedule_is_caught_and_raised_again(
        slack: WatchedSlack, tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = AppProcess(data, slack.base_url, cwd=tmp_path,
                     extra_env={"JIGSAW_AUDIT_KEY": AUDIT_KEY})
    app.start()
    try:
        event = raise_alert(slack, app)
        [due] = [j["next_at"] for j in escalations(data).values()]
        app.kill()

        # Someone with the data directory deletes the waiting escalation.
        meta_path = data / "meta.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        jobs = meta["meta"]["schedule"]["value"]["jobs"]
        del jobs[f"escalate:{event}"]
        meta_path.write_text(json.dumps(meta), encoding="utf-8")

        checked = jigsaw(data, "verify", "--offline")
        assert checked.returncode == 1, checked.stdout
        assert f"urgent alert {event} {DELETED}" in checked.stdout, checked.stdout

        # The next start raises it again, due when it always was, and says so.
        app.start()
        [again] = wait_for(lambda: list(escalations(data).values()))
        assert again["event_id"] == event and again["next_at"] == due
        [logged] = wait_for(lambda: [json.loads(line) for line in list(app.log)
                                     if "deleted from the schedule" in line])
        assert logged["level"] == "error" and logged["count"] == 1
        app.stop()
        checked = jigsaw(data, "verify", "--offline")
        assert checked.returncode == 0, checked.stdout
        assert len(dsl_posts(slack, ALERT_EVENT)) == 1  # the alert itself never repeated
    finally:
        app.close()


def test_an_escalation_finished_with_is_not_taken_for_one_deleted(
        slack: WatchedSlack, tmp_path: Path) -> None:
    """The DSL acknowledges the alert: its escalation leaves the schedule, the
    ledger is told first, and verify is clean."""
    from tests.harness.process_staff import dsl_posts as posts
    from tests.harness.slackreq import block_action

    data = tmp_path / "data"
    app = AppProcess(data, slack.base_url, cwd=tmp_path,
                     extra_env={"JIGSAW_AUDIT_KEY": AUDIT_KEY})
    app.start()
    try:
        raise_alert(slack, app)
        [alert] = posts(slack, ALERT_EVENT)
        [button] = [b for block in alert.get("blocks") or []
                    for b in block.get("elements") or []
                    if b.get("type") == "button" and "ack" in b.get("action_id", "")]
        app.send(block_action("UDSL1", action_id=button["action_id"], value=button["value"],
                              channel="CDSL", message_ts=alert["ts"]))
        wait_for(lambda: not escalations(data))
        app.stop()
        checked = jigsaw(data, "verify", "--offline")
        assert checked.returncode == 0, checked.stdout
        assert DELETED not in checked.stdout
    finally:
        app.close()


# -- the wall clock set back ------------------------------------------------------------

class Monotonic:
    """The injected monotonic clock: only ever moved on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Clocks:
    """The wall clock and the monotonic clock, moved on together by real
    time; the wall clock alone can be set back."""

    def __init__(self) -> None:
        from tests.slack.test_schedule import MONDAY_9AM

        self.wall = Clock(MONDAY_9AM)
        self.monotonic = Monotonic()

    def later(self, **delta: float) -> None:
        self.wall.advance(**delta)
        self.monotonic.now += timedelta(**delta).total_seconds()

    def epoch(self) -> float:
        return self.wall().timestamp()


def _service(clocks: Clocks, data: Path) -> DecisionService:
    store = TinyDBStore(data, audit_key=AUDIT_KEY.encode(), clock=clocks.epoch)
    settings = Settings(school_name="Hillside Primary", dsl_channel="CDSL",
                        dsl_user_ids=("UDSL1",), deputy_user_ids=("UDEP1",))
    return DecisionService(settings, store, clock=clocks.wall, monotonic=clocks.monotonic)


def test_the_wall_clock_set_back_an_hour_after_an_alert_escalates_once_on_time(
        fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from tests.slack.test_schedule import kinds, raise_alert, reminders, running

    clocks = Clocks()
    app = _service(clocks, tmp_path / "data")
    harness = running(app, fake)
    slack = next(harness)
    try:
        raise_alert(slack)
        clocks.later(minutes=5)
        clocks.wall.advance(hours=-1)  # an administrator, or a bad time server
        assert slack.front.scheduler.tick() == 0
        clocks.later(minutes=9, seconds=59)
        assert slack.front.scheduler.tick() == 0
        clocks.later(seconds=1)  # 15 minutes after the alert, in real time
        assert slack.front.scheduler.tick() == 2
        for _ in range(4):  # the wall clock passes the old due time again: nothing
            clocks.later(minutes=20)
            assert slack.front.scheduler.tick() == 0
    finally:
        harness.close()
        app.store.close()
    assert kinds(reminders(fake)) == ["escalate", "escalate"]
    moved = [r for r in caplog.records if "wall clock moved back" in r.getMessage()]
    assert len(moved) == 1 and moved[0].levelname == "ERROR"
    # The jump is in the sealed ledger, and verify says so.
    checked = jigsaw(tmp_path / "data", "verify", "--offline")
    assert checked.returncode == 0, checked.stdout
    assert "the wall clock was set back at ledger entry" in checked.stdout, checked.stdout


def test_a_restart_after_the_clock_was_set_back_does_not_make_the_escalation_late(
        fake: FakeSlack, tmp_path: Path) -> None:
    from tests.slack.test_schedule import kinds, raise_alert, reminders, running

    clocks = Clocks()
    app = _service(clocks, tmp_path / "data")
    harness = running(app, fake)
    raise_alert(next(harness))
    harness.close()
    app.store.close()

    # Restarted after the wall clock was set back an hour (the monotonic
    # clock of the new process knows nothing of the old one's).
    clocks.later(minutes=2)
    clocks.wall.advance(hours=-1)
    clocks.monotonic.now = 5.0
    app = _service(clocks, tmp_path / "data")
    harness = running(app, fake)
    slack = next(harness)
    try:
        assert slack.front.scheduler.tick() == 0
        # The new process counts from the ledger's newest time, so it is at
        # most as late as the app was down (2 minutes), not an hour late.
        clocks.later(minutes=15)  # 17 minutes after the alert
        assert slack.front.scheduler.tick() == 2
        clocks.later(hours=2)
        assert slack.front.scheduler.tick() == 0
    finally:
        harness.close()
        app.store.close()
    assert kinds(reminders(fake)) == ["escalate", "escalate"]


def test_an_alert_slack_refused_is_retried_at_once_after_the_clock_is_set_back(
        fake: FakeSlack, tmp_path: Path) -> None:
    """The DSL alert's first post is refused; before its retry (2 s later)
    the wall clock is set back an hour. The retry goes at the next look,
    not an hour later."""
    from tests.harness.slack_driver import Driver
    from tests.slack.test_schedule import running

    clocks = Clocks()
    app = _service(clocks, tmp_path / "data")
    harness = running(app, fake)
    slack = next(harness)
    wall = {"now": time.time()}
    slack.front.delivery.wall = lambda: wall["now"]  # the outbox's wall clock, injected
    try:
        refused = fake.fail_while("chat.postMessage", lambda c: (
            c.args.get("metadata") or {}).get("event_type") == ALERT_EVENT, status=500,
            error="internal_error")
        staff = Driver(slack, "U123")
        staff.start()
        staff.answer("yes")
        alerts = [c for c in fake.calls("chat.postMessage")
                  if (c.args.get("metadata") or {}).get("event_type") == ALERT_EVENT]
        assert alerts and not any(c.ok for c in alerts)
        refused.remaining = 0
        tried = len(alerts)
        wall["now"] -= 3600
        assert slack.front.delivery.flush() == 0  # due now: posted
        alerts = [c for c in fake.calls("chat.postMessage")
                  if (c.args.get("metadata") or {}).get("event_type") == ALERT_EVENT]
        assert [c.ok for c in alerts[tried:]] == [True]
        assert slack.front.delivery.flush() == 0
        assert len([c for c in fake.calls("chat.postMessage") if c.ok and (
            c.args.get("metadata") or {}).get("event_type") == ALERT_EVENT]) == 1
    finally:
        harness.close()
        app.store.close()


def test_a_delivery_lease_given_before_the_clock_was_set_back_does_not_hold_an_hour_more(
        tmp_path: Path) -> None:
    """Another instance (elsewhere, so its process cannot be looked for)
    claimed a record's post and died; the wall clock is then set back an
    hour. The lease is not held for the hour: the record is taken over
    (and the channel looked in first, as after any lost claim)."""
    from datetime import UTC, datetime

    from bot import claims
    from tests import scenarios as sc
    from tests.harness.live import decide_in_process

    store = TinyDBStore(tmp_path / "data")
    try:
        app = DecisionService(Settings(dsl_channel="CDSL"), store)
        record = decide_in_process(app, sc.NO_PURPOSE)
        now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
        assert claims.claim_record(store, record["id"], "elsewhere:1:x", now) is not None
        assert claims.claim_record(store, record["id"], "here:2:y", now) is None  # held
        set_back = now - timedelta(hours=1) + claims.LEASE + timedelta(seconds=1)
        taken = claims.claim_record(store, record["id"], "here:2:y", set_back)
        assert taken is not None and taken.maybe_posted  # looked for before posting
    finally:
        store.close()
