"""The DSL's tools in Slack: a chronology per child (a modal), PDF and CSV
exports uploaded into the DSL's own DM (never a channel), and the weekly
digest with its chart. DSL only; every view, export and refusal audited.
"""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from bot.config import Settings
from bot.digest import weekly
from bot.service import DecisionService
from bot.slack.wire import Action, Modal
from storage import TinyDBStore
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID, FakeSlack
from tests.harness.slack import Harness
from tests.harness.slack_driver import Driver, all_text, buttons
from tests.harness.slackreq import app_home_opened, block_action, text_input, view_submission
from tests.slack.test_schedule import (
    MONDAY_9AM,
    Clock,
    decide_in_process_at,
    reminders,
    running,
)

DSL, STAFF = "UDSL1", "U123"
CHILD = "AB-1234"


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_9AM)


@pytest.fixture
def jigsaw(settings: Settings, store: TinyDBStore, clock: Clock) -> DecisionService:
    return DecisionService(settings, store, clock=clock)


@pytest.fixture
def slack(jigsaw: DecisionService, fake: FakeSlack) -> Iterator[Harness]:
    yield from running(jigsaw, fake)


@pytest.fixture
def made(jigsaw: DecisionService, clock: Clock) -> dict[str, dict[str, Any]]:
    return {
        "police": decide_in_process_at(jigsaw, clock, MONDAY_9AM - timedelta(days=20),
                            sc.POLICE_PREJUDICE),
        "other": decide_in_process_at(jigsaw, clock, MONDAY_9AM - timedelta(days=10),
                           sc.EARLY_HELP_CONSENT),
        "again": decide_in_process_at(jigsaw, clock, MONDAY_9AM - timedelta(days=3),
                           sc.POLICE_PREJUDICE),
    }


def home(slack: Harness, user: str) -> dict[str, Any]:
    slack.send(app_home_opened(user))
    view = slack.fake.home_view(user)
    assert view is not None
    return view


def press(slack: Harness, user: str, view: dict[str, Any], action_id: str) -> None:
    [button] = [b for b in buttons(view["blocks"]) if b["action_id"] == action_id]
    slack.send(block_action(user, action_id=action_id, value=button.get("value"),
                            view={"id": "V1", **view}))


def pdf_words(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())


def test_the_dsl_sees_a_childs_chronology_in_a_modal(
        slack: Harness, made: dict[str, dict[str, Any]]) -> None:
    press(slack, DSL, home(slack, DSL), Action.DSL_CHRONOLOGY)
    form = slack.fake.last("views.open").response["view"]
    assert form["callback_id"] == Modal.CHRONOLOGY_ASK

    ack = slack.send(view_submission(DSL, callback_id=Modal.CHRONOLOGY_ASK, view_id=form["id"],
                                     values={"child_ref": {"value": text_input(CHILD)}}))
    answer = ack.json()
    assert answer["response_action"] == "update"
    text = all_text(answer["view"])
    assert f"Chronology for {CHILD}: 2 records" in text
    assert text.index(made["police"]["id"]) < text.index(made["again"]["id"])
    assert made["other"]["id"] not in text
    for key in ("police", "again"):
        record = slack.jigsaw.store.get_record(made[key]["id"])
        assert record is not None and record["audit"][-1]["action"] == "chronology_viewed"
        assert record["audit"][-1]["by"] == DSL

    # From there, a PDF of it into the DSL's own DM.
    press(slack, DSL, answer["view"], Action.CHRONOLOGY_PDF)
    [upload] = slack.fake.files()
    assert upload["channels"] == [f"D{DSL}"]
    assert CHILD not in upload["name"]  # a file name shows in notifications
    words = pdf_words(upload["content"])
    assert made["police"]["id"] in words and made["again"]["id"] in words
    assert "Hillside Primary" in words and "Page 1 of" in words


