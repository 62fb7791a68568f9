"""Requests Jigsaw must refuse or survive.

Slack signs every request; anything unsigned, wrongly signed or replayed
after five minutes is refused with 401 before it can touch the store or the
Web API. Signed requests can still carry anything (a broken client, a
tampered button, a 1 MB paste, control characters, Slack markup): the user
gets a clear message or the text is stored as typed, nothing answers 500,
no listener raises, and in the DSL channel typed text shows literally.
"""

from __future__ import annotations

import copy
import json
import re
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from slack_sdk.models.views import View

from bot import inbox
from bot import record as records
from bot.config import Settings
from bot.flow import STEPS, Flow, Question, Session
from bot.flow.steps import BY_ID, NOT_SURE, decision_choices
from bot.slack.blocks import Blocks, escape
from bot.slack.wire import Action, Modal
from bot.slack.wire import answer as answer_button
from storage.jsonfile import encode
from tests import scenarios as sc
from tests.harness.fakeslack import FakeSlack
from tests.harness.live import (
    DSL_CHANNEL,
    SECRET,
    STAFF,
    LiveApp,
    fingerprint,
    texts,
)
from tests.harness.slackreq import (
    SlackRequest,
    app_home_opened,
    block_action,
    message_event,
    sign,
    slash_command,
    text_input,
    view_submission,
)

ZWSP = "\u200b"


@pytest.fixture
def http_app(fake: FakeSlack, tmp_path: Path) -> Iterator[LiveApp]:
    app = LiveApp("http", fake, tmp_path / "data")
    yield app
    app.close()


