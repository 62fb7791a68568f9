"""Many schools from one app (OAuth installs on PostgreSQL), attacked: the
999 path with the database unreachable or Slack slow, and installs from
workspaces no trust administrator registered. The app runs in its own
process; PostgreSQL is reached through a loopback relay the test cuts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.config import Settings
from bot.slack.delivery import ALERT_EVENT
from bot.slack.wire import Action
from storage.postgres import Database
from tests import scenarios
from tests.harness.fakeslack import BOT_USER_ID, DSL_CHANNEL_ID
from tests.harness.faults import WatchedSlack
from tests.harness.pg import Proxy, fresh_schema
from tests.harness.process import AppProcess
from tests.harness.process_staff import click, dm_shown, dsl_alert, dsl_posts, say, shown
from tests.harness.schools import (
    CLIENT_ID,
    CLIENT_SECRET,
    GRID,
    SchoolLink,
    as_from,
    install,
    trust,
)
from tests.harness.slack_driver import question_step
from tests.harness.slackreq import (
    AckResponse,
    SlackRequest,
    app_home_opened,
    block_action,
    message_event,
)
from tests.harness.staff import Staff

AUDIT_KEY = "red-team-schools-audit-key-0123456789abcdef"
STAFF = "UHILL1"
ACK_BUDGET = 3.0


class SchoolApp(AppProcess):
    """The trust's app in its own process, every request as from one workspace."""

    def __init__(self, *args: Any, team_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team_id = team_id

    def send(self, request: SlackRequest, **kwargs: Any) -> AckResponse:
        return super().send(as_from(request, team_id=self.team_id), **kwargs)


@pytest.fixture
def slack() -> Iterator[WatchedSlack]:
    with WatchedSlack() as fake:
        yield fake


@pytest.fixture
def hillside(slack: WatchedSlack, tmp_path: Path) -> Iterator[tuple[SchoolApp, Proxy]]:
    """Hillside registered and installed; the trust's app serving it through a
    relay to the database."""
    with fresh_schema() as url:
        db = Database(url, audit_key=AUDIT_KEY.encode())
        with closing(db), trust(db, slack, start=False) as base:
            install(base, slack, "code-a", bot_token="xoxb-hillside", team_id="T0001")
        proxy = Proxy(url)
        app = SchoolApp(tmp_path / "data", slack.base_url, cwd=tmp_path, team_id="T0001",
                        extra_env={"JIGSAW_DATABASE_URL": proxy.url,
                                   "JIGSAW_SLACK_CLIENT_ID": CLIENT_ID,
                                   "JIGSAW_SLACK_CLIENT_SECRET": CLIENT_SECRET,
                                   "JIGSAW_AUDIT_KEY": AUDIT_KEY})
        try:
            app.start()
            yield app, proxy
        finally:
            app.close()
            proxy.close()


def test_danger_now_with_the_database_unreachable_still_alerts_and_tells_them(
        slack: WatchedSlack, hillside: tuple[SchoolApp, Proxy]) -> None:
    app, proxy = hillside
    danger = say(app, slack, STAFF, "hello")
    assert question_step(danger) == "danger"

    proxy.cut()
    mark = slack.mark()
    took = click(app, danger, "yes", STAFF)
    assert took < ACK_BUDGET
    alert = dsl_alert(slack, mark)
    assert alert is not None and alert.token == "xoxb-hillside"
    slack.wait_new(mark, lambda c: c if c.args.get("channel") == f"D{STAFF}"
                   and "could not be saved" in shown(c) else None)
    assert "999" in dm_shown(slack, mark, STAFF)
    proxy.restore()
    assert len(dsl_posts(slack, ALERT_EVENT)) == 1


def test_the_999_notice_does_not_wait_for_a_slow_slack(
        slack: WatchedSlack, hillside: tuple[SchoolApp, Proxy]) -> None:
    app, _ = hillside
    danger = say(app, slack, STAFF, "hello")
    assert question_step(danger) == "danger"

    slack.fail_while("*", lambda c: True, delay=4.0)
    mark = slack.mark()
    clicked = time.monotonic()
    click(app, danger, "yes", STAFF)
    notice = slack.wait_new(mark, lambda c: c if c.args.get("channel") == f"D{STAFF}"
                            and "999" in shown(c) else None)
    assert notice is not None
    # Sent at once, beside the alert: not after the DSL post came back.
    assert notice.at - clicked < 2.0, notice.at - clicked
    alert = dsl_alert(slack, mark)
    assert alert is not None
    slack.clear_faults()
    slack.release_delayed()


# -- installs ---------------------------------------------------------------------
# The trust's own process runs with a DSL channel and DSL ids in its
# environment (its `default` school's): no other school may inherit them.
TRUST_OWN = Settings(dsl_channel=DSL_CHANNEL_ID, dsl_user_ids=("UDSL1",))


def test_an_unregistered_workspace_cannot_install(slack: WatchedSlack) -> None:
    with fresh_schema() as url, closing(Database(url, audit_key=AUDIT_KEY.encode())) as db, \
            trust(db, slack, open_installs=False, base=TRUST_OWN) as base:
        page = install(base, slack, "code-x", bot_token="xoxb-stranger", team_id="T0999",
                       team_name="Stranger", status=403)
        assert "not registered" in page
        assert db.school_for(team_id="T0999", enterprise_id=None) is None
        assert [s["id"] for s in db.schools()] == ["hillside"]
        # Nothing it sends is served: no school, no token kept.
        mark = slack.mark()
        link = SchoolLink(f"{base}/slack/events", team_id="T0999")
        with pytest.raises(AssertionError):
            link.send(message_event("USTRANGER", text="hello"))
        assert not [c for c in slack.calls()[mark:] if c.token == "xoxb-stranger"]


def test_a_school_made_by_an_open_install_has_no_dsl_of_anothers(slack: WatchedSlack) -> None:
    with fresh_schema() as url, closing(Database(url, audit_key=AUDIT_KEY.encode())) as db, \
            trust(db, slack, open_installs=True, base=TRUST_OWN) as base:
        page = install(base, slack, "code-x", bot_token="xoxb-stranger", team_id="T0999",
                       team_name="Stranger")
        assert "no DSL channel" in page and "held" in page  # the installer is told
        link = SchoolLink(f"{base}/slack/events", team_id="T0999")
        mark = slack.mark()
        decision = Staff("USTRANGER", slack, link, Settings(nation="england")).decide(
            list(scenarios.STAFF_CONCERN), "KX-1")
        store = db.store("slack-t0999", create=False)
        assert store.count_records() == 1
        # The record is held: nothing went to the trust's DSL channel.
        assert not [c for c in slack.calls()[mark:] if c.method == "chat.postMessage"
                    and c.args.get("channel") == DSL_CHANNEL_ID]
        assert "KX-1" not in repr([m for m in slack.messages(DSL_CHANNEL_ID)])
        # The trust's DSL ids open nothing of this school's.
        mark = slack.mark()
        value = f'{{"r":"{decision.record_id}"}}'
        for action in (Action.REVIEW_VIEW, Action.REVIEW_ACK):
            link.send(block_action("UDSL1", action_id=action, value=value,
                                   channel=DSL_CHANNEL_ID))
        link.send(app_home_opened("UDSL1"))
        slack.wait_new(mark, lambda c: c if c.method == "views.publish" else None)
        seen = "\n".join(repr(c.args) for c in slack.calls()[mark:])
        assert "KX-1" not in seen
        [record] = list(store.iter_records())
        assert record["review_status"] == "pending"


def test_a_registered_workspace_stays_with_its_school_under_an_org_wide_install(
        slack: WatchedSlack) -> None:
    own = {"school": {"name": "Bryn Juniors", "nation": "wales"},
           "slack": {"dsl_channel": "CDSLJ", "dsl_user_ids": ["UDSLJ"]}}
    slack.add_channel("CDSLJ", name="dsl-j", is_private=True, members=[BOT_USER_ID, "UDSLJ"])
    with fresh_schema() as url, closing(Database(url, audit_key=AUDIT_KEY.encode())) as db:
        db.add_school("grid", name="Ysgol y Bryn", settings=GRID)
        db.link_workspace("grid", team_id=None, enterprise_id="E0002")
        db.add_school("bryn", name="Bryn Juniors", settings=own)
        db.link_workspace("bryn", team_id="T0777", enterprise_id="E0002")
        with trust(db, slack, open_installs=False) as base:
            install(base, slack, "code-g", bot_token="xoxb-grid", team_id=None,
                    enterprise_id="E0002", org_wide=True)
            link = SchoolLink(f"{base}/slack/events", team_id="T0777", enterprise_id="E0002")
            mark = slack.mark()
            Staff("UJ1", slack, link, Settings(nation="wales", dsl_channel="CDSLJ")).decide(
                list(scenarios.STAFF_CONCERN), "KJ-1")
            assert db.store("bryn", create=False).count_records() == 1
            assert db.store("grid", create=False).count_records() == 0
            posted = slack.wait_new(mark, lambda c: c if c.method == "chat.postMessage"
                                    and c.ok and c.args.get("channel") == "CDSLJ" else None)
            assert posted is not None and posted.token == "xoxb-grid"
            assert "KJ-1" not in repr(slack.messages("CDSLB"))


# -- the router, given injection-shaped input ----------------------------------------
def _signed(body: str, content_type: str = "application/json") -> SlackRequest:
    return SlackRequest("events_api", {}, body, content_type)


def _event(**fields: Any) -> str:
    return json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {
        "type": "message", "channel_type": "im", "user": "UHILL1", "text": "hello",
        "channel": "DUHILL1", "ts": "1.0"}, **fields})