def test_a_record_pdf_and_a_csv_go_to_the_dsls_dm(
        slack: Harness, made: dict[str, dict[str, Any]]) -> None:
    record_id = made["other"]["id"]
    modal = slack.jigsaw.record(record_id)
    assert modal is not None
    view = slack.front.blocks.record_modal(modal)
    press(slack, DSL, view, Action.RECORD_PDF)

    press(slack, DSL, home(slack, DSL), Action.DSL_CSV)
    form = slack.fake.last("views.open").response["view"]
    day = {"type": "datepicker"}
    ack = slack.send(view_submission(DSL, callback_id=Modal.CSV_ASK, view_id=form["id"],
                                     values={"from": {"value": {**day, "selected_date":
                                                                "2026-11-15"}},
                                             "to": {"value": {**day, "selected_date":
                                                              "2026-11-30"}}}))
    assert ack.json() in (None, {})

    pdf, table = slack.fake.files()
    assert pdf["channels"] == table["channels"] == [f"D{DSL}"]
    assert slack.fake.files(DSL_CHANNEL_ID) == []
    assert record_id in pdf_words(pdf["content"])
    # People by the names Slack gave (users.info), times in school time, in words.
    for text in (pdf_words(pdf["content"]), table["content"].decode("utf-8")):
        assert "name not recorded" not in text and not re.search(r"\d{4}-\d{2}-\d{2}T", text)
        assert not re.search(r"\b(tell_dsl|dsl_only|record_only|share_part)\b", text)
    rows = list(csv.DictReader(io.StringIO(table["content"].decode("utf-8"))))
    assert [r["Reference"] for r in rows] == [made["other"]["id"], made["again"]["id"]]
    record = slack.jigsaw.store.get_record(record_id)
    assert record is not None
    assert [e["detail"].get("format") for e in record["audit"]
            if e["action"] == "exported"] == ["pdf", "csv"]


def test_the_csv_dates_are_checked(slack: Harness) -> None:
    day = {"type": "datepicker"}
    ack = slack.send(view_submission(DSL, callback_id=Modal.CSV_ASK, values={
        "from": {"value": {**day, "selected_date": "2026-11-30"}},
        "to": {"value": {**day, "selected_date": "2026-11-01"}}}))
    assert ack.json()["response_action"] == "errors" and "to" in ack.json()["errors"]
    assert slack.fake.files() == []


def test_staff_are_refused_and_the_refusal_is_audited(
        slack: Harness, made: dict[str, dict[str, Any]]) -> None:
    mine = home(slack, STAFF)
    shown = {b["action_id"] for b in buttons(mine["blocks"])}
    assert not {Action.DSL_CHRONOLOGY, Action.DSL_CSV} & shown

    # Buttons they could only have forged.
    slack.send(block_action(STAFF, action_id=Action.DSL_CHRONOLOGY, value="chronology"))
    slack.send(block_action(STAFF, action_id=Action.RECORD_PDF,
                            value=f'{{"r":"{made["police"]["id"]}"}}'))
    slack.send(block_action(STAFF, action_id=Action.CHRONOLOGY_PDF, value=f'{{"c":"{CHILD}"}}'))
    ack = slack.send(view_submission(STAFF, callback_id=Modal.CHRONOLOGY_ASK,
                                     values={"child_ref": {"value": text_input(CHILD)}}))
    assert ack.json()["response_action"] == "errors"

    assert slack.fake.calls("views.open") == [] and slack.fake.files() == []
    refusals = [c for c in slack.fake.calls("chat.postMessage")
                if "Only the DSL team" in all_text(c)]
    assert len(refusals) == 3
    record = slack.jigsaw.store.get_record(made["police"]["id"])
    assert record is not None
    assert [e["detail"]["attempted"] for e in record["audit"]
            if e["action"] == "access_refused"] == ["export_pdf", "export_chronology",
                                                   "chronology"]
    assert "chronology_viewed" not in [e["action"] for e in record["audit"]]
    log = slack.jigsaw.store.get_meta("access_log")
    assert [(e["by"], e["action"], e["allowed"]) for e in log] == [
        (STAFF, "chronology", False), (STAFF, "export_pdf", False),
        (STAFF, "export_chronology", False), (STAFF, "chronology", False)]


# -- the weekly digest ----------------------------------------------------------------

