"""What reaches the Teams endpoint before the SDK's listeners: only Teams
itself (channel ``msteams``) from the school's tenant, named the same in the
conversation and in ``channelData``; a token for this app alone; a bounded
body that is an activity. Each attack leaves the store and the chats as
they were."""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.harness.teams import Harness
from tests.harness.teams_driver import CHANNEL, DSL, STAFF, button
from tests.scenarios import STAFF_CONCERN


def _state(teams: Harness) -> tuple[int, int, int]:
    return (len(teams.fake.posts), len(teams.jigsaw.store.all_sessions()),
            len(teams.jigsaw.store.list_records()))


def _raw(teams: Harness, body: bytes, *, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(teams.client.url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token or teams.fake.token()}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_another_tenant_named_only_in_channel_data_is_not_served(teams: Harness) -> None:
    activity = teams.client.message_activity(STAFF, "hello")
    activity["channelData"]["tenant"]["id"] = "another-school"
    teams.client.send(activity)
    teams.idle()
    assert _state(teams) == (0, 0, 0)
    missing = teams.client.message_activity(STAFF, "hello")
    del missing["channelData"]
    teams.client.send(missing)
    teams.idle()
    assert _state(teams) == (0, 0, 0)


@pytest.mark.parametrize("channel", ["directline", "webchat", "emulator"])
def test_only_teams_itself_is_served(teams: Harness, channel: str) -> None:
    activity = teams.client.message_activity(STAFF, "hello")
    activity["channelId"] = channel
    del activity["conversation"]["tenantId"]
    del activity["channelData"]
    teams.client.send(activity)
    # ... nor a click as the DSL from there.
    click = teams.client.execute_activity(DSL, {"verb": "review_ack", "data": {"r": "x"}})
    click["channelId"] = channel
    teams.client.send(click)
    teams.idle()
    assert _state(teams) == (0, 0, 0)
    teams.say(STAFF, "hello")  # the same person from Teams is served
    assert len(teams.chat(STAFF)) == 2


def test_a_token_for_this_app_and_another_is_refused(teams: Harness) -> None:
    fake = teams.fake
    activity = teams.client.message_activity(STAFF, "hello")
    reply = teams.client.send(activity, token=fake.token(audience=[fake.app_id, "other-bot"]))
    teams.idle()
    assert reply.status == 401
    assert _state(teams) == (0, 0, 0)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"hello"', b'{"type": 5}',
                                  b'{"type": "message", "from": "nobody"}',
                                  b"[" * 100_000 + b"]" * 100_000])
def test_a_bad_body_is_answered_400(teams: Harness, body: bytes) -> None:
    status, answer = _raw(teams, body)
    assert status == 400, (status, answer[:200])
    teams.idle()
    assert _state(teams) == (0, 0, 0)


def _post_raw(teams: Harness, head: bytes, chunks: int, chunk: bytes) -> bytes:
    """Send ``head`` then up to ``chunks`` chunks, stopping once the app
    answers (or closes); the start of its answer."""
    url = urlparse(teams.client.url)
    assert url.hostname and url.port
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nAuthorization: Bearer " + teams.fake.token().encode()
                     + b"\r\n" + head + b"\r\n")
        sock.settimeout(0.05)
        for _ in range(chunks):
            try:
                answer = sock.recv(200)
                if answer:
                    return answer
            except TimeoutError:
                pass
            try:
                sock.sendall(chunk)
            except OSError:
                break
        sock.settimeout(30)
        return sock.recv(200)


def test_a_huge_body_is_refused_without_reading_it(teams: Harness) -> None:
    started = time.monotonic()
    # 16 MB announced: refused before a byte of it is read.
    answer = _post_raw(teams, b"Content-Length: %d\r\n" % (16 << 20), 256, b"a" * 65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    # 16 MB sent in chunks, its length unsaid: cut off once it passes the cap.
    piece = b"a" * 65536
    answer = _post_raw(teams, b"Transfer-Encoding: chunked\r\n", 256,
                       b"%x\r\n%s\r\n" % (len(piece), piece))
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert time.monotonic() - started < 10
    teams.idle()
    assert _state(teams) == (0, 0, 0)
    teams.say(STAFF, "hello")  # and the app still answers
    assert len(teams.chat(STAFF)) == 2


def test_an_external_member_of_a_shared_dsl_channel_is_not_the_dsl_team(
        teams: Harness) -> None:
    external = "00000000-0000-0000-0000-0000000000e9"
    teams.fake.members[CHANNEL].append(
        {"id": f"29:{external}", "aadObjectId": external, "name": "Other Org",
         "tenantId": "another-organisation"})
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    [post] = teams.channel()
    post = teams.view(DSL, post)  # the buttons, as the DSL sees them
    for title in ("View full record", "Acknowledge"):
        reply = teams.send(teams.client.execute_activity(external, button(post, title),
                                                         conversation=CHANNEL))
        assert "arrives late" not in repr(reply.body)
    stored = teams.jigsaw.record(summary["id"])
    assert stored is not None and stored["review_status"] == "pending"


# -- injection-shaped activities, as the Slack router is given them ---------------------

def _hello(teams: Harness) -> dict[str, Any]:
    return teams.client.message_activity(STAFF, "hello")


LONG = "9" * 5000
DEEP = "[" * 50_000 + "]" * 50_000


def _set(path: str, value: Any) -> Any:
    def change(activity: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = activity
        for key in parents:
            node = node[key]
        node[last] = value
    return change


INJECTED = {
    "from.id 5,000 characters": _set("from.id", "29:" + LONG),
    "from.aadObjectId 5,000 characters": _set("from.aadObjectId", LONG),
    "conversation.id 5,000 characters": _set("conversation.id", "a:" + LONG),
    "activity id 5,000 characters": _set("id", "f:" + LONG),
    "from.id with a NUL": _set("from.id", "29:USTAFF\x00"),
    "from.id an object": _set("from.id", {"$ne": None}),
    "from.id a list": _set("from.id", ["29:USTAFF"]),
    "conversation.id quoted SQL": _set("conversation.id", "a:1' OR '1'='1"),
    "tenant quoted SQL": _set("conversation.tenantId", "t'; DROP TABLE schools; --"),
}


@pytest.mark.parametrize("name", list(INJECTED))
def test_injection_shaped_activities_are_refused_cleanly(
        teams: Harness, name: str, caplog: pytest.LogCaptureFixture) -> None:
    activity = _hello(teams)
    INJECTED[name](activity)
    reply = teams.client.send(activity)
    teams.idle()
    assert reply.status == 400, reply  # refused: never an error, never served
    assert _state(teams) == (0, 0, 0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]
    teams.say(STAFF, "hello")  # and the app still answers
    assert len(teams.chat(STAFF)) == 2


@pytest.mark.parametrize("where", ["body", "channelData", "value", "entities"])
def test_50000_deep_arrays_are_a_clean_400(teams: Harness, where: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    if where == "body":
        body = DEEP.encode()
    else:
        activity = _hello(teams)
        activity[where] = "@DEEP@"
        body = json.dumps(activity).replace('"@DEEP@"', DEEP).encode()
    status, answer = _raw(teams, body)
    assert status == 400, (status, answer[:200])
    teams.idle()
    assert _state(teams) == (0, 0, 0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]