@pytest.mark.parametrize("body", [
    _event(team_id="T0001' OR '1'='1"),
    _event(team_id="T0001\x00"),
    _event(team_id={"$ne": None}),
    _event(team_id=["T0001"]),
    _event(team_id="T0001", enterprise_id="E1'; DROP TABLE schools; --",
           authorizations=[{"enterprise_id": "E1'; DROP TABLE schools; --", "team_id": None,
                            "is_enterprise_install": True}]),
    _event(team_id="T" + "9" * 5000),
    "[" * 50_000 + "]" * 50_000,
    '{"type": "event_callback", "team_id": ' + "[" * 50_000 + "]" * 50_000 + "}",
])
def test_injection_shaped_input_to_the_router_is_a_clean_400(
        hillside: tuple[SchoolApp, Proxy], body: str) -> None:
    app, _ = hillside
    answer = app.transport.send(_signed(body))
    assert answer.status == 400, answer
    interactive = "payload=" + quote(json.dumps({
        "type": "block_actions", "team": {"id": json.loads(_event(team_id=["x"]))["team_id"]},
        "user": {"id": "UHILL1"}, "actions": []})) if body.startswith("{") else body
    assert app.transport.send(_signed(interactive, "application/x-www-form-urlencoded")
                              ).status == 400
    assert app.health().get("ok") is True
    logged = app.tail(200)
    assert "Traceback" not in logged and '"level": "error"' not in logged, logged
