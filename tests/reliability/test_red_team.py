"""Red-team findings in the Slack runtime, each reproduced as an attack.

Every test drives the real app over its real HTTP endpoint (signed requests
to :class:`bot.slack.server.SlackHTTPServer`, or Socket Mode dispatch where
both are run) against the local fake Slack Web API, and asserts on what Slack
received and what the store holds.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.slack.wire import Action, Modal
from tests import scenarios as sc
from tests.harness.fakeslack import FakeSlack
from tests.harness.live import DSL_CHANNEL, STAFF, LiveApp, texts
from tests.harness.slackreq import block_action, slash_command, text_input, view_submission

GENERIC_PREVIEW = "A Jigsaw record needs your attention"


@pytest.fixture
def http_app(fake: FakeSlack, tmp_path: Path) -> Iterator[LiveApp]:
    app = LiveApp("http", fake, tmp_path / "data")
    yield app
    app.close()


def value(**data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def mrkdwn_objects(obj: Any) -> Iterator[dict[str, Any]]:
    """Every mrkdwn text object in a Block Kit payload."""
    if isinstance(obj, dict):
        if obj.get("type") == "mrkdwn":
            yield obj
        for inner in obj.values():
            yield from mrkdwn_objects(inner)
    elif isinstance(obj, list):
        for inner in obj:
            yield from mrkdwn_objects(inner)


# -- point 7: "payload" in a slash command's form -----------------------------------

@pytest.mark.parametrize("field", ["text", "channel_name", "user_name", "team_domain"])
def test_payload_in_any_slash_command_field_still_starts_a_decision(http_app: LiveApp,
                                                                    field: str) -> None:
    """Bolt took any form body containing "payload" for an interaction and
    answered 404; the form is now parsed before Bolt sees it."""
    request = slash_command(user=STAFF)
    payload = {**request.payload, field: {
        "text": "new payload please", "channel_name": "payload-team",
        "user_name": "payload.person", "team_domain": "payloadschool"}[field]}
    request = dataclasses.replace(request, payload=payload, body=urlencode(payload))
    assert "payload" in request.body
    ack = http_app.send(request)
    assert ack.status == 200, ack.body
    assert "started" in ack.body.lower() or "direct message" in ack.body.lower(), ack.body
    # The decision opened in the DM, as for any /infoshare.
    assert http_app.jigsaw.latest_open(STAFF) is not None
    assert any(c.method == "chat.postMessage" for c in http_app.dm_calls())
    assert not http_app.log.errors()


def test_a_real_interaction_payload_is_still_read(http_app: LiveApp) -> None:
    """The fix reads only a real ``payload`` field as an interaction."""
    http_app.say("start")
    session = http_app.jigsaw.latest_open(STAFF)
    assert session is not None
    http_app.send(block_action(STAFF, action_id=Action.NAV_PAUSE,
                               value=value(s=session.id, st="danger")))
    paused = http_app.jigsaw.get(session.id)
    assert paused is not None and paused.status == "paused"


# -- point 17: user text shown literally ------------------------------------------------

BARE = "see https://evil.example/x and #general, @here @channel @everyone"


def test_every_mrkdwn_text_is_verbatim_so_bare_links_and_at_here_stay_text(
        live: LiveApp) -> None:
    """Escaping stops ``<!here>``; bare URLs, ``#channel`` and ``@here`` are
    only left alone by Slack in a mrkdwn object marked ``verbatim``."""
    script = list(sc.STAFF_CONCERN)
    script[3] = f"Facts: {BARE}"
    live.decide(script)
    record = live.only_record()
    assert record["facts"] == f"Facts: {BARE}"
    # The DSL opens the full record too.
    live.send(block_action("UDSL1", action_id=Action.REVIEW_VIEW, value=value(r=record["id"]),
                           channel=DSL_CHANNEL))
    shown = [c for c in live.fake.calls() if c.method in (
        "chat.postMessage", "chat.update", "chat.postEphemeral", "views.open",
        "views.publish", "views.update")]
    objects = [o for c in shown for o in mrkdwn_objects(c.args.get("blocks") or [])]
    objects += [o for c in shown for o in mrkdwn_objects(c.args.get("view") or {})]
    with_text = [o for o in objects if "evil.example" in o["text"]]
    assert len(with_text) >= 2  # the DM's answer and the DSL's full view
    assert all(o.get("verbatim") is True for o in objects), [
        o["text"][:80] for o in objects if o.get("verbatim") is not True]
    # No message asks Slack to parse names or unfurl the typed link.
    for call in live.posts_to(DSL_CHANNEL):
        assert call.args.get("link_names") in (None, False, 0, "0", "false")
    assert not live.log.errors()


# -- point 10: notification previews ----------------------------------------------------

def test_notification_text_never_carries_notes_or_child_details(live: LiveApp) -> None:
    script = list(sc.STAFF_CONCERN)
    script[2] = "QZ"
    script[3] = "Xylophone bruise on the arm, said mum's boyfriend did it"
    live.decide(script)
    record_id = live.only_record()["id"]
    note = "Spoke to QZ's mum about the Xylophone bruise"
    live.send(view_submission("UDSL1", callback_id=Modal.REVIEW_NOTE,
                              values={"note": {"value": text_input(note)}},
                              private_metadata=value(r=record_id)))
    due = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
    live.send(view_submission("UDSL1", callback_id=Modal.REVIEW_FOLLOWUP,
                              values={"note": {"value": text_input("Chase QZ's GP")},
                                      "due": {"value": {"type": "datepicker",
                                                        "selected_date": due}}},
                              private_metadata=value(r=record_id)))
    dms = [c for c in live.dm_calls() if c.method == "chat.postMessage"]
    told = [c for c in dms if "Spoke to QZ" in "\n".join(texts(c.args.get("blocks")))
            or "Chase QZ" in "\n".join(texts(c.args.get("blocks")))]
    assert len(told) == 2  # the note and the follow-up reached the staff member...
    assert all(c.args["text"] == GENERIC_PREVIEW for c in told)  # ...previewed generically
    # Nothing Slack may show in a notification names the child or quotes anyone.
    for call in live.fake.calls():
        preview = str(call.args.get("text", ""))
        for secret in ("QZ", "Xylophone", "boyfriend", "Chase"):
            assert secret not in preview, (call.method, preview[:120])
    assert not live.log.errors()


# -- point 12: a server clock off by minutes ---------------------------------------------

@pytest.mark.parametrize("offset", [600, -600, 3 * 365 * 86400])
def test_a_skewed_clock_is_logged_as_an_error_and_fails_health(http_app: LiveApp,
                                                               offset: int) -> None:
    from bot.slack import health
    from bot.slack.server import SlackHTTPServer

    http_app.app.signature.clock = lambda: time.time() + offset  # this server's clock is wrong
    assert http_app.http is not None
    for _ in range(2):  # Slack's signature is stale by our clock: refused, each time
        assert http_app.http.send(slash_command(user=STAFF)).status == 401
    errors = [r for r in http_app.log.records if r.levelname == "ERROR"]
    assert any("clock" in r.getMessage() for r in errors), [r.getMessage() for r in errors]
    server = SlackHTTPServer(("127.0.0.1", 0), http_app.app, health=lambda: health(
        http_app.app, http_app.front, {"ok": True, "mode": "http"}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=10)
        assert caught.value.code == 503
        body = json.loads(caught.value.read())
        assert body["ok"] is False and any("clock" in p for p in body["problems"])
        # Put right, the next request is served and health is ok again.
        http_app.app.signature.clock = time.time
        assert http_app.http.send(slash_command(user=STAFF)).status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=10) as r:
            assert r.status == 200
    finally:
        server.shutdown()
        server.server_close()


# -- point 1: every listener answers, whatever fails -------------------------------------

def test_infoshare_when_the_dm_cannot_be_opened_says_so(http_app: LiveApp) -> None:
    http_app.fake.fail_next("conversations.open", status=500)
    ack = http_app.send(slash_command(user=STAFF, response_url=http_app.fake.response_url()))
    assert ack.status == 200
    [said] = http_app.fake.calls("response_url")
    assert "couldn't open a direct message" in said.args["text"]
    assert said.args.get("response_type") == "ephemeral"
    assert http_app.jigsaw.latest_open(STAFF) is None


def test_a_failing_listener_tells_the_person_and_the_catch_all_stays_out(
        http_app: LiveApp) -> None:
    http_app.say("start")
    session = http_app.jigsaw.latest_open(STAFF)
    assert session is not None
    # Slack refuses every post to the DM once: the click's listener fails mid-way.
    http_app.fake.fail_next("chat.postMessage", status=500)
    http_app.fake.fail_next("chat.update", status=500)
    ack = http_app.send(block_action(STAFF, action_id="answer_1",
                                     value=value(s=session.id, st="danger", v="no")))
    assert ack.status == 200
    said = http_app.dm_said()
    assert not any("no longer in use" in t for t in said)
    assert any("something went wrong" in t and "answers so far are kept" in t for t in said)
    # The answer itself is kept.
    kept = http_app.jigsaw.get(session.id)
    assert kept is not None and kept.answers.get("danger") == "no"


def test_a_burst_of_connections_waits_to_be_served_rather_than_being_reset(
        http_app: LiveApp) -> None:
    """50 staff clicking at once (a staff briefing): connections the server
    has not yet accepted wait in the kernel's queue; none is refused."""
    import socket

    from bot.slack.server import SlackHTTPServer

    server = SlackHTTPServer(("127.0.0.1", 0), http_app.app)  # listening, not yet accepting
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    burst: list[socket.socket] = []
    try:
        for _ in range(64):
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=2)
            burst.append(conn)
        thread.start()
        for conn in burst:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: jigsaw\r\nConnection: close\r\n\r\n")
        for conn in burst:
            reply = b""
            while chunk := conn.recv(4096):
                reply += chunk
            assert reply.split(b"\r\n", 1)[0].endswith(b" 200 OK"), reply[:80]
    finally:
        for conn in burst:
            conn.close()
        if thread.is_alive():
            server.shutdown()
        server.server_close()
