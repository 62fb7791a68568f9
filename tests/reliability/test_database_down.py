"""A database that goes away must not hold back the 999 notice, the DSL alert
or anyone's answers: PostgreSQL keeps the guarantee a disk refusing writes
keeps (tests/reliability/test_failing_disk.py).

The real app runs in its own process on a real PostgreSQL, reached through a
loopback relay (:class:`tests.harness.pg.Proxy`) that the test cuts, dropping every
connection and refusing new ones, and then restores: a network fault or a
database fail-over. Nothing in the app is replaced or patched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.slack.delivery import ALERT_EVENT, RECORD_EVENT
from storage.postgres import Database
from tests import scenarios as sc
from tests.harness.faults import WAIT, WatchedSlack
from tests.harness.pg import Proxy, fresh_schema
from tests.harness.process import AppProcess
from tests.harness.process_staff import (
    click,
    dm_post,
    dm_shown,
    dsl_alert,
    dsl_posts,
    health,
    posted_record_id,
    question,
    say,
    shown,
    submitted,
)
from tests.harness.slack_driver import question_step

STAFF = "UDBDOWN"
ACK_BUDGET = 3.0  # Slack's deadline for an answer
SCHOOL = "hillside"


@pytest.fixture
def slack() -> Iterator[WatchedSlack]:
    with WatchedSlack() as fake:
        yield fake


@pytest.fixture
def database() -> Iterator[tuple[str, Proxy]]:
    with fresh_schema() as url:
        proxy = Proxy(url)
        try:
            yield url, proxy
        finally:
            proxy.close()


@pytest.fixture
def app(slack: WatchedSlack, database: tuple[str, Proxy], tmp_path: Path
        ) -> Iterator[AppProcess]:
    _, proxy = database
    proc = AppProcess(tmp_path / "data", slack.base_url, cwd=tmp_path, extra_env={
        "JIGSAW_DATABASE_URL": proxy.url, "JIGSAW_SCHOOL": SCHOOL})
    proc.start()
    yield proc
    proc.close()



def healthy_again(app: AppProcess) -> None:
    """Until the app's own check says it writes to the database again (the
    pool reconnects on its own schedule)."""
    deadline = time.monotonic() + WAIT
    while health(app)[0] != 200:
        assert time.monotonic() < deadline, health(app)
        time.sleep(0.1)






def stored_sessions(url: str) -> list[dict[str, Any]]:
    """The staff member's sessions, read straight from the database."""
    db = Database(url)
    try:
        return [s for s in db.store(SCHOOL, create=False).all_sessions()
                if s.get("user") == STAFF]
    finally:
        db.close()



def test_danger_now_with_the_database_gone_alerts_first_and_keeps_everything(
        slack: WatchedSlack, database: tuple[str, Proxy], app: AppProcess) -> None:
    url, proxy = database
    danger = say(app, slack, STAFF, "hello")
    assert question_step(danger) == "danger"

    proxy.cut()
    mark = slack.mark()
    took = click(app, danger, "yes", STAFF)
    assert took < ACK_BUDGET
    # The DSL alert went, from memory.
    alert = dsl_alert(slack, mark)
    assert alert is not None
    # The person sees the 999 notice and is told plainly that it isn't saved yet.
    question(slack, mark, STAFF)
    seen = dm_shown(slack, mark, STAFF)
    assert "999" in seen
    assert "could not be saved" in seen and "Nothing you entered is lost" in seen
    status, body = health(app)
    assert status == 503 and "store" in " ".join(body.get("problems", [])), body
    [stored] = stored_sessions(url)
    assert "danger" not in stored["answers"]

    # The database is back: the next answer saves everything kept in memory.
    proxy.restore()
    healthy_again(app)
    say(app, slack, STAFF, "Called 999 at 10:42, ref CAD 1234")
    [stored] = stored_sessions(url)
    assert stored["answers"]["danger"] == "yes"
    [event] = stored["events"]
    assert event["delivered"] is True and event["ts"] == alert.response["ts"]
    assert len(dsl_posts(slack, ALERT_EVENT)) == 1
    app.stop()
    assert len(dsl_posts(slack, ALERT_EVENT)) == 1


def test_submit_with_the_database_gone_keeps_the_record_and_sends_it_later(
        slack: WatchedSlack, database: tuple[str, Proxy], app: AppProcess) -> None:
    url, proxy = database
    script = list(sc.STAFF_CONCERN)
    q = say(app, slack, STAFF, "hello")
    for answer in script[:-1]:
        q = say(app, slack, STAFF, answer)
    assert question_step(q) == "urgent"  # its answer sends the worry

    proxy.cut()
    mark = slack.mark()
    took = click(app, q, sc.STAFF_CONCERN[-1], STAFF)
    assert took < ACK_BUDGET
    told = slack.wait_new(mark, lambda c: c if dm_post(c, STAFF)
                          and "could not be saved" in shown(c) else None)
    assert told is not None
    assert not dsl_posts(slack, RECORD_EVENT)

    # The database is back: the outbox worker makes the record, posts it
    # once and tells the person.
    mark = slack.mark()
    proxy.restore()
    told_submitted = submitted(slack, mark, STAFF, timeout=WAIT * 2)
    assert told_submitted is not None
    assert posted_record_id(slack) in str(told_submitted.args["text"])
    app.stop()
    assert len(dsl_posts(slack, RECORD_EVENT)) == 1
    db = Database(url)
    try:
        assert db.store(SCHOOL, create=False).count_records() == 1
    finally:
        db.close()
