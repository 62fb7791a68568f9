"""Files for the DSL in Teams: a record's PDF, a child's chronology as a PDF, or
the records made between two dates as CSV (as Slack uploads them), offered
as a file in the DSL's personal chat (a file consent card), put in their
OneDrive once they allow it, then shown there as the file. Refused (and
audited) for anyone else; an offer is taken once, by its own person."""

from __future__ import annotations

from typing import Any

from bot.teams.cards import FILE_CONSENT, FILE_INFO
from tests.harness.teams import Harness
from tests.harness.teams_driver import (
    CHANNEL,
    DSL,
    OUTSIDER,
    STAFF,
    attachments,
    button,
    chat_of,
    file_consent_activity,
)
from tests.scenarios import STAFF_CONCERN


def _record(teams: Harness) -> dict[str, Any]:
    teams.say(DSL, "home")  # the DSL's personal chat with Jigsaw
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    return teams.jigsaw.record(summary["id"])


def _offer_record_pdf(teams: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    """The DSL's "Download PDF" on the full record: (record, consent card)."""
    record = _record(teams)
    [post] = teams.channel()
    full = teams.send(teams.client.execute_activity(
        DSL, button(teams.view(DSL, post), "View full record"), conversation=CHANNEL))
    pdf = next(a for a in full.body["value"]["body"][-1]["actions"] if a["verb"] == "dsl.pdf")
    reply = teams.send(teams.client.execute_activity(DSL, pdf, conversation=CHANNEL))
    assert "personal chat" in str(reply.body["value"])
    [offer] = [a for p in teams.chat(DSL) for a in attachments(p, FILE_CONSENT)]
    return record, offer


def test_a_record_pdf_is_offered_then_put_in_the_dsls_onedrive(teams: Harness) -> None:
    record, offer = _offer_record_pdf(teams)
    assert offer["name"] == f"{record['id']}.pdf"
    content = offer["content"]
    assert content["sizeInBytes"] > 1000
    assert record["child_ref"] not in str(content["description"])
    assert not [p for p in teams.channel() if attachments(p, FILE_CONSENT)], "never in the channel"
    teams.send(file_consent_activity(teams.client, DSL, accept=True,
                                     context=content["acceptContext"],
                                     upload_url=teams.fake.upload_url("r1"), name=offer["name"]))
    headers, body = teams.fake.uploads["r1"]
    assert body.startswith(b"%PDF") and len(body) == content["sizeInBytes"]
    assert headers["Content-Range"] == f"bytes 0-{len(body) - 1}/{len(body)}"
    assert "Authorization" not in headers, "no token goes to the upload session"
    [shown] = [a for p in teams.chat(DSL) for a in attachments(p, FILE_INFO)]
    assert shown["name"] == offer["name"]
    assert shown["content"] == {"uniqueId": "file-1", "fileType": "pdf"}
    assert shown["contentUrl"].startswith("https://school-my.sharepoint.com/")
    audit = teams.jigsaw.record(record["id"])["audit"]
    assert any(a["action"] == "exported" and a["by"] == DSL for a in audit)
    # The same offer allowed again (a retry, a replay) puts nothing more anywhere.
    teams.send(file_consent_activity(teams.client, DSL, accept=True,
                                     context=content["acceptContext"],
                                     upload_url=teams.fake.upload_url("again")))
    assert "again" not in teams.fake.uploads
    assert "no longer on offer" in teams.chat(DSL)[-1].text


def test_a_declined_file_is_dropped(teams: Harness) -> None:
    _, offer = _offer_record_pdf(teams)
    key = offer["content"]["declineContext"]
    teams.send(file_consent_activity(teams.client, DSL, accept=False, context=key))
    assert "not saved" in teams.chat(DSL)[-1].text
    teams.send(file_consent_activity(teams.client, DSL, accept=True, context=key,
                                     upload_url=teams.fake.upload_url("late")))
    assert teams.fake.uploads == {}


def test_an_offer_is_only_for_its_own_person(teams: Harness) -> None:
    _, offer = _offer_record_pdf(teams)
    teams.say(OUTSIDER, "home")
    teams.send(file_consent_activity(teams.client, OUTSIDER, accept=True,
                                     context=offer["content"]["acceptContext"],
                                     upload_url=teams.fake.upload_url("stolen")))
    assert teams.fake.uploads == {}
    # The DSL can still take it.
    teams.send(file_consent_activity(teams.client, DSL, accept=True,
                                     context=offer["content"]["acceptContext"],
                                     upload_url=teams.fake.upload_url("mine")))
    assert teams.fake.uploads["mine"][1].startswith(b"%PDF")


def test_an_upload_goes_only_over_https(teams: Harness) -> None:
    _, offer = _offer_record_pdf(teams)
    teams.send(file_consent_activity(teams.client, DSL, accept=True,
                                     context=offer["content"]["acceptContext"],
                                     upload_url="http://127.0.0.1:9/upload/plain"))
    assert teams.fake.uploads == {}
    assert "could not be saved" in teams.chat(DSL)[-1].text


def test_anyone_else_is_refused_and_it_is_audited(teams: Harness) -> None:
    record = _record(teams)
    teams.say(OUTSIDER, "home")
    before = len(teams.fake.posts)
    reply = teams.send(teams.client.execute_activity(
        OUTSIDER, {"verb": "dsl.pdf", "data": {"r": record["id"]}}, conversation=CHANNEL))
    assert "arrives late" not in repr(reply.body)
    assert not [p for p in teams.fake.posts[before:] if attachments(p, FILE_CONSENT)]
    last = teams.jigsaw.record(record["id"])["audit"][-1]
    assert (last["action"], last["by"]) == ("access_refused", OUTSIDER)


def test_a_chronology_pdf_from_the_home_card(teams: Harness) -> None:
    record = _record(teams)
    home = teams.chat(DSL)[0]
    pdf = button(home, "Chronology PDF")
    reply = teams.send(teams.client.execute_activity(DSL, pdf,
                                                     inputs={"ref": record["child_ref"]}))
    assert "personal chat" in str(reply.body["value"])
    [offer] = [a for p in teams.fake.posts_to(chat_of(DSL)) for a in attachments(p, FILE_CONSENT)]
    assert offer["name"].startswith("chronology-") and offer["name"].endswith(".pdf")
    teams.send(file_consent_activity(teams.client, DSL, accept=True,
                                     context=offer["content"]["acceptContext"],
                                     upload_url=teams.fake.upload_url("c1")))
    assert teams.fake.uploads["c1"][1].startswith(b"%PDF")


def test_the_records_between_two_dates_are_a_csv_file_as_in_slack(teams: Harness) -> None:
    record = _record(teams)
    home = teams.chat(DSL)[0]
    day = record["created_at"][:10]
    before = len(teams.fake.posts)
    reply = teams.send(teams.client.execute_activity(DSL, button(home, "Export records as CSV"),
                                                     inputs={"start": day, "end": day}))
    assert "personal chat" in str(reply.body["value"])
    assert record["child_ref"] not in str(reply.body), "the card shows no child's details"
    [offer] = [a for p in teams.fake.posts[before:] for a in attachments(p, FILE_CONSENT)]
    assert offer["name"] == f"records-{day}-to-{day}.csv"
    assert not [p for p in teams.channel() if attachments(p, FILE_CONSENT)], "never in the channel"
    teams.send(file_consent_activity(teams.client, DSL, accept=True,
                                     context=offer["content"]["acceptContext"],
                                     upload_url=teams.fake.upload_url("x1"), name=offer["name"]))
    body = teams.fake.uploads["x1"][1].decode("utf-8")
    assert record["id"] in body and record["child_ref"] in body
    assert len(body.encode("utf-8")) == offer["content"]["sizeInBytes"]
    [shown] = [a for p in teams.chat(DSL) for a in attachments(p, FILE_INFO)]
    assert (shown["name"], shown["content"]["fileType"]) == (offer["name"], "csv")
    exported = [a for a in teams.jigsaw.record(record["id"])["audit"] if a["action"] == "exported"]
    assert [(a["by"], a["detail"]["format"]) for a in exported] == [(DSL, "csv")]

    teams.say(OUTSIDER, "home")
    before = len(teams.fake.posts)
    refused = teams.send(teams.client.execute_activity(
        OUTSIDER, {"verb": "dsl.csv", "data": {"start": day, "end": day}}))
    assert record["id"] not in str(refused.body)
    assert not [p for p in teams.fake.posts[before:] if attachments(p, FILE_CONSENT)]
    last = teams.jigsaw.record(record["id"])["audit"][-1]
    assert (last["action"], last["by"]) == ("access_refused", OUTSIDER)
