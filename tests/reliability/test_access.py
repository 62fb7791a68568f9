"""Who may see and act on a child's record.

Only the DSL team (members of the private DSL channel, or the configured
DSL user ids) can review a record, open the full record or export it. Staff
see their own records and nobody else's, and cannot act on someone else's
decision by forging a button. Every refused attempt on a record is written to
that record's audit trail.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot import record as records
from bot.admin import operator
from bot.config import Environment, Settings, load_settings
from bot.slack.wire import Action, Modal
from tests import scenarios as sc
from tests.harness.fakeslack import FakeSlack
from tests.harness.live import (
    DSL_CHANNEL,
    STAFF,
    LiveApp,
    subprocess_env,
    texts,
)
from tests.harness.slackreq import (
    app_home_opened,
    block_action,
    message_event,
    text_input,
    view_submission,
)

OUTSIDER = "U999"
REVIEW_BUTTONS = {
    Action.REVIEW_ACK: "acknowledge",
    Action.REVIEW_VIEW: "viewed",
    Action.REVIEW_FOLLOWUP: "follow_up",
    Action.REVIEW_NOTE: "note",
}


def value(**data: str) -> str:
    return json.dumps(data, separators=(",", ":"))


def _due() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))



def submit_note(live: LiveApp, user: str, record_id: str, note: str = "Spoke to mum") -> None:
    live.send(view_submission(user, callback_id=Modal.REVIEW_NOTE,
                              values={"note": {"value": text_input(note)}},
                              private_metadata=value(r=record_id)))


def submit_followup(live: LiveApp, user: str, record_id: str) -> None:
    live.send(view_submission(user, callback_id=Modal.REVIEW_FOLLOWUP,
                              values={"note": {"value": text_input("Chase police")},
                                      "due": {"value": {"type": "datepicker",
                                                        "selected_date": _due()}}},
                              private_metadata=value(r=record_id)))


def refusals(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["by"], e["detail"]["attempted"]) for e in record["audit"]
            if e["action"] == "access_refused"]


def told_refused(live: LiveApp, user: str) -> int:
    """How many times ``user`` was told "only the DSL team", in the channel
    (ephemeral) or, failing that, in their DM."""
    ephemeral = [c for c in live.fake.calls("chat.postEphemeral")
                 if c.args.get("user") == user and c.ok]
    said = ephemeral + [c for c in live.dm_calls(user) if c.method == "chat.postMessage"]
    return sum("Only the DSL team" in c.args.get("text", "") for c in said)


def test_only_the_dsl_team_can_review_view_or_annotate(live: LiveApp) -> None:
    live.decide(sc.STAFF_POLICE_REQUEST)  # passed to the DSL
    submitted = live.only_record()
    record_id = submitted["id"]
    posted = live.posts_to(DSL_CHANNEL)
    assert len(posted) == 1
    views_before = len(live.fake.calls("views.open"))
    # The person who made the record, and someone else entirely.
    for user in (STAFF, OUTSIDER):
        for action_id in REVIEW_BUTTONS:
            live.review_click(user, action_id, record_id)
        submit_note(live, user, record_id)
        submit_followup(live, user, record_id)
    record = live.store.get_record(record_id)
    assert record is not None
    assert record["review_status"] == "pending" and record["review"] is None
    assert record["notes"] == []
    assert record["follow_up"] == submitted["follow_up"]
    assert len(live.fake.calls("views.open")) == views_before, "a full record was shown"
    assert not [c for c in live.fake.calls("chat.update") if c.args.get("channel") == DSL_CHANNEL]
    expected = [(u, a) for u in (STAFF, OUTSIDER)
                for a in [*REVIEW_BUTTONS.values(), "note", "follow_up"]]
    assert refusals(record) == expected  # every attempt, in order, by whom
    assert records.verify(record) == []
    assert told_refused(live, STAFF) == 6 and told_refused(live, OUTSIDER) == 6
    # Nothing about the child reached the outsider.
    shown = "\n".join(t for c in live.fake.calls() if c.args.get("user") == OUTSIDER
                      or c.args.get("channel") == f"D{OUTSIDER}" for t in texts(c.args))
    assert "Bruise on left cheek" not in shown and "AB-1234" not in shown
    assert not live.log.errors()


def test_channel_members_and_configured_dsls_can_review(live: LiveApp) -> None:
    live.decide(sc.STAFF_CONCERN)
    record_id = live.only_record()["id"]
    # UDSL2 is only a member of the DSL channel; UDSL1 is also configured.
    live.review_click("UDSL2", Action.REVIEW_ACK, record_id)
    live.review_click("UDSL1", Action.REVIEW_VIEW, record_id)
    submit_note(live, "UDSL2", record_id, "Called the police back")
    submit_followup(live, "UDSL1", record_id)
    record = live.store.get_record(record_id)
    assert record is not None
    assert record["review_status"] == "follow_up_needed"
    assert record["review"]["by"] == "UDSL1"
    assert record["notes"][0]["by"] == "UDSL2"
    assert [(e["action"], e["by"]) for e in record["audit"]] == [
        ("submitted", STAFF), ("acknowledged", "UDSL2"), ("viewed", "UDSL1"),
        ("note_added", "UDSL2"), ("follow_up_needed", "UDSL1")]
    [opened] = live.fake.calls("views.open")
    assert "arrives late and hungry" in "\n".join(texts(opened.args["view"]))
    assert refusals(record) == []
    assert records.verify(record) == []
    assert not live.log.errors()


def test_modal_for_a_non_dsl_is_never_opened(live: LiveApp) -> None:
    """The follow-up and note buttons open a form only for the DSL team."""
    live.decide(sc.ALLEGATION)
    record_id = live.only_record()["id"]
    live.review_click(OUTSIDER, Action.REVIEW_NOTE, record_id)
    live.review_click(OUTSIDER, Action.REVIEW_FOLLOWUP, record_id)
    assert not live.fake.calls("views.open")
    live.review_click("UDSL2", Action.REVIEW_NOTE, record_id)
    [opened] = live.fake.calls("views.open")
    assert opened.args["view"]["callback_id"] == Modal.REVIEW_NOTE


def _app(fake: FakeSlack, tmp_path: Path, settings: Settings) -> LiveApp:
    return LiveApp("socket", fake, tmp_path / "data", settings=settings)


def test_configured_dsl_outside_the_channel_can_review(fake: FakeSlack, tmp_path: Path) -> None:
    live = _app(fake, tmp_path, Settings(dsl_channel=DSL_CHANNEL, dsl_user_ids=("UHEAD",)))
    try:
        live.decide(sc.ALLEGATION)
        record_id = live.only_record()["id"]
        assert "UHEAD" not in fake.channel(DSL_CHANNEL).members
        live.review_click("UHEAD", Action.REVIEW_ACK, record_id)
        record = live.store.get_record(record_id)
        assert record is not None and record["review"]["by"] == "UHEAD"
    finally:
        live.close()


def test_dsl_users_from_the_environment(monkeypatch: pytest.MonkeyPatch, fake: FakeSlack,
                                        tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, Environment.read({"JIGSAW_DSL_USERS": " UHEAD , UDEP,, ",
                                                     "JIGSAW_DSL_CHANNEL": DSL_CHANNEL}))
    assert settings.dsl_user_ids == ("UHEAD", "UDEP")
    live = _app(fake, tmp_path, settings)
    try:
        live.decide(sc.ALLEGATION)
        record_id = live.only_record()["id"]
        live.review_click("UDEP", Action.REVIEW_ACK, record_id)
        live.review_click("UNOT", Action.REVIEW_VIEW, record_id)
        record = live.store.get_record(record_id)
        assert record is not None
        assert record["review"]["by"] == "UDEP"
        assert refusals(record) == [("UNOT", "viewed")]
    finally:
        live.close()


def test_leaving_the_channel_ends_access(fake: FakeSlack, tmp_path: Path) -> None:
    live = _app(fake, tmp_path, Settings(dsl_channel=DSL_CHANNEL))
    live.front.membership.ttl = 0  # check membership on every click
    try:
        live.decide(sc.ALLEGATION)
        record_id = live.only_record()["id"]
        live.review_click("UDSL2", Action.REVIEW_VIEW, record_id)
        fake.set_members(DSL_CHANNEL, ["UBOT", "UDSL1"])
        live.review_click("UDSL2", Action.REVIEW_VIEW, record_id)
        record = live.store.get_record(record_id)
        assert record is not None
        assert [e["action"] for e in record["audit"]] == ["submitted", "viewed",
                                                          "access_refused"]
        assert len(fake.calls("views.open")) == 1
    finally:
        live.close()


def test_membership_lookup_failing_fails_closed(fake: FakeSlack, tmp_path: Path) -> None:
    """If Slack can't say who is in the DSL channel, only configured DSLs pass."""
    live = _app(fake, tmp_path, Settings(dsl_channel=DSL_CHANNEL, dsl_user_ids=("UDSL1",)))
    try:
        live.decide(sc.ALLEGATION)
        record_id = live.only_record()["id"]
        fake.fail_while("conversations.members", lambda c: True, error="ratelimited",
                        status=429, retry_after=30)
        live.review_click("UDSL2", Action.REVIEW_VIEW, record_id)
        live.review_click("UDSL1", Action.REVIEW_ACK, record_id)
        record = live.store.get_record(record_id)
        assert record is not None
        assert refusals(record) == [("UDSL2", "viewed")]
        assert record["review"]["by"] == "UDSL1"
        assert len(fake.calls("views.open")) == 0
    finally:
        live.close()


