"""Red-team findings on the DSL's review paths (issue points 6, 14 and 15),
each reproduced as an attack through the real app over its real HTTP
endpoint (or Socket Mode dispatch) against the local fake Slack Web API."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.slack.wire import Action, Modal
from tests import scenarios as sc
from tests.harness.fakeslack import FakeSlack
from tests.harness.live import DSL_CHANNEL, LiveApp
from tests.harness.slackreq import block_action, text_input, view_submission

OUTSIDER = "U999"


def value(**data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))



def audit_actions(live: LiveApp, record_id: str) -> list[tuple[str, str]]:
    record = live.store.get_record(record_id)
    assert record is not None
    return [(e["by"], e["action"]) for e in record["audit"]]


class Clock:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- point 6: a failing membership lookup fails closed after a hard limit ------------

@pytest.mark.parametrize("kind", ["http", "socket"])
def test_a_removed_member_cannot_review_once_the_member_list_is_too_old(
        fake: FakeSlack, tmp_path: Path, kind: str) -> None:
    # The default hard limit: five minutes.
    settings = Settings(school_name="Hillside Primary", dsl_channel=DSL_CHANNEL,
                        dsl_user_ids=("UDSL1",))
    live = LiveApp(kind, fake, tmp_path / "data", settings=settings)
    clock = Clock()
    live.front.membership.clock = clock
    try:
        live.decide(sc.STAFF_CONCERN)
        record_id = live.only_record()["id"]
        live.review_click("UDSL2", Action.REVIEW_VIEW, record_id)  # a member: the list is fetched
        assert len(fake.calls("views.open")) == 1
        # UDSL2 is removed from the channel, and from now on Slack cannot be asked.
        fake.set_members(DSL_CHANNEL, ["UBOT", "UDSL1"])
        fake.fail_while("conversations.members", lambda c: True, status=500)
        clock.now += 120  # past the short cache, inside the hard limit: a blip is tolerated
        live.review_click("UDSL2", Action.REVIEW_VIEW, record_id)
        assert len(fake.calls("views.open")) == 2
        clock.now += 5 * 60  # the list is now older than the hard limit (five minutes)
        live.review_click("UDSL2", Action.REVIEW_VIEW, record_id)
        live.review_click("UDSL2", Action.REVIEW_ACK, record_id)
        assert len(fake.calls("views.open")) == 2  # the full record was not shown again
        record = live.store.get_record(record_id)
        assert record is not None and record["review_status"] == "pending"
        assert audit_actions(live, record_id)[-2:] == [("UDSL2", "access_refused")] * 2
        # A configured DSL needs no lookup and is not locked out.
        live.review_click("UDSL1", Action.REVIEW_ACK, record_id)
        record = live.store.get_record(record_id)
        assert record is not None and record["review_status"] != "pending"
    finally:
        live.close()


def test_the_hard_limit_is_a_setting() -> None:
    from bot.config import ConfigError, from_mapping

    assert from_mapping({"access": {"membership_max_stale_minutes": 2}}
                        ).membership_max_stale_minutes == 2
    with pytest.raises(ConfigError, match="membership_max_stale_minutes"):
        from_mapping({"access": {"membership_max_stale_minutes": 0}})


# -- point 14: view submissions idempotent --------------------------------------------

def _note(live: LiveApp, record_id: str, note: str, *, view_id: str | None = None) -> None:
    live.send(view_submission("UDSL1", callback_id=Modal.REVIEW_NOTE,
                              values={"note": {"value": text_input(note)}},
                              private_metadata=value(r=record_id), view_id=view_id))


def _follow_up(live: LiveApp, record_id: str, note: str, due: str, *,
               view_id: str | None = None) -> None:
    live.send(view_submission("UDSL1", callback_id=Modal.REVIEW_FOLLOWUP,
                              values={"note": {"value": text_input(note)},
                                      "due": {"value": {"type": "datepicker",
                                                        "selected_date": due}}},
                              private_metadata=value(r=record_id), view_id=view_id))


def test_the_same_note_submitted_twice_is_added_once(live: LiveApp) -> None:
    live.decide(sc.STAFF_CONCERN)
    record_id = live.only_record()["id"]
    due = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
    # The same modal delivered twice (Slack retrying, a second click on Submit)...
    _note(live, record_id, "Spoke to mum", view_id="V0001")
    _note(live, record_id, "Spoke to mum", view_id="V0001")
    # ...and the same words in a second modal a moment later.
    _note(live, record_id, "Spoke to mum", view_id="V0002")
    _follow_up(live, record_id, "Chase GP", due, view_id="V0003")
    _follow_up(live, record_id, "Chase GP", due, view_id="V0003")
    _follow_up(live, record_id, "Chase GP", due, view_id="V0004")
    record = live.only_record()
    assert [n["note"] for n in record["notes"]] == ["Spoke to mum"]
    assert [f["action"] for f in record["follow_up"]].count("Chase GP") == 1
    actions = [a for _, a in audit_actions(live, record_id)]
    assert actions.count("note_added") == 1 and actions.count("follow_up_needed") == 1
    # The staff member was told once of each.
    told = [t for t in live.dm_texts() if "Spoke to mum" in t or "Chase GP" in t]
    assert len([t for t in told if "Spoke to mum" in t]) == 1
    assert len([t for t in told if "Chase GP" in t]) == 1
    # A different note is added as usual.
    _note(live, record_id, "Spoke to class teacher", view_id="V0005")
    assert [n["note"] for n in live.only_record()["notes"]] == ["Spoke to mum",
                                                                 "Spoke to class teacher"]


# -- point 15: forged review clicks -----------------------------------------------------

def test_forged_review_clicks_cannot_grow_the_store(fake: FakeSlack, tmp_path: Path) -> None:
    live = LiveApp("http", fake, tmp_path / "data")
    try:
        live.decide(sc.STAFF_CONCERN)
        record_id = live.only_record()["id"]
        before = len(json.dumps(live.only_record()))
        limit = live.settings.audited_refusals_per_hour
        for _ in range(80):
            live.review_click(OUTSIDER, Action.REVIEW_ACK, record_id)
        for _ in range(20):
            live.review_click(OUTSIDER, Action.REVIEW_VIEW, record_id)
        refused = [a for a in audit_actions(live, record_id) if a == (OUTSIDER, "access_refused")]
        assert len(refused) == limit
        assert len(json.dumps(live.only_record())) - before < limit * 600  # ~430 bytes each
        # The rest are counted, not lost.
        assert live.jigsaw.access.refusals_counted() == {f"{OUTSIDER} {record_id}": 100 - limit}
        # Other people's refusals are still audited.
        live.review_click("U456", Action.REVIEW_ACK, record_id)
        assert audit_actions(live, record_id)[-1] == ("U456", "access_refused")
    finally:
        live.close()


def _replies_to(fake: FakeSlack, user: str) -> list[tuple[str, str]]:
    return [(c.method, str(c.args.get("text"))) for c in fake.calls()
            if c.method in ("chat.postEphemeral", "chat.postMessage")
            and (c.args.get("user") == user or c.args.get("channel") == f"D{user}")]


def _answers(live: LiveApp, request_for: Any) -> list[list[tuple[str, str]]]:
    """What the outsider is told for a real record id, then a made-up one."""
    record_id = live.only_record()["id"]
    out = []
    for rid in (record_id, "ISD-2026-9999"):
        live.fake.clear()
        live.send(request_for(rid))
        out.append(_replies_to(live.fake, OUTSIDER))
    return out


@pytest.mark.parametrize("action_id", [Action.REVIEW_ACK, Action.REVIEW_VIEW, Action.REVIEW_NOTE,
                                       Action.REVIEW_FOLLOWUP, Action.REVIEW_TAKE_ON])
def test_not_found_is_answered_exactly_like_refused(live: LiveApp, action_id: str) -> None:
    live.decide(sc.STAFF_CONCERN)
    real, missing = _answers(live, lambda rid: block_action(
        OUTSIDER, action_id=action_id, value=value(r=rid), channel=DSL_CHANNEL))
    assert real and real == missing
    assert not any("find" in text for _, text in missing)


@pytest.mark.parametrize("action_id", [Action.FOLLOWUP_DONE, Action.RECORD_PDF])
def test_not_found_is_refused_alike_for_follow_ups_and_exports(live: LiveApp,
                                                               action_id: str) -> None:
    live.decide(sc.STAFF_CONCERN)
    real, missing = _answers(live, lambda rid: block_action(
        OUTSIDER, action_id=action_id, value=value(r=rid, f="1"), channel=DSL_CHANNEL))
    assert real and real == missing
    assert not any("find" in text for _, text in missing)
