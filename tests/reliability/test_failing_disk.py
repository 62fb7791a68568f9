"""A disk that refuses writes must not hold back the 999 notice, the DSL
alert or anyone's answers.

The real app runs in its own process (``python -m bot http``). The fault is
the operating system's: the process's file-size limit is set to 0 with
``prlimit``, so every write to a data file fails with EFBIG, as a full disk
fails with ENOSPC; nothing in the app is replaced or patched. Then the limit
is lifted, as when space is freed.
"""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.slack.delivery import ALERT_EVENT, RECORD_EVENT
from tests import scenarios as sc
from tests.harness.fakeslack import WaitTimeout
from tests.harness.faults import WatchedSlack
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

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="prlimit on another process is Linux only")

STAFF = "UDISK"
ACK_BUDGET = 3.0  # Slack's deadline for an answer


@pytest.fixture
def slack() -> Iterator[WatchedSlack]:
    with WatchedSlack() as fake:
        yield fake


@pytest.fixture
def app(slack: WatchedSlack, tmp_path: Path) -> Iterator[AppProcess]:
    proc = AppProcess(tmp_path / "data", slack.base_url, cwd=tmp_path)
    proc.start()
    yield proc
    proc.close()


def disk_refuses_writes(app: AppProcess, refuse: bool) -> None:
    assert app.proc is not None
    _, hard = resource.prlimit(app.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(app.proc.pid, resource.RLIMIT_FSIZE, (0 if refuse else hard, hard))







def hot_sessions(app: AppProcess) -> list[dict[str, Any]]:
    hot = json.loads((app.data_dir / "hot.json").read_text(encoding="utf-8"))
    return [s for s in hot.get("sessions", {}).values() if s.get("user") == STAFF]



def test_danger_now_with_a_full_disk_alerts_first_and_keeps_everything(
        slack: WatchedSlack, app: AppProcess) -> None:
    danger = say(app, slack, STAFF, "hello")
    assert question_step(danger) == "danger"

    disk_refuses_writes(app, True)
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
    assert not any("no longer in use" in shown(c) for c in slack.calls("chat.postMessage"))
    status, body = health(app)
    assert status == 503 and "store" in " ".join(body.get("problems", [])), body
    # Nothing reached the disk.
    [stored] = hot_sessions(app)
    assert "danger" not in stored["answers"]

    # Space is freed: the next answer saves everything kept in memory.
    disk_refuses_writes(app, False)
    say(app, slack, STAFF, "Called 999 at 10:42, ref CAD 1234")
    [stored] = hot_sessions(app)
    assert stored["answers"]["danger"] == "yes"
    [event] = stored["events"]
    assert event["delivered"] is True and event["ts"] == alert.response["ts"]
    assert health(app)[0] == 200
    # Exactly one alert, even after the outbox has had its look.
    assert len(dsl_posts(slack, ALERT_EVENT)) == 1
    app.stop()
    assert len(dsl_posts(slack, ALERT_EVENT)) == 1


def test_submit_with_a_read_only_store_keeps_the_record_and_sends_it_later(
        slack: WatchedSlack, app: AppProcess) -> None:
    script = list(sc.STAFF_CONCERN)
    q = say(app, slack, STAFF, "hello")
    for answer in script[:-1]:
        q = say(app, slack, STAFF, answer)
    assert question_step(q) == "urgent"  # its answer sends the worry

    disk_refuses_writes(app, True)
    mark = slack.mark()
    took = click(app, q, sc.STAFF_CONCERN[-1], STAFF)
    assert took < ACK_BUDGET
    told = slack.wait_new(mark, lambda c: c if dm_post(c, STAFF) and (
        "the record could not be saved" in shown(c)) else None)
    assert told is not None and "Nothing is lost" in shown(told)
    assert not dsl_posts(slack, RECORD_EVENT)
    assert not (app.data_dir / "records" / "2026").exists() or not list(
        (app.data_dir / "records").rglob("block-*.json"))

    # Space is freed: the outbox worker makes the record, posts it once and
    # tells the person.
    mark = slack.mark()
    disk_refuses_writes(app, False)
    try:
        told_submitted = submitted(slack, mark, STAFF)
    except WaitTimeout as exc:
        raise AssertionError(app.tail()) from exc
    assert told_submitted is not None
    assert posted_record_id(slack) in str(told_submitted.args["text"])
    app.stop()
    assert len(dsl_posts(slack, RECORD_EVENT)) == 1