def test_unknown_record_ids_reveal_nothing(live: LiveApp) -> None:
    live.decide(sc.ALLEGATION)
    # (Ids are taken in any case: "isd-2026-0001" is that record, not an unknown one.)
    for rid in ("ISD-2026-9999", "../../hot", "ISD-1900-0001", "ISD-2026-00001"):
        live.review_click("UDSL1", Action.REVIEW_VIEW, rid)
        live.review_click(OUTSIDER, Action.REVIEW_ACK, rid)
    assert not live.fake.calls("views.open")
    record = live.only_record()
    assert [e["action"] for e in record["audit"]] == ["submitted"]
    assert not live.log.errors()


# -- App Home ------------------------------------------------------------------

def _home_text(live: LiveApp, user: str) -> str:
    live.send(app_home_opened(user))
    publish = [c for c in live.fake.calls("views.publish") if c.args.get("user_id") == user][-1]
    return "\n".join(texts(publish.args["view"]))


def test_app_home_shows_staff_only_their_own_records(live: LiveApp) -> None:
    live.decide(sc.STAFF_CONCERN)  # child EF, by U123
    live.decide(sc.ALLEGATION, user="U456")  # child NP
    live.answer_all(["start", "no"], user="U456")  # and an open decision
    mine = live.store.list_records(recorded_by=STAFF)[0]["id"]
    theirs = live.store.list_records(recorded_by="U456")[0]["id"]
    staff_home = _home_text(live, STAFF)
    assert mine in staff_home and theirs not in staff_home
    assert "*Waiting for the DSL*" not in staff_home
    assert "NP" not in staff_home and "Resume" not in staff_home
    other_home = _home_text(live, "U456")
    assert theirs in other_home and mine not in other_home
    assert "*Waiting for the DSL*" not in other_home
    dsl_home = _home_text(live, "UDSL2")
    assert "*Waiting for the DSL*" in dsl_home
    assert mine in dsl_home and theirs in dsl_home
    assert not live.log.errors()


