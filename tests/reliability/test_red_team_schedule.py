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
from pathlib import Path
from typing import Any

import pytest

from bot.slack.delivery import ALERT_EVENT
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
