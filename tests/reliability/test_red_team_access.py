"""Red team, round two: the DSL channel shared with another organisation.
The channel guard holds new posts, but people already there could still be
taken for the DSL team: only members of the school's own workspace count,
and every action asks again. The app runs in its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.slack.wire import Action
from tests import scenarios
from tests.harness.fakeslack import BOT_USER_ID, DSL_CHANNEL_ID, TEAM_ID
from tests.harness.faults import WatchedSlack
from tests.harness.process import AppProcess
from tests.harness.slackreq import block_action
from tests.harness.staff import Staff

EXTERNAL = "UEXT1"  # of another organisation, in the channel once it is shared
COLLEAGUE = "UDSL2"  # of the school's own workspace, in the channel


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


def _click(app: AppProcess, user: str, record_id: str) -> None:
    value = f'{{"r":"{record_id}"}}'
    for action in (Action.REVIEW_VIEW, Action.REVIEW_ACK):
        app.send(block_action(user, action_id=action, value=value, channel=DSL_CHANNEL_ID))


def test_an_external_member_of_a_shared_dsl_channel_is_not_the_dsl_team(
        slack: WatchedSlack, app: AppProcess) -> None:
    slack.add_user(EXTERNAL, name="outsider", team_id="TOTHERORG")
    slack.add_user(COLLEAGUE, name="deputy", team_id=TEAM_ID)
    slack.set_members(DSL_CHANNEL_ID, [BOT_USER_ID, "UDSL1", COLLEAGUE, EXTERNAL])
    decision = Staff("USTAFF1", slack, app, Settings(dsl_channel=DSL_CHANNEL_ID)).decide(
        list(scenarios.STAFF_CONCERN), "KE-1")
    slack.share(DSL_CHANNEL_ID, is_ext_shared=True, is_shared=True)

    mark = slack.mark()
    _click(app, EXTERNAL, decision.record_id)
    slack.wait_new(mark, lambda c: c if len([
        d for d in slack.calls()[mark:] if d.method == "chat.postEphemeral"
        and d.args.get("user") == EXTERNAL]) >= 2 else None)
    seen = "\n".join(repr(c.args) for c in slack.calls()[mark:])
    assert "KE-1" not in seen and "views.open" not in [c.method for c in slack.calls()[mark:]]
    assert "acknowledged" not in seen
    # Their own workspace's member of the channel is the DSL team.
    mark = slack.mark()
    _click(app, COLLEAGUE, decision.record_id)
    view = slack.wait_new(mark, lambda c: c if c.method == "views.open" else None)
    assert view is not None and "KE-1" in repr(view.args)