# -- forged buttons on someone else's decision ------------------------------------

def test_forged_buttons_cannot_touch_someone_elses_decision(live: LiveApp) -> None:
    live.answer_all(["start", "no", "own_concern"])
    victim = live.jigsaw.latest_open(STAFF)
    assert victim is not None
    step = live.jigsaw.flow.current(victim)
    assert step is not None and step.id == "child_ref"
    victim_calls = len(live.dm_calls(STAFF))
    forged = [
        ("answer_0", value(s=victim.id, st=step.id, v="yes")),
        (Action.ANSWER_SKIP, value(s=victim.id, st=step.id, v="skip")),
        (Action.NAV_BACK, value(s=victim.id, st=step.id)),
        (Action.NAV_PAUSE, value(s=victim.id, st=step.id)),
        (Action.NAV_CANCEL, value(s=victim.id, st=step.id)),
        (Action.NAV_HELP, value(s=victim.id, st=step.id)),
        (Action.SESSION_RESUME, value(s=victim.id)),
        (Action.HOME_RESUME, value(s=victim.id)),
    ]
    for action_id, raw in forged:
        live.send(block_action(OUTSIDER, action_id=action_id, value=raw))
    live.send(message_event(OUTSIDER, text="back"))  # their own DM: a fresh start for them
    after = live.jigsaw.get(victim.id)
    assert after == victim, "a forged button changed someone else's decision"
    assert len(live.dm_calls(STAFF)) == victim_calls, "the victim's DM was touched"
    # The outsider learnt nothing: no question from that session, no child details.
    outsider_buttons = [e.get("value", "") for c in live.dm_calls(OUTSIDER)
                        for b in c.args.get("blocks") or [] for e in b.get("elements") or []
                        if isinstance(e, dict)]
    assert not any(victim.id in v for v in outsider_buttons)
    assert live.jigsaw.latest_open(OUTSIDER) is not None  # "back" started their own
    assert not live.log.errors()


