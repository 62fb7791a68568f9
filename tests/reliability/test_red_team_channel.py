"""Red-team finding 4: the DSL channel made public, or shared outside the
school, after start-up. Driven through the real app over HTTP against the
local fake Slack Web API; the channel check's clock is the test's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import scenarios as sc
from tests.harness.fakeslack import FakeSlack
from tests.harness.live import DSL_CHANNEL, LiveApp

# What makes the channel unsafe: Slack Connect with another organisation
# (done, or only invited), shared with other workspaces of an Enterprise
# Grid org, or converted to a public channel.
PROBLEMS = {
    "ext_shared": {"is_ext_shared": True, "is_shared": True},
    "pending_ext_shared": {"is_pending_ext_shared": True},
    "org_shared": {"is_org_shared": True},
    "shared": {"is_shared": True},
    "public": {"public": True},
}
CHILD_DETAILS = ("EF", "arrives late", "hungry", "QR", "CAD 1234")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app(fake: FakeSlack, tmp_path: Path) -> Iterator[tuple[LiveApp, Clock]]:
    live = LiveApp("http", fake, tmp_path / "data")
    clock = Clock()
    live.front.delivery.guard.clock = clock
    yield live, clock
    live.close()


def channel_posts(live: LiveApp) -> list[str]:
    return [str(c.args.get("text")) for c in live.posts_to(DSL_CHANNEL)]


def dsl_dms(live: LiveApp) -> list[str]:
    return live.dm_said("UDSL1")


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_records_and_alerts_are_held_once_the_channel_is_unsafe(
        app: tuple[LiveApp, Clock], problem: str) -> None:
    live, clock = app
    live.decide(sc.STAFF_CONCERN)
    assert len(channel_posts(live)) == 1  # safe at first: posted
    live.fake.share(DSL_CHANNEL, **PROBLEMS[problem])
    clock.now += 61  # the last check is no longer trusted
    live.decide(sc.STAFF_CONCERN, user="U456")
    live.decide(sc.IMMEDIATE_DANGER, user="U789")
    # Nothing more reached the channel: not the record, not the urgent alert.
    assert len(channel_posts(live)) == 1
    held = [s for s in live.store.list_records() if s["id"] != live.store.list_records()[-1]["id"]]
    assert held and all((live.store.get_record(s["id"]) or {}).get("delivery", {})
                        .get("state") != "posted" for s in held)
    # The DSL was told by DM, once for this problem, with no child details.
    [told] = dsl_dms(live)
    assert "held" in told and DSL_CHANNEL in told
    assert not any(secret in told for secret in CHILD_DETAILS)
    # The staff member was told the record is waiting, not that it was sent.
    assert any("ISD-" in t and "sent" not in t.lower() for t in live.dm_said("U456"))
    # Still unsafe a minute later: the outbox retries, the DSL is not told again.
    clock.now += 61
    live.front.delivery.flush(force=True)
    assert len(channel_posts(live)) == 1 and len(dsl_dms(live)) == 1
    # Put right: everything held goes, once.
    live.fake.share(DSL_CHANNEL, public=False, is_ext_shared=False, is_shared=False,
                    is_org_shared=False, is_pending_ext_shared=False)
    clock.now += 61
    assert live.front.delivery.flush(force=True) == 0
    assert len(channel_posts(live)) == 4  # two records and the urgent alert
    assert all((live.store.get_record(s["id"]) or {}).get("delivery", {}).get("state")
               == "posted" for s in live.store.list_records())


def test_the_check_is_cached_only_briefly(app: tuple[LiveApp, Clock]) -> None:
    live, clock = app
    live.decide(sc.STAFF_CONCERN)
    checks = len(live.fake.calls("conversations.info"))
    live.decide(sc.STAFF_CONCERN, user="U456")
    assert len(live.fake.calls("conversations.info")) == checks  # within a minute: cached
    clock.now += 61
    live.decide(sc.STAFF_CONCERN, user="U789")
    assert len(live.fake.calls("conversations.info")) == checks + 1