def png_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG, checking its signature and header CRC."""
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", content[8:16])
    assert kind == b"IHDR" and length == 13
    header = content[16:29]
    (crc,) = struct.unpack(">I", content[29:33])
    assert zlib.crc32(kind + header) == crc
    assert content.endswith(b"IEND\xaeB`\x82")
    width, height = struct.unpack(">II", header[:8])
    return width, height


def test_the_weekly_digest_counts_and_charts_without_child_details(
        slack: Harness, clock: Clock, made: dict[str, dict[str, Any]]) -> None:
    slack.jigsaw.reviews.review(made["police"]["id"], "acknowledge", by=DSL, allowed=True)
    slack.front.scheduler.tick()  # Monday 09:00: the next digest is next Monday 08:00
    # What happened after an earlier decision, heard this week.
    at = clock.now
    clock.to(datetime(2026, 12, 3, 11, tzinfo=UTC))
    slack.jigsaw.reviews.review(made["police"]["id"], "outcome", by=DSL, allowed=True,
                        outcome="referral_accepted", ref="CSC-1")
    clock.to(at)
    clock.to(datetime(2026, 12, 7, 7, 59, tzinfo=UTC))
    slack.front.scheduler.tick()
    assert "digest" not in [c.args["metadata"]["event_payload"]["key"].split(":")[0]
                            for c in reminders(slack.fake, DSL_CHANNEL_ID)]
    # Decisions in the week to Sunday.
    for days in (1, 3):
        decide_in_process_at(slack.jigsaw, clock, datetime(2026, 12, 7, 9, tzinfo=UTC)
                  - timedelta(days=days), sc.NOT_SURE)
    decide_in_process_at(slack.jigsaw, clock, datetime(2026, 12, 5, 9, tzinfo=UTC), sc.NO_PURPOSE)

    clock.to(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    slack.front.scheduler.tick()
    clock.advance(hours=2)
    slack.front.scheduler.tick()
    [digest] = [c for c in reminders(slack.fake, DSL_CHANNEL_ID)
                if c.args["metadata"]["event_payload"]["key"].startswith("digest:")]
    text = all_text(digest)
    assert "3 decisions recorded" in text
    assert "shared 0, shared in part 0, not shared 1, deferred 2, record only 0" in text
    assert "given 0, refused 0, not sought 0, not sure 2, not asked 1" in text
    # Unacknowledged: two earlier records and this week's three. Overdue:
    # Thursday's two (an agency's request answered is not a referral to chase).
    assert "5 records unacknowledged, 2 follow-ups overdue" in text
    # The same child twice this week (the two NOT_SURE decisions): counted, never named.
    assert "Children with more than one record this week:* 1" in text
    assert "*Referrals made:* 0" in text
    assert "*After the decision* (outcomes recorded this week): Referral accepted 1." in text
    assert "raised to taken on none yet" in text  # nothing of this week's taken on yet
    children = {r["child_ref"] for r in slack.jigsaw.store.iter_records()}
    words = {r["facts"] for r in slack.jigsaw.store.iter_records()} | {
        r["rationale"] for r in slack.jigsaw.store.iter_records()}
    for private in (children | words) - {""}:  # a records request has no facts
        assert private not in text

    [chart] = slack.fake.files(DSL_CHANNEL_ID)
    assert chart["thread_ts"] == digest.response["ts"]
    assert chart["name"] == "digest-2026-12-07.png"
    width, height = png_size(chart["content"])
    assert (width, height) == (800, 360)
    # The chart is drawn from the digest's numbers alone: counts under fixed
    # labels, and week dates.
    numbers = weekly(slack.jigsaw.store.iter_records(), slack.jigsaw.schedule.follow_ups(),
                     now=clock.now, day=slack.jigsaw.schedule.day)
    shown = json.dumps(numbers)
    for private in (children | words) - {""}:  # a records request has no facts
        assert json.dumps(private) not in shown
    assert [w["deferred"] for w in numbers["weeks"]][-1] == 2
    # Counts by category (as the DSL corrected it), under the category's name.
    assert sum(numbers["categories"].values()) == 3
    line = next(t for t in text.splitlines() if t.startswith("*By category:*"))
    for code, n in numbers["categories"].items():
        if n:
            label = slack.jigsaw.prompts.wording(f"category_{code}")
            assert f"{label} {n}" in line, line
    # The week as people write it, not ISO.
    assert "Weekly digest, Mon 30 Nov 2026 to Sun 6 Dec 2026*" in text


def test_from_a_records_full_view_the_dsl_can_open_the_childs_chronology(
        slack: Harness, made: dict[str, dict[str, Any]]) -> None:
    slack.front.delivery.deliver_record(made["again"]["id"])
    [post] = [c for c in slack.fake.calls("chat.postMessage")
              if (c.args.get("metadata") or {}).get("event_type") == "jigsaw_record"]
    Driver(slack, DSL).click(post, action_id=Action.REVIEW_VIEW)
    opened = slack.fake.last("views.open").response["view"]
    assert Action.RECORD_CHRONOLOGY in [b["action_id"] for b in buttons(opened["blocks"])]

    [button] = [b for b in buttons(opened["blocks"]) if b["action_id"] == Action.RECORD_CHRONOLOGY]
    slack.send(block_action(DSL, action_id=Action.RECORD_CHRONOLOGY, value=button["value"],
                            view=opened))
    shown = slack.fake.view(opened["id"])
    assert shown is not None and shown["callback_id"] == Modal.CHRONOLOGY
    text = all_text(shown["blocks"])
    assert f"Chronology for {CHILD}: 2 records" in text
    assert made["police"]["id"] in text and made["other"]["id"] not in text