def test_a_record_cannot_be_reached_through_a_session_button(live: LiveApp) -> None:
    """Resuming a submitted session someone else made does not show its record."""
    live.decide(sc.ALLEGATION[:-1])
    session = live.jigsaw.latest_open(STAFF)
    assert session is not None
    live.say(sc.ALLEGATION[-1])
    assert live.store.record_for_session(session.id) is not None
    before = len(live.fake.calls())
    live.send(block_action(OUTSIDER, action_id=Action.SESSION_RESUME, value=value(s=session.id)))
    new = live.fake.calls()[before:]
    assert all(c.args.get("channel") in (None, f"D{OUTSIDER}") for c in new)
    assert not any("NP" in t or "ISD-" in t for c in new for t in texts(c.args))


# -- export ----------------------------------------------------------------------

def test_export_is_for_the_machine_admin_and_is_audited(tmp_path: Path, fake: FakeSlack) -> None:
    live = _app(fake, tmp_path, Settings(dsl_channel=DSL_CHANNEL))
    try:
        live.decide(sc.STAFF_CONCERN)
        live.decide(sc.ALLEGATION, user="U456")
        ids = [r["id"] for r in live.store.list_records()]
    finally:
        live.close()
    env = subprocess_env(tmp_path / "data")

    def export(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "export", *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)

    one = export("--record", ids[-1], "--reason", "SAR 2026-14", "--out", "one.json")
    assert one.returncode == 0, one.stderr
    assert "hungry" not in one.stdout  # the terminal never shows the copy
    assert stat.S_IMODE((tmp_path / "one.json").stat().st_mode) == 0o600
    [exported] = json.loads((tmp_path / "one.json").read_text(encoding="utf-8"))
    assert exported["id"] == ids[-1] and exported["facts"].startswith("Child often arrives late")
    assert exported["audit"][-1]["action"] == "exported"
    assert exported["audit"][-1]["by"] == operator(Environment.read())
    assert exported["audit"][-1]["detail"] == {"reason": "SAR 2026-14"}
    everything = export("--reason", "transfer to new school", "--out", "all.json")
    assert everything.returncode == 0
    copies = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    assert sorted(r["id"] for r in copies) == sorted(ids)
    missing = export("--record", ids[0], "--record", "ISD-2026-9999", "--reason", "x",
                     "--out", "missing.json")
    assert missing.returncode == 1 and "ISD-2026-9999" in missing.stderr
    assert missing.stdout == "" and not (tmp_path / "missing.json").exists()
    check = subprocess.run([sys.executable, "-m", "bot", "verify"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=60)
    assert check.returncode == 0, check.stdout
