"""The DSL's work on any record in Teams (Action.Execute verbs on the
channel card): take it on, confirm its lawful basis, close it; a forged
click is refused and recorded; "not found" told apart from "already
decided"."""

from __future__ import annotations

import re
from typing import Any

from bot.record import OUTCOMES, render_text, verify
from tests.harness.faketeams import card_actions, card_texts
from tests.harness.teams import Harness
from tests.harness.teams_driver import CHANNEL, DSL, OUTSIDER, STAFF, button, install_activity
from tests.scenarios import ALLEGATION, STAFF_CONCERN


def _record(teams: Harness) -> dict:
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    return teams.jigsaw.record(summary["id"])


def _verb(teams: Harness, user: str, verb: str, record_id: str):
    activity = teams.client.execute_activity(user, {"verb": verb, "data": {"r": record_id}},
                                             conversation=CHANNEL)
    return teams.send(activity)


def _titles(teams: Harness) -> set[str]:
    """The buttons on the DSL's own view of the channel card."""
    [post] = teams.channel()
    return {str(a.get("title")) for a in card_actions(teams.view(DSL, post).card)}


def test_close_from_the_card(teams: Harness) -> None:
    record = _record(teams)
    assert "Close record" in _titles(teams)
    # A concern has no lawful basis suggested yet: nothing to confirm offered.
    assert "Confirm lawful basis" not in _titles(teams)
    [post] = teams.channel()
    reply = teams.send(teams.client.execute_activity(
        DSL, button(teams.view(DSL, post), "Close record"), conversation=CHANNEL,
        name="Dana DSL"))
    assert reply.body["type"] == "application/vnd.microsoft.card.adaptive"
    stored = teams.jigsaw.record(record["id"])
    assert stored["status"] == "closed" and stored["audit"][-1]["action"] == "closed"
    assert verify(stored) == []
    assert "Close record" not in _titles(teams)
    assert f"{record['id']} is closed." in teams.chat(DSL)[-1].text
    # Closed: nothing left to take on, said so.
    reply = _verb(teams, DSL, "review.take_on", record["id"].lower())
    assert "is closed: there is nothing left to decide" in str(reply.body)
    _verb(teams, DSL, "review.close", record["id"])
    assert "closed already" in teams.chat(DSL)[-1].text


def test_a_forged_close_or_confirm_is_refused_and_recorded(teams: Harness) -> None:
    record = _record(teams)
    for verb in ("review.close", "review.confirm_basis"):
        reply = _verb(teams, OUTSIDER, verb, record["id"])
        assert "Your attempt has been recorded" in str(reply.body)
    stored = teams.jigsaw.record(record["id"])
    assert stored["status"] != "closed"
    assert [e["detail"]["attempted"] for e in stored["audit"]
            if e["action"] == "access_refused"] == ["close", "confirm_basis"]


def test_not_found_is_told_apart_from_already_decided(teams: Harness) -> None:
    _record(teams)
    reply = _verb(teams, DSL, "review.take_on", " isd-1999-0001 ")
    assert "I can't find a record ISD-1999-0001" in str(reply.body)
    reply = _verb(teams, DSL, "review.close", "isd-1999-0001")
    assert "I can't find a record ISD-1999-0001" in str(reply.body)


def test_the_dsl_marks_herself_away_from_the_home_card(teams: Harness) -> None:
    teams.send(install_activity(teams.client, STAFF))
    teams.say(DSL, "home")
    home = teams.chat(DSL)[-1]
    reply = teams.send(teams.client.execute_activity(DSL, button(home, "I'm away: deputies cover"),
                                                     name="Dana DSL"))
    assert teams.jigsaw.cover().away
    assert "I'm back (end cover)" in {str(a.get("title")) for a in card_actions(
        reply.body["value"])}
    # Staff are told who covers, by name.
    teams.say(STAFF, "home")
    assert "is away:" in teams.chat(STAFF)[-1].text
    assert "is covering" in teams.chat(STAFF)[-1].text
    # Anyone else's click is refused, and logged.
    forged = teams.send(teams.client.execute_activity(
        OUTSIDER, {"verb": "dsl.cover", "data": {"v": "off"}}))
    assert "Your attempt has been recorded" in str(forged.body)
    assert teams.jigsaw.cover().away


def _form_save(teams: Harness, user: str, title: str, verb: str, inputs: dict[str, str]
               ) -> dict[str, Any]:
    """``title`` clicked on the DSL's view of the card, then its form saved
    with ``inputs``: the card the DSL sees after."""
    [post] = teams.channel()
    form = teams.send(teams.client.execute_activity(
        user, button(teams.view(DSL, post), title), conversation=CHANNEL,
        name="Dana DSL")).body["value"]
    save = next(a for a in card_actions(form) if a["verb"] == verb)
    reply = teams.send(teams.client.execute_activity(user, save, inputs=inputs,
                                                     conversation=CHANNEL, name="Dana DSL"))
    return dict(reply.body["value"])