def post(url: str, body: bytes | str, headers: dict[str, str]) -> tuple[int, str]:
    """POST raw bytes with exactly these headers (so some can be left out)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    req = urllib.request.Request(url + "/slack/events", data=data, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def signed(body: str, content_type: str = "application/x-www-form-urlencoded",
           secret: str = SECRET) -> dict[str, str]:
    return {"Content-Type": content_type, **sign(body, secret)}


def value(**data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def open_session(live: LiveApp, user: str = STAFF) -> tuple[str, str]:
    """Start a decision and answer the first question: (session id, step now asked)."""
    live.answer_all(["start", "no"], user)
    session = live.jigsaw.latest_open(user)
    assert session is not None and session.history == ["danger"]
    step = live.jigsaw.flow.current(session)
    assert step is not None
    return session.id, step.id


def submitted_record(live: LiveApp, user: str = "U456") -> str:
    live.decide(sc.ALLEGATION, user)
    [summary] = live.store.list_records(recorded_by=user)
    return summary["id"]


# -- signatures ----------------------------------------------------------------

def _requests_that_would_change_something(session_id: str, step: str, record_id: str
                                          ) -> dict[str, SlackRequest]:
    return {
        "dm": message_event(STAFF, text="cancel"),
        "slash": slash_command(user=STAFF, text="new"),
        "button": block_action(STAFF, action_id=Action.NAV_CANCEL,
                               value=value(s=session_id, st=step)),
        "review": block_action("UDSL1", action_id=Action.REVIEW_ACK, value=value(r=record_id),
                               channel=DSL_CHANNEL),
        "modal": view_submission("UDSL1", callback_id=Modal.REVIEW_NOTE,
                                 values={"note": {"value": text_input("forged note")}},
                                 private_metadata=value(r=record_id)),
        "home": app_home_opened(STAFF),
    }


def _bad_headers(req: SlackRequest) -> dict[str, dict[str, str]]:
    """Every way to get the signature wrong, for one request."""
    now = int(time.time())
    ctype = {"Content-Type": req.content_type}
    good = req.headers(SECRET)
    return {
        "none": ctype,
        "no_signature": {**ctype, "X-Slack-Request-Timestamp": str(now)},
        "no_timestamp": {**ctype, "X-Slack-Signature": good["X-Slack-Signature"]},
        "wrong_secret": req.headers("not-the-secret"),
        "stale_6_minutes": req.headers(SECRET, timestamp=now - 360),
        "stale_1_day": req.headers(SECRET, timestamp=now - 86400),
        "future_6_minutes": req.headers(SECRET, timestamp=now + 360),
        "signature_empty": {**good, "X-Slack-Signature": ""},
        "signature_v1": {**good, "X-Slack-Signature": "v1=" + good["X-Slack-Signature"][3:]},
        "signature_truncated": {**good, "X-Slack-Signature": good["X-Slack-Signature"][:-2]},
        "timestamp_not_a_number": {**good, "X-Slack-Request-Timestamp": "yesterday"},
        "other_body_signed": {**ctype, **sign(req.body + "&x=1", SECRET, now)},
    }


def test_unsigned_and_stale_requests_are_refused_and_change_nothing(http_app: LiveApp) -> None:
    session_id, step = open_session(http_app)
    record_id = submitted_record(http_app)
    http_app.idle()
    calls_before = len(http_app.fake.calls())
    files_before = fingerprint(http_app.data_dir)
    requests = _requests_that_would_change_something(session_id, step, record_id)
    tried = 0
    for name, req in requests.items():
        for variant, headers in _bad_headers(req).items():
            status, _ = post(http_app.url, req.body, headers)
            assert status == 401, (name, variant, status)
            tried += 1
    # A tampered body with the original, valid signature.
    req = requests["dm"]
    status, _ = post(http_app.url, req.body.replace("cancel", "start"), req.headers(SECRET))
    assert status == 401
    # Slack's unsigned SSL check is answered, and goes no further even when
    # it carries a command.
    sneaky = "ssl_check=1&token=x&command=%2Finfoshare&user_id=U123&text=new&trigger_id=1.2.3"
    status, _ = post(http_app.url, sneaky, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    http_app.idle()
    assert tried == 72
    assert len(http_app.fake.calls()) == calls_before, "a refused request reached the Web API"
    assert fingerprint(http_app.data_dir) == files_before, "a refused request changed the store"
    session = http_app.jigsaw.get(session_id)
    assert session is not None and session.status == "in_progress"
    # The same request, signed correctly, does act: the refusals above were real.
    assert http_app.send(requests["button"]).status == 200
    session = http_app.jigsaw.get(session_id)
    assert session is not None and session.status == "cancelled"
    assert not http_app.log.errors()


# -- malformed payloads ----------------------------------------------------------

def _form(payload: Any) -> str:
    return "payload=" + quote(payload if isinstance(payload, str) else json.dumps(payload))


def _malformed_bodies(session_id: str, step: str) -> dict[str, tuple[str, str]]:
    """Signed bodies no real Slack sends: (body, content type)."""
    form, js = "application/x-www-form-urlencoded", "application/json"
    user = {"id": STAFF, "team_id": "T0001"}
    good_value = value(s=session_id, st=step, v="own_concern")
    action = {"action_id": "answer_0", "block_id": "b", "value": good_value, "type": "button"}

    def actions(acts: Any, **extra: Any) -> str:
        return _form({"type": "block_actions", "user": user, "actions": acts,
                      "trigger_id": "1.2.3", **extra})

    return {
        "payload_not_json": ("payload=%7Bnot-json", form),
        "payload_empty": ("payload=", form),
        "payload_truncated": (_form('{"type": "block_actions", "user": '), form),
        "payload_list": (_form([1, 2]), form),
        "payload_string": (_form("just text"), form),
        "payload_number": (_form(42), form),
        "payload_null": (_form(None), form),
        "json_list": ("[1, 2]", js),
        "json_null": ("null", js),
        "json_truncated": ('{"type": "event_callback", "event": {', js),
        "json_binary": ('{"type": "\x00\x01\x02"}', js),
        "event_string": (json.dumps({"type": "event_callback", "event_id": "Ev1",
                                     "event": "message"}), js),
        "event_list": (json.dumps({"type": "event_callback", "event_id": "Ev2",
                                   "event": [1]}), js),
        "event_type_number": (json.dumps({"type": "event_callback", "event_id": "Ev3",
                                          "event": {"type": 7}}), js),
        "event_without_type": (json.dumps({"type": "event_callback", "event_id": "Ev4",
                                           "event": {"text": "hi"}}), js),
        "home_without_user": (json.dumps({"type": "event_callback", "event_id": "Ev5",
                                          "event": {"type": "app_home_opened",
                                                    "tab": "home"}}), js),
        "home_user_number": (json.dumps({"type": "event_callback", "event_id": "Ev6",
                                         "event": {"type": "app_home_opened", "user": 5}}), js),
        "message_text_number": (json.dumps({"type": "event_callback", "event_id": "Ev7",
                                            "event": {"type": "message", "channel_type": "im",
                                                      "user": STAFF, "text": 5}}), js),
        "message_without_user": (json.dumps({"type": "event_callback", "event_id": "Ev8",
                                             "event": {"type": "message", "channel_type": "im",
                                                       "text": "cancel"}}), js),
        "authorizations_string": (json.dumps({"type": "event_callback", "event_id": "Ev9",
                                              "authorizations": "x",
                                              "event": {"type": "app_home_opened",
                                                        "user": STAFF}}), js),
        "type_number": (json.dumps({"type": 5}), js),
        "actions_string": (actions("answer_0"), form),
        "actions_empty": (actions([]), form),
        "actions_of_strings": (actions(["answer_0"]), form),
        "action_without_id": (actions([{"value": good_value}]), form),
        "action_id_number": (actions([{"action_id": 5, "value": good_value}]), form),
        "action_id_null": (actions([{"action_id": None, "value": good_value}]), form),
        "user_string": (_form({"type": "block_actions", "user": STAFF,
                               "actions": [action]}), form),
        "user_number": (_form({"type": "block_actions", "user": 5, "actions": [action]}), form),
        "user_missing": (_form({"type": "block_actions", "actions": [action]}), form),
        "user_id_list": (_form({"type": "block_actions", "user": {"id": [STAFF]},
                                "actions": [action]}), form),
        "team_number": (actions([action], team=5), form),
        "channel_string": (_form({"type": "block_actions", "user": user, "channel": "C1",
                                  "actions": [{"action_id": Action.REVIEW_ACK,
                                               "value": value(r="ISD-2026-0001")}]}), form),
        "channel_list": (actions([action], channel=["C1"]), form),
        "message_string": (actions([action], message="hello"), form),
        "view_string": (_form({"type": "view_submission", "user": user, "view": "x"}), form),
        "view_without_callback": (_form({"type": "view_submission", "user": user,
                                         "view": {"id": "V1"}}), form),
        "view_callback_number": (_form({"type": "view_submission", "user": user,
                                        "view": {"callback_id": 3}}), form),
        "view_state_list": (_form({"type": "view_submission", "user": user,
                                   "view": {"callback_id": Modal.REVIEW_NOTE,
                                            "state": [], "private_metadata": "{}"}}), form),
        "view_values_string": (_form({"type": "view_submission", "user": user,
                                      "view": {"callback_id": Modal.REVIEW_FOLLOWUP,
                                               "state": {"values": "x"},
                                               "private_metadata": 5}}), form),
        "view_field_number": (_form({"type": "view_submission", "user": user,
                                     "view": {"callback_id": Modal.REVIEW_NOTE,
                                              "state": {"values": {"note": {"value": 5}}}}}),
                              form),
        "view_metadata_number": (_form(
            {"type": "view_submission", "user": user,
             "view": {"callback_id": Modal.REVIEW_NOTE, "private_metadata": 7,
                      "state": {"values": {"note": {"value": text_input("x")}}}}}), form),
        "command_without_user": ("command=%2Finfoshare&text=&trigger_id=9.9.9", form),
        "command_unknown": ("command=%2Fdelete-all&user_id=U123&text=&trigger_id=9.9.8", form),
        "command_text_payload_word": ("command=%2Finfoshare&user_id=U123&text=no+payload"
                                      "&trigger_id=9.9.7", form),
        "json_command_text_list": (json.dumps({"command": "/infoshare", "user_id": STAFF,
                                               "text": ["new"], "trigger_id": "9.9.6"}), js),
        "empty": ("", form),
        "not_utf8": ("", "application/octet-stream"),
    }


def test_malformed_payloads_never_crash_or_change_anything(http_app: LiveApp) -> None:
    """Each is signed (so it gets past the signature check) and broken in one
    way. None may answer 500, raise in a listener, or touch the session."""
    session_id, step = open_session(http_app)
    before = http_app.jigsaw.get(session_id)
    bodies = _malformed_bodies(session_id, step)
    outcomes: dict[str, int] = {}
    for name, (body, ctype) in bodies.items():
        raw: bytes | str = b"\xff\xfe{\x00\x81" if name == "not_utf8" else body
        headers = {"Content-Type": ctype, **sign(
            raw.decode("latin-1") if isinstance(raw, bytes) else raw, SECRET)}
        status, _ = post(http_app.url, raw, headers)
        outcomes[name] = status
        http_app.idle()
    assert len(outcomes) == 48
    assert all(s < 500 for s in outcomes.values()), outcomes
    # Broken at the JSON level or in what Slack always sends: a plain 400.
    for name in ("payload_not_json", "payload_list", "json_null", "json_truncated",
                 "event_string", "actions_string", "actions_empty", "action_without_id",
                 "action_id_number", "user_number", "view_string", "authorizations_string"):
        assert outcomes[name] == 400, (name, outcomes[name])
    assert not http_app.log.errors(), http_app.log.errors()
    after = http_app.jigsaw.get(session_id)
    assert after == before, "a malformed request changed the session"
    assert http_app.store.count_records() == 0


# Button values no Jigsaw button carries: no usable session or record id.
BAD_VALUES: dict[str, str] = {
    "not_json": "answer-yes",
    "json_list": "[\"s\", \"st\", \"v\"]",
    "json_string": "\"hello\"",
    "json_number": "12",
    "json_null": "null",
    "empty_object": "{}",
    "ids_are_numbers": '{"s": 1, "st": 2, "v": 3, "r": 4}',
    "ids_are_queries": '{"s": {"$gt": ""}, "st": "trigger", "v": "own_concern", "r": {"$ne": 0}}',
    "ids_are_lists": '{"s": ["SID"], "st": ["trigger"], "r": ["ISD-2026-0001"]}',
    "nested_deep": "[" * 50 + "]" * 50,
    "huge_garbage": "x" * 100_000,
}
# Values for the answer buttons: the session is right, the rest is not.
BAD_ANSWERS: dict[str, str] = {
    "step_null": '{"s": "SID", "st": null, "v": "own_concern"}',
    "choice_list": '{"s": "SID", "st": "trigger", "v": ["own_concern"]}',
    "choice_object": '{"s": "SID", "st": "trigger", "v": {"$ne": ""}}',
    "choice_huge": json.dumps({"s": "SID", "st": "trigger", "v": "x" * 100_000}),
    "choice_number": '{"s": "SID", "st": "trigger", "v": 1}',
}


@pytest.mark.parametrize("action_id", [answer_button(0), Action.ANSWER_SKIP, Action.NAV_BACK,
                                       Action.NAV_CANCEL, Action.SESSION_RESUME,
                                       Action.HOME_RESUME, Action.REVIEW_ACK, Action.REVIEW_VIEW,
                                       Action.REVIEW_NOTE])
def test_tampered_button_values_change_nothing_and_are_explained(live: LiveApp,
                                                                 action_id: str) -> None:
    session_id, step = open_session(live)
    assert step == "trigger"
    before = live.jigsaw.get(session_id)
    dm_before = len(live.dm_said())
    values = list(BAD_VALUES.values())
    if action_id.startswith("answer_"):
        values += [v.replace("SID", session_id) for v in BAD_ANSWERS.values()]
    for raw in values:
        assert live.send(block_action(STAFF, action_id=action_id, value=raw)).status == 200
    assert live.jigsaw.get(session_id) == before
    assert live.store.count_records() == 0
    assert not live.fake.calls("views.open"), "a tampered button opened something"
    assert not live.log.errors(), live.log.errors()
    # Each click was answered, in the clicker's DM, with a message that says why.
    shown = live.dm_said()[dm_before:]
    assert len(shown) == len(values), shown
    # A record id that does not exist is refused like any other review by
    # someone outside the DSL team: no answer tells which record ids exist.
    assert all(any(phrase in t for phrase in ("no longer in use", "pick one of the options",
                                              "Only the DSL team can do that"))
               for t in shown), shown
    assert not any("can't find that record" in t for t in shown)


def test_unknown_action_ids_get_a_clear_message(live: LiveApp) -> None:
    session_id, step = open_session(live)
    before = live.jigsaw.get(session_id)
    names = ["delete_everything", "answer", "nav_", "nav_submit", "review_delete", "x" * 255,
             "<!channel>", "答え", ""]
    for name in names:
        assert live.send(block_action(STAFF, action_id=name, value=value(s=session_id))
                         ).status == 200
    unknown = [t for t in live.dm_said() if "no longer in use" in t]
    assert len(unknown) == len(names)
    assert live.jigsaw.get(session_id) == before
    assert not live.log.errors()


def test_a_wrong_choice_value_is_explained(live: LiveApp) -> None:
    session_id, step = open_session(live)
    for raw in ("maybe", "", "999", "own_concern; drop table", "\x00"):
        live.send(block_action(STAFF, action_id="answer_0", value=value(s=session_id, st=step,
                                                                        v=raw)))
    assert live.dm_said().count("Please pick one of the options.") == 5
    session = live.jigsaw.get(session_id)
    assert session is not None and session.history == ["danger"]
    assert not live.log.errors()


# -- what people type -----------------------------------------------------------

def _to_facts(live: LiveApp) -> str:
    """Walk a fresh decision to the free-text ``facts`` question."""
    live.answer_all(["start", "no", "own_concern", "AB"])
    session = live.jigsaw.latest_open(STAFF)
    assert session is not None
    step = live.jigsaw.flow.current(session)
    assert step is not None and step.id == "facts"
    return session.id


def test_huge_and_binary_text_get_a_clear_message(live: LiveApp) -> None:
    session_id = _to_facts(live)
    shown = len(live.dm_said())
    cases = {
        "100KB": "bruise " * 15_000,
        "binary": "".join(chr(i) for i in range(0, 32)) * 4,
        "nul": "Bruise on arm\x00\x00",
        "lone_surrogate": "Bruise on arm \ud800 seen today",
        "only_spaces": "   \n\t  ",
        "only_controls": "\x1b\x07\x08",
        "too_short": "bruise",
    }
    for text in cases.values():
        assert live.say(text).status == 200
    replies = live.dm_said()[shown:]
    assert len(replies) == len(cases), replies
    assert "the limit here is 3000" in replies[0]
    assert "doesn't look like text" in replies[1] and "doesn't look like text" in replies[2]
    assert "doesn't look like text" in replies[3]
    assert "needs an answer" in replies[4] and "needs an answer" in replies[5]
    assert "at least 10 characters" in replies[6]
    session = live.jigsaw.get(session_id)
    assert session is not None and "facts" not in session.answers
    assert not live.log.errors(), live.log.errors()


def test_megabyte_message_is_refused_at_the_door(http_app: LiveApp) -> None:
    session_id = _to_facts(http_app)
    req = message_event(STAFF, text="bruise " * 200_000)
    assert len(req.body) > 1_000_000
    status, _ = post(http_app.url, req.body, req.headers(SECRET))
    assert status == 413
    http_app.idle()
    session = http_app.jigsaw.get(session_id)
    assert session is not None and "facts" not in session.answers
    assert not http_app.log.errors()


def test_megabyte_message_over_socket_mode_is_truncated_then_refused(fake: FakeSlack,
                                                                     tmp_path: Path) -> None:
    live = LiveApp("socket", fake, tmp_path / "data")
    try:
        _to_facts(live)
        shown = len(live.dm_said())
        live.say("bruise " * 200_000)
        [reply] = live.dm_said()[shown:]
        assert "That's 40000 characters; the limit here is 3000" in reply
        assert not live.log.errors()
    finally:
        live.close()


def test_controls_rtl_and_emoji_are_stored_as_typed(live: LiveApp) -> None:
    _to_facts(live)
    facts = ("Child said \u202eevil\u202c \u0627\u0644\u0637\u0641\u0644 \u05d9\u05dc\u05d3 "
             "\U0001f622\U0001f468\u200d\U0001f469\u200d\U0001f467 \x1b[31mred\x1b[0m bell\x07 "
             "cafe\u0301 on arm")
    live.say(facts)
    session = live.jigsaw.latest_open(STAFF)
    assert session is not None
    stored = session.answers["facts"]
    expected = unicodedata.normalize("NFC", re.sub(r"[\x00-\x08\x0b-\x1f\u202a-\u202e]", "",
                                                    facts))
    assert stored == expected
    assert "\u0627\u0644\u0637\u0641\u0644" in stored and "\U0001f468\u200d\U0001f469" in stored
    assert "caf\u00e9" in stored
    assert not any(unicodedata.category(c) == "Cc" for c in stored)
    assert "\u202e" not in stored
    assert not live.log.errors()


# -- Slack markup shows literally -------------------------------------------------

MARKUP = ("<!channel> <!here|here> <!everyone> <@UDSL1> <#C123> <!subteam^S1|dsl> "
          "<https://evil.example/x|click me> <mailto:a@b.c|mail> *bold* _it_ ~gone~ "
          "`code` ```block``` &amp; &lt;b&gt; > quote")
# What the person typed, as Slack delivers it in a message event: a typed "&"
# or "<" arrives as an entity, real mentions and links as <...>.
TYPED = MARKUP.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
LIVE_MARKUP = re.compile(r"<[!@#]|<https?:|<mailto:")
PAIRS = ("*bold*", "_it_", "~gone~", "`code`", "```block```")


# On the DSL team as a member of the DSL channel: the DSL's own scripts are
# hers (staff are never offered "I am the DSL").
DECIDER = "UDSL2"


def _markup_script(tag: str) -> list[str]:
    """POLICE_PREJUDICE, answered by the DSL ("I am the DSL"), with Slack
    markup in every free-text answer."""
    text = f"{tag} {MARKUP}"
    return [
        "no", "dsl_recording", "request", "police", f"DC Patel {MARKUP}"[:200], "called_back",
        f"Requested: {text}",
        "<!here>*AB*",  # child reference: 40 characters at most
        f"Bruise seen on arrival. {text}", "significant", "skip", "yes", "parent_source",
        f"Not to tell: {text}"[:300], "same",
        "share", f"Share: {text}", "both", "c", "secure_email", "none", f"Rationale: {text}",
        f"Follow-up: {text}", "tomorrow", "submit",
    ]


def _markup_script_own_concern(tag: str) -> list[str]:
    """The DSL's own decision, sharing with an "other" recipient: the
    free-text steps the police request does not reach."""
    text = f"{tag} {MARKUP}"
    return [
        "no", "dsl_recording", "general", "CD-77`", f"Facts: {text}", f"He said {text}",
        "has_views", f"Views: {text}", f"Opinion: {text}", "no", "same", "child_in_need",
        "skip", "other", f"Recipient: {text}"[:200], "yes", f"Purpose: {text}", "yes", "yes",
        "no", "told_not_asked", "same", "share", f"Share: {text}", "special", "a", "portal",
        "next_working_day", "none", f"Rationale: {text}", "skip", "submit",
    ]


def _assert_literal(strings: list[str], where: str, recorder: str = STAFF) -> None:
    for text in strings:
        allowed = text.replace(f"<@{recorder}>", "")  # the recorder's own mention is ours
        assert not LIVE_MARKUP.search(allowed), (where, text[:300])
        for pair in PAIRS:
            assert pair not in text, (where, pair, text[:300])


def test_markup_in_every_free_text_answer_shows_literally(live: LiveApp) -> None:
    live.decide(_markup_script("T1"), DECIDER)
    record = live.only_record()
    # Stored as typed.
    assert record["child_ref"] == "<!here>*AB*"
    assert record["facts"] == f"Bruise seen on arrival. T1 {TYPED}"
    assert record["rationale"] == f"Rationale: T1 {TYPED}"
    assert record["requester"]["name_role"] == f"DC Patel {TYPED}"[:200]
    [post_call] = live.posts_to(DSL_CHANNEL)
    channel_texts = list(texts(post_call.args))
    assert len(channel_texts) >= 10
    _assert_literal(channel_texts, "DSL channel", DECIDER)
    joined = "\n".join(channel_texts)
    # ...and it is all there, visibly: escaped, not dropped.
    assert "&lt;!channel&gt;" in joined and "&lt;https://evil.example/x|click me&gt;" in joined
    assert f"{ZWSP}*{ZWSP}bold{ZWSP}*{ZWSP}" in joined
    assert "&amp; &lt;b&gt; &gt; quote" in joined  # typed "& <b> > quote", shown as typed
    assert "&lt;!here&gt;" in joined  # the child reference
    # What the staff member saw of their own answers in the DM, too.
    _assert_literal(live.dm_texts(DECIDER), "DM", DECIDER)
    assert not live.log.errors()


def test_markup_in_dsl_notes_and_follow_ups_shows_literally(live: LiveApp) -> None:
    live.decide(_markup_script_own_concern("T2"), DECIDER)
    record = live.only_record()
    record_id = record["id"]
    assert record["recipient"] == {"kind": "other", "detail": f"Recipient: T2 {TYPED}"[:200]}
    [posted] = live.posts_to(DSL_CHANNEL)
    _assert_literal(list(texts(posted.args)), "DSL channel", DECIDER)
    assert "Recipient: T2 &lt;!channel&gt;" in "\n".join(texts(posted.args))
    note = f"Note {MARKUP}"
    live.send(view_submission("UDSL1", callback_id=Modal.REVIEW_NOTE,
                              values={"note": {"value": text_input(note)}},
                              private_metadata=value(r=record_id)))
    due = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
    live.send(view_submission("UDSL1", callback_id=Modal.REVIEW_FOLLOWUP,
                              values={"note": {"value": text_input(f"Chase {MARKUP}")},
                                      "due": {"value": {"type": "datepicker",
                                                        "selected_date": due}}},
                              private_metadata=value(r=record_id)))
    record = live.store.get_record(record_id)
    assert record is not None
    assert record["notes"][-1]["note"] == note
    assert record["review"]["note"] == f"Chase {MARKUP}"
    updates = [c for c in live.fake.calls("chat.update") if c.args.get("channel") == DSL_CHANNEL]
    assert len(updates) == 2
    _assert_literal([t for c in updates for t in texts(c.args)], "record update", DECIDER)
    assert "Chase &lt;!channel&gt;" in "\n".join(texts(updates[-1].args))
    # What the recorder is shown (the notification preview is generic).
    staff_dms = ["\n".join(texts(c.args.get("blocks")))
                 for c in live.dm_calls(DECIDER) if c.method == "chat.postMessage"][-2:]
    assert any("Note &lt;!channel&gt;" in t for t in staff_dms)
    for text in staff_dms:  # the DSL is mentioned on purpose; nothing else is live
        _assert_literal([text.replace("<@UDSL1>", "", 1)], "recorder's DM", DECIDER)
    assert not live.log.errors()


def test_markup_in_an_emergency_record_shows_literally(live: LiveApp) -> None:
    live.decide(["yes", f"Called 999. {MARKUP}", "<@UDSL2>`x`", "submit"])
    record = live.only_record()
    assert record["immediate_danger"]["action"] == f"Called 999. {TYPED}"
    posts = live.posts_to(DSL_CHANNEL)
    assert len(posts) == 2  # the urgent alert, then the record
    _assert_literal(list(texts(posts[1].args)), "emergency record")
    assert not live.log.errors()



def test_slack_escaped_text_is_stored_as_the_person_typed_it(live: LiveApp) -> None:
    """Slack sends a typed ``&``, ``<`` and ``>`` as entities; the record keeps
    the characters, and the channel shows them (escaped once, not twice)."""
    _to_facts(live)
    live.say("Mum &amp; dad said he was &lt;3 years old &gt; shouting")
    session = live.jigsaw.latest_open(STAFF)
    assert session is not None
    assert session.answers["facts"] == "Mum & dad said he was <3 years old > shouting"


# -- properties ----------------------------------------------------------------------

ODD = ["\ud800", "\udfff", "\x00", "\x1b", "\u202e", "\u2067", "\u200b", "\r", "\n", "\t",
       "*", "_", "~", "`", "<", ">", "&", "|", "!", "@", "\u0627", "\U0001f622", "\ufeff",
       "\u0301", "\x85"]
# Built from a list: st.text would quietly drop the lone surrogates in ODD.
typed_text = st.lists(st.one_of(st.characters(), st.sampled_from(ODD)), max_size=80).map(
    "".join)
ALL_CHOICES = sorted({c for step in STEPS for c in step.choices}
                     | {c for choices in [decision_choices({}), decision_choices(
                         {"consent": "refused", "level": "low"})] for c in choices})
choice_words = st.sampled_from(ALL_CHOICES + ["1", "2", "3", "9", "0", "-1", " yes ", "YES",
                                              "Not sure", "not sure", "skip", "SKIP", "none"])
operations = st.lists(st.one_of(
    st.tuples(st.just("text"), typed_text),
    st.tuples(st.just("choice"), choice_words),
    st.tuples(st.just("pick"), st.integers(0, 9)),
    st.tuples(st.just("pick"), st.integers(0, 9)),
    st.tuples(st.just("pick"), st.integers(0, 9)),
    st.tuples(st.just("not_sure"), st.none()),
    st.tuples(st.just("back"), st.none()),
    st.tuples(st.just("stale"), st.sampled_from([s.id for s in STEPS])),
    st.tuples(st.just("object"), st.sampled_from([None, 5, 2.5, ["yes"], {"v": "yes"},
                                                  b"yes", True])),
), max_size=50)
FIXED_NOW = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
PROPERTY_SETTINGS = Settings(school_name="Hillside & <Co>", dsl_channel=DSL_CHANNEL)


def _check_session(flow: Flow, session: Session) -> None:
    """Stored as the store stores it (strict UTF-8 JSON) and read back equal."""
    doc = json.loads(encode(session.to_dict()))
    assert Session.from_dict(doc) == session
    # Every answer is a question asked, or one an answer gave at once (the
    # child's words read from quotes, "the same" answering two questions).
    asked = {BY_ID[s].key for s in session.history}
    given = asked.union(*(BY_ID[s].derived_keys for s in session.history))
    assert asked <= set(session.answers) <= given
    assert len(set(session.history)) == len(session.history)
    flow.question(session)  # asking never fails, whatever was stored


def _valid_text(q: Question) -> str:
    step = BY_ID[q.step]
    if step.check == "child_ref":
        return "AB"
    if step.check == "child_refs":
        return "CD (sister), EF"
    if step.check == "date":
        return "tomorrow"
    return "Seen today in class, noted at the time."


def _finishing_answer(q: Question, data: st.DataObject) -> str:
    values = [v for v, _ in q.choices]
    if q.kind in ("choice", "confirm"):
        if NOT_SURE in values:
            return NOT_SURE  # "not sure" wherever it is offered, to prove it never dead-ends
        return data.draw(st.sampled_from(values), label=f"choice at {q.step}")
    return _valid_text(q)


@given(ops=operations, data=st.data())
@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_flow_survives_any_sequence_of_inputs(ops: list[tuple[str, Any]],
                                              data: st.DataObject) -> None:
    flow = Flow(PROPERTY_SETTINGS, clock=lambda: FIXED_NOW)
    session = flow.start("U1")
    for kind, arg in ops:
        q = flow.question(session)
        before = copy.deepcopy(session)
        if kind == "back":
            flow.back(session)
        elif q is None:
            assert not flow.answer(session, "anything").accepted
            assert session == before
        elif kind == "text":
            flow.answer(session, arg)
        elif kind == "choice":
            flow.answer(session, arg, step_id=q.step)
        elif kind == "pick":  # a valid answer, so the walk gets deep into the flow
            values = [v for v, _ in q.choices]
            valid = values[arg % len(values)] if values else _valid_text(q)
            assert flow.answer(session, valid).accepted
        elif kind == "not_sure":
            result = flow.answer(session, NOT_SURE)
            if NOT_SURE in [v for v, _ in q.choices]:
                assert result.accepted and q.step in session.not_sure
                if session.not_sure == [q.step]:  # said once per decision
                    assert result.notices, "not sure must point to advice"
        elif kind == "stale":
            if arg != q.step:
                result = flow.answer(session, "yes", step_id=arg)
                assert not result.accepted and result.code == "stale"
                assert session == before
        else:
            result = flow.answer(session, arg)
            assert not result.accepted and result.error
            assert session.answers == before.answers
        _check_session(flow, session)
    for _ in range(len(STEPS) + 1):
        q = flow.question(session)
        if q is None:
            break
        result = flow.answer(session, _finishing_answer(q, data))
        assert result.accepted, (q.step, result.error)
        _check_session(flow, session)
    assert flow.done(session), "the flow did not reach the end"
    record = records.build(session, PROPERTY_SETTINGS, flow.prompts, now=FIXED_NOW)
    assert records.verify(record) == []
    assert json.loads(encode(record)) == record
    assert record["advice"]["needed"] == bool(session.not_sure)


markup_heavy = st.text(alphabet=st.one_of(st.sampled_from("&<>*_~`|!@#:\u200b \n"),
                                          st.characters()), max_size=200)


def _unescape(text: str) -> str:
    for c in "*_~`":
        text = text.replace(f"{ZWSP}{c}{ZWSP}", c)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@given(text=markup_heavy)
@hsettings(max_examples=400, deadline=None)
def test_escape_leaves_nothing_slack_would_interpret(text: str) -> None:
    out = escape(text)
    assert "<" not in out and ">" not in out
    assert "&" not in re.sub(r"&(amp|lt|gt);", "", out)
    for i, c in enumerate(out):
        if c in "*_~`":
            assert 0 < i < len(out) - 1 and out[i - 1] == ZWSP == out[i + 1], (text, out)
    assert _unescape(out) == text  # everything typed is still there, literally


def _finished_record() -> tuple[dict[str, Any], Blocks, Flow]:
    flow = Flow(PROPERTY_SETTINGS, clock=lambda: FIXED_NOW)
    session = flow.start("U123", dsl=True)
    for answer in sc.POLICE_PREJUDICE[:-2] + ["Chase the police", "tomorrow", "submit"]:
        assert flow.answer(session, answer).accepted, answer
    record = records.build(session, PROPERTY_SETTINGS, flow.prompts, now=FIXED_NOW)
    record["id"] = "ISD-2026-0042"
    return record, Blocks(flow.prompts, PROPERTY_SETTINGS), flow


BASE_RECORD, BLOCKS, BLOCK_FLOW = _finished_record()


def _bounded(max_len: int) -> st.SearchStrategy[str]:
    """Typed text as validation lets it through: at most ``max_len`` long,
    often all markup (which escaping makes up to five times longer)."""
    return st.one_of(
        st.text(alphabet=st.one_of(st.sampled_from("&<>*_~`\n "), st.characters(
            exclude_categories=("Cs", "Cc"))), min_size=1, max_size=max_len),
        st.sampled_from("&<>*").map(lambda c: c * max_len),
    )


def _no_live_markup(blocks: Any) -> None:
    for text in texts(blocks):
        assert not LIVE_MARKUP.search(text.replace("<@U123>", "")), text[:200]


@given(rationale=_bounded(3000), child_ref=_bounded(40), requester=_bounded(200),
       followup=_bounded(1000), purpose=_bounded(1000))
@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_channel_message_from_any_typed_text_is_valid_block_kit(
        rationale: str, child_ref: str, requester: str, followup: str, purpose: str) -> None:
    record = copy.deepcopy(BASE_RECORD)
    record.update(rationale=rationale, child_ref=child_ref)
    record["recipient"]["detail"] = requester
    record["purpose"]["detail"] = purpose
    record["follow_up"][0]["action"] = followup
    main, replies = BLOCKS.record_message(record)  # slack_sdk validates as it builds
    assert len(main) <= 50 and all(len(r) <= 50 for r in replies)
    _no_live_markup(main)
    _no_live_markup(replies)
    modal = BLOCKS.record_modal(record)
    View(**modal).validate_json()
    assert len(modal["blocks"]) <= 100


@given(child_refs=st.one_of(st.lists(_bounded(40), min_size=1, max_size=25),
                            st.tuples(st.integers(1, 25), st.sampled_from("&<>*")).map(
                                lambda n_c: [n_c[1] * 40] * n_c[0])),
       answer=_bounded(3000),
       draft=_bounded(20000))
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_dm_and_home_from_any_typed_text_are_valid_block_kit(
        child_refs: list[str], answer: str, draft: str) -> None:
    summaries = [{"id": f"ISD-2026-{i:04d}", "child_ref": ref, "created_at": "2026-11-25T10:00Z",
                  "decision": "share", "review_status": "pending", "recorded_by": "U123"}
                 for i, ref in enumerate(child_refs, start=1)]
    waiting = [item.as_dict() for item in inbox.items(
        summaries[:20], BLOCK_FLOW.prompts, timezone=PROPERTY_SETTINGS.timezone)]
    assert len(waiting) == len(summaries[:20])
    home = BLOCKS.home(open_sessions=[], mine=summaries[:10], awaiting=waiting)
    View(**home).validate_json()
    _no_live_markup(home)
    session = BLOCK_FLOW.start("U123")
    for a in ["no", "own_concern", "AB"]:
        BLOCK_FLOW.answer(session, a)
    q = BLOCK_FLOW.question(session)
    assert q is not None and q.step == "facts"
    q.draft = draft
    asked = BLOCKS.question(session.id, q)
    assert len(asked) <= 50
    _no_live_markup(asked)
    answered = BLOCKS.answered(q, answer)
    _no_live_markup(answered)