def test_the_dsl_records_the_outcome_from_the_card(teams: Harness) -> None:
    """A record a member of staff decided: Record outcome, a menu of the
    outcomes; kept with who and when, on the card everyone sees."""
    teams.decide(STAFF, ALLEGATION)
    [summary] = teams.jigsaw.store.list_records()
    record_id = summary["id"]
    assert "Record outcome" in _titles(teams)
    [post] = teams.channel()
    form = teams.send(teams.client.execute_activity(
        DSL, button(teams.view(DSL, post), "Record outcome"), conversation=CHANNEL,
        name="Dana DSL")).body["value"]
    [menu] = [n for n in form["body"] if n.get("type") == "Input.ChoiceSet"]
    assert {c["value"] for c in menu["choices"]} == set(OUTCOMES)
    # Nothing chosen: the form again, nothing stored.
    again = _form_save(teams, DSL, "Record outcome", "review.outcome.save", {"outcome": ""})
    assert "Please pick one of the options" in " ".join(card_texts(again))
    stored = teams.jigsaw.record(record_id)
    assert stored is not None and not (stored.get("referral") or {}).get("outcomes")
    _form_save(teams, DSL, "Record outcome", "review.outcome.save",
               {"outcome": "nfa", "oref": "MASH-12", "note": "Strategy call: {{DATE(x)}}"})
    stored = teams.jigsaw.record(record_id)
    assert stored is not None
    [kept] = stored["referral"]["outcomes"]
    assert (kept["outcome"], kept["ref"], kept["note"], kept["by"]) == (
        "nfa", "MASH-12", "Strategy call: {{DATE(x)}}", DSL)
    assert stored["audit"][-1]["action"] == "outcome_added" and verify(stored) == []
    [post] = teams.channel()
    assert post.updates, "the channel card is updated in place"
    shown = " ".join(card_texts(post.card))
    assert re.search(r"No further action \(ref MASH-12\): Dana DSL \(DSL\), "
                     r"\w{3} \d{1,2} \w{3} \d{4}, \d{2}:\d{2}", shown), shown
    # Anyone else: refused, recorded.
    reply = _verb(teams, OUTSIDER, "review.outcome.save", record_id)
    assert "Your attempt has been recorded" in str(reply.body)
    stored = teams.jigsaw.record(record_id)
    assert stored is not None and len(stored["referral"]["outcomes"]) == 1


def test_the_dsl_corrects_the_category_and_summary_from_the_card(teams: Harness) -> None:
    record = _record(teams)
    assert record["category"] == "neglect" and record["category_derived"] is True
    assert "Record outcome" not in _titles(teams)  # still waiting for her decision
    [post] = teams.channel()
    form = teams.send(teams.client.execute_activity(
        DSL, button(teams.view(DSL, post), "Correct category"), conversation=CHANNEL,
        name="Dana DSL")).body["value"]
    inputs = {n["id"]: n for n in form["body"] if str(n.get("type", "")).startswith("Input.")}
    assert inputs["category"]["value"] == "neglect"
    assert inputs["line"]["value"] == record["summary_line"]
    _form_save(teams, DSL, "Correct category", "review.correct.save",
               {"category": "neglect", "line": "Hungry and late; mum lost her job"})
    stored = teams.jigsaw.record(record["id"])
    assert stored is not None
    assert stored["category"] == "neglect" and stored["category_derived"] is False
    assert stored["summary_line"] == "Hungry and late; mum lost her job"
    assert stored["derived"] == {"category": "neglect", "summary_line": record["summary_line"]}
    assert [(c["field"], c["to"], c["by"]) for c in stored["corrections"]] == [
        ("category", "neglect", DSL), ("summary_line", "Hungry and late; mum lost her job", DSL)]
    assert verify(stored) == []
    [post] = teams.channel()
    shown = " ".join(card_texts(post.card))
    assert "Hungry and late; mum lost her job" in shown and "read from the answers" not in shown
    # Saved again as it is: nothing more recorded.
    audit = len(stored["audit"])
    _form_save(teams, DSL, "Correct category", "review.correct.save",
               {"category": "neglect", "line": "Hungry and late; mum lost her job"})
    assert len(teams.jigsaw.record(record["id"])["audit"]) == audit
    # The full record names both, with who and when.
    text = render_text(teams.jigsaw.record(record["id"]), teams.jigsaw.prompts)
    assert "Category confirmed as Neglect (Dana DSL (DSL), " in text
    assert f"In one line was \u201c{record['summary_line']}\u201d" in text
