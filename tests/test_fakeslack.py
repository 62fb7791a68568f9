"""The fake Slack and the request transports behave like the real thing.

The app's end-to-end tests trust these helpers to tell them what Slack would
have seen; these tests earn that trust with a stock WebClient and a tiny Bolt
app, over both HTTP and Socket Mode.
"""

from __future__ import annotations

import io
import json
import queue
import selectors
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import Ack, App, BoltRequest, Say
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.slack.app import JigsawApp
from tests.harness.fakeslack import (
    BOT_ID,
    BOT_USER_ID,
    DSL_CHANNEL_ID,
    RESPONSE_URL,
    TEAM_ID,
    FakeSlack,
    WaitTimeout,
    iter_calls,
    parse_body,
)
from tests.harness.slackreq import (
    TRANSPORT_KINDS,
    AckResponse,
    HttpTransport,
    SlackTransport,
    app_home_opened,
    block_action,
    message_event,
    open_transport,
    selected,
    sign,
    signature,
    slash_command,
    text_input,
    view_submission,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url, timeout=5)


def post(client: WebClient, text: str = "hi", **kwargs: Any) -> str:
    return str(client.chat_postMessage(channel=DSL_CHANNEL_ID, text=text, **kwargs)["ts"])


# -- the Web API fake ----------------------------------------------------------
def test_base_url_and_identity(fake: FakeSlack, client: WebClient) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/")
    auth = client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == (BOT_USER_ID, BOT_ID, TEAM_ID)
    call = fake.last("auth.test")
    assert call.token == "xoxb-test"
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.ok


def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=fake.base_url).auth_test()
    assert err.value.response["error"] == "not_authed"


def test_blocks_and_metadata_decoded_from_every_encoding(fake: FakeSlack,
                                                         client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Record*"}}]
    metadata = {"event_type": "jigsaw_record", "event_payload": {"record_id": "ISD-2025-0001"}}
    client.chat_postMessage(channel="CDSL", text="json", blocks=blocks, metadata=metadata)
    client.api_call("chat.postMessage", params={
        "channel": "CDSL", "text": "form", "blocks": json.dumps(blocks),
        "metadata": json.dumps(metadata),
    })
    client.api_call("chat.postMessage", data={
        "channel": "CDSL", "text": "multipart", "blocks": json.dumps(blocks),
    }, files={"file": io.BytesIO(b"attachment")})
    calls = fake.calls("chat.postMessage")
    assert [c.args["text"] for c in calls] == ["json", "form", "multipart"]
    assert "json" in calls[0].headers["content-type"]
    assert "urlencoded" in calls[1].headers["content-type"]
    assert "multipart" in calls[2].headers["content-type"]
    assert all(c.args["blocks"] == blocks for c in calls)
    assert calls[0].args["metadata"] == calls[1].args["metadata"] == metadata
    assert calls[2].args["file"] == b"attachment"


def test_parse_body_leaves_non_json_text_alone() -> None:
    assert parse_body("application/x-www-form-urlencoded", b"text=%5Bnot+json&channel=C1") == {
        "text": "[not json", "channel": "C1"}
    assert parse_body("application/json", b"") == {}


def test_history_newest_first_with_metadata_limit_and_oldest(fake: FakeSlack,
                                                            client: WebClient) -> None:
    meta = {"event_type": "jigsaw_record", "event_payload": {"session_id": "s1"}}
    t1 = post(client, "one")
    t2 = post(client, "two", metadata=meta)
    t3 = post(client, "three")
    assert t1 < t2 < t3

    plain = client.conversations_history(channel="CDSL")["messages"]
    assert [m["ts"] for m in plain] == [t3, t2, t1]
    assert all("metadata" not in m for m in plain)

    full = client.conversations_history(channel="CDSL", include_all_metadata=True)["messages"]
    assert full[1]["metadata"] == meta
    assert full[1]["bot_id"] == BOT_ID

    page = client.conversations_history(channel="CDSL", limit=2)
    assert [m["text"] for m in page["messages"]] == ["three", "two"]
    assert page["has_more"] is True
    rest = client.conversations_history(
        channel="CDSL", limit=2, cursor=page["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["one"]
    assert rest["has_more"] is False

    newer = client.conversations_history(channel="CDSL", oldest=t1)["messages"]
    assert [m["text"] for m in newer] == ["three", "two"]
    inclusive = client.conversations_history(channel="CDSL", oldest=t1, inclusive=True)
    assert len(inclusive["messages"]) == 3


def test_update_replaces_stored_message(fake: FakeSlack, client: WebClient) -> None:
    ts = post(client, "draft", blocks=[{"type": "divider"}])
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "ok"}}
    resp = client.chat_update(channel="CDSL", ts=ts, text="final", blocks=[section])
    assert resp["ts"] == ts
    stored = fake.message("CDSL", ts)
    assert stored is not None
    assert stored["text"] == "final"
    assert stored["blocks"][0]["type"] == "section"
    assert [m["text"] for m in fake.messages("CDSL")] == ["final"]
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="CDSL", ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"
    user_ts = fake.add_message("CDSL", "from a person", user="UDSL1")
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="CDSL", ts=user_ts, text="x")
    assert err.value.response["error"] == "cant_update_message"


def test_ts_unique_and_increasing_under_concurrency(fake: FakeSlack) -> None:
    fixed = FakeSlack(clock=lambda: 1_700_000_000.0)
    with fixed:
        c = WebClient(token="xoxb-test", base_url=fixed.base_url)
        start = threading.Barrier(8)

        def worker() -> None:
            start.wait()
            for _ in range(5):
                c.chat_postMessage(channel="CDSL", text="x")

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stamps = [m["ts"] for m in fixed.messages("CDSL")]
    assert len(stamps) == len(set(stamps)) == 40
    assert stamps == sorted(stamps, key=float)
    assert stamps[0] == "1700000000.000000" and stamps[-1] == "1700000000.000039"


def test_channels_members_and_access(fake: FakeSlack, client: WebClient) -> None:
    info = client.conversations_info(channel="CDSL")["channel"]
    assert info["is_private"] is True and info["is_member"] is True
    members = client.conversations_members(channel="CDSL")["members"]
    assert members == ["UBOT", "UDSL1", "UDSL2"]

    fake.set_members("CDSL", ["UDSL1", "UDSL2"])  # the bot was removed
    for call in (lambda: client.conversations_info(channel="CDSL"),
                 lambda: client.conversations_members(channel="CDSL"),
                 lambda: client.chat_postMessage(channel="CDSL", text="x"),
                 lambda: client.conversations_history(channel="CDSL")):
        with pytest.raises(SlackApiError) as err:
            call()
        assert err.value.response["error"] == "channel_not_found"

    fake.add_channel("CPUB", name="staffroom", is_private=False, members=["U123"])
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="CPUB", text="x")
    assert err.value.response["error"] == "not_in_channel"
    with pytest.raises(SlackApiError) as err:
        client.conversations_info(channel="CNOPE")
    assert err.value.response["error"] == "channel_not_found"


def test_ims_open_and_post(fake: FakeSlack, client: WebClient) -> None:
    opened = client.conversations_open(users="U555")
    assert opened["channel"]["id"] == "DU555"
    again = client.conversations_open(users=["U555"], return_im=True)
    assert again["channel"]["is_im"] is True and again["channel"]["user"] == "U555"
    assert again["already_open"] is True
    by_user = client.chat_postMessage(channel="U555", text="hello")
    assert by_user["channel"] == "DU555"
    client.chat_postMessage(channel="DU777", text="direct")  # a DM not opened first
    assert [m["text"] for m in fake.messages("DU555")] == ["hello"]
    assert fake.messages("DU777")[0]["text"] == "direct"


def test_views_open_update_publish(fake: FakeSlack, client: WebClient) -> None:
    modal = {"type": "modal", "callback_id": "concern",
             "title": {"type": "plain_text", "text": "Jigsaw"}, "blocks": []}
    view = client.views_open(trigger_id="111.222.abc", view=modal)["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "concern"
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id="111.222.abc", view=modal)
    assert err.value.response["error"] == "exchanged_trigger_id"

    updated = client.views_update(view_id=view["id"], hash=view["hash"],
                                  view={**modal, "private_metadata": "s1"})["view"]
    assert updated["private_metadata"] == "s1"
    assert fake.view(view["id"])["private_metadata"] == "s1"  # type: ignore[index]
    with pytest.raises(SlackApiError) as err:
        client.views_update(view_id=view["id"], hash=view["hash"], view=modal)
    assert err.value.response["error"] == "hash_conflict"

    home = {"type": "home", "blocks": [{"type": "divider"}]}
    client.views_publish(user_id="U123", view=home)
    assert fake.home_view("U123")["blocks"] == [{"type": "divider"}]  # type: ignore[index]
    assert fake.last("views.publish").args["view"] == home


def test_users_permalink_ephemeral_connections(fake: FakeSlack, client: WebClient) -> None:
    user = client.users_info(user="U123")["user"]
    assert user["id"] == "U123" and user["team_id"] == TEAM_ID and user["profile"]["real_name"]
    assert client.users_info(user="U999")["user"]["id"] == "U999"

    ts = post(client)
    link = client.chat_getPermalink(channel="CDSL", message_ts=ts)["permalink"]
    assert link.endswith("/archives/CDSL/p" + ts.replace(".", ""))

    eph = client.chat_postEphemeral(channel="C123", user="U123", text="only you")
    assert eph["message_ts"]
    with pytest.raises(SlackApiError) as err:
        client.chat_postEphemeral(channel="CDSL", user="U123", text="x")
    assert err.value.response["error"] == "user_not_in_channel"

    url = WebClient(base_url=fake.base_url).apps_connections_open(app_token="xapp-1")["url"]
    assert url.startswith("ws://127.0.0.1:")
    with pytest.raises(SlackApiError) as err:
        client.apps_connections_open(app_token="xoxb-test")
    assert err.value.response["error"] == "not_allowed_token_type"


def test_response_url_posts_are_recorded(fake: FakeSlack) -> None:
    url = fake.response_url("cmd1")
    resp = WebhookClient(url).send(text="Started", response_type="ephemeral")
    assert (resp.status_code, resp.body) == (200, "ok")
    call = fake.last(RESPONSE_URL)
    assert call.args["text"] == "Started" and call.args["_path"] == "/hooks/cmd1"


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.frobnicate")
    assert err.value.response["error"] == "unknown_method"


# -- waiting -------------------------------------------------------------------
def test_wait_for_wakes_on_a_call_from_another_thread(fake: FakeSlack,
                                                      client: WebClient) -> None:
    go = threading.Event()

    def later() -> None:
        go.wait(5)
        post(client, "a")
        post(client, "b")

    worker = threading.Thread(target=later)
    worker.start()
    go.set()
    calls = fake.wait_for("chat.postMessage", count=2, timeout=5)
    worker.join()
    assert [c.args["text"] for c in calls] == ["a", "b"]
    assert len(fake.wait_for("chat.postMessage", where=lambda c: c.args["text"] == "b")) == 1
    assert list(iter_calls(fake.calls(), text="a"))[0].method == "chat.postMessage"


def test_wait_for_times_out_with_what_it_saw(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    with pytest.raises(WaitTimeout, match=r"chat\.update.*saw auth\.test"):
        fake.wait_for("chat.update", timeout=0.05)
    fake.clear()
    assert fake.calls() == []
    with pytest.raises(AssertionError):
        fake.last("auth.test")


# -- faults ----------------------------------------------------------------------
def test_fail_next_http_500_then_recovers(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as err:
        post(client, "lost")
    assert err.value.response.status_code == 500
    assert fake.messages("CDSL") == []  # a 500 did not post
    post(client, "kept")
    assert [m["text"] for m in fake.messages("CDSL")] == ["kept"]
    first, second = fake.calls("chat.postMessage")
    assert (first.status, first.ok, first.fault) == (500, False, "status=500 error=internal_error")
    assert second.ok and second.fault is None


def test_fail_next_ok_false_error(fake: FakeSlack, client: WebClient) -> None:
    fault = fake.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(SlackApiError) as err:
        post(client)
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "not_in_channel"
    assert fault.hits == 1


def test_500_with_effect_models_posted_but_reported_failed(fake: FakeSlack,
                                                           client: WebClient) -> None:
    fake.fail_next("chat.postMessage", status=500, effect=True)
    with pytest.raises(SlackApiError):
        post(client, "posted anyway", metadata={"event_type": "r", "event_payload": {"k": 1}})
    history = client.conversations_history(channel="CDSL", include_all_metadata=True)
    assert history["messages"][0]["metadata"]["event_payload"] == {"k": 1}


def test_429_without_retry_handler_surfaces_retry_after(fake: FakeSlack,
                                                        client: WebClient) -> None:
    fake.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        post(client)
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"


def test_429_retry_after_honoured_by_rate_limit_handler(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=fake.base_url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    assert client.chat_postMessage(channel="CDSL", text="eventually")["ok"]
    limited, retried = fake.calls("chat.postMessage")
    assert limited.status == 429 and retried.ok
    assert retried.at - limited.at >= 1.0
    assert len(fake.messages("CDSL")) == 1


def test_delay_times_out_the_client_but_the_post_lands(fake: FakeSlack) -> None:
    """The ambiguous case exactly-once delivery must survive: Slack posted
    the record, but the app never heard back."""
    impatient = WebClient(token="xoxb-test", base_url=fake.base_url, timeout=0.3)
    fake.fail_next("chat.postMessage", delay=2.0)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="CDSL", text="record ISD-2025-0001")
    assert time.monotonic() - started < 2.0
    fake.release_delayed()
    (call,) = fake.calls("chat.postMessage")
    assert call.fault == "status=200 delay=2.0" and call.ok
    assert [m["text"] for m in fake.messages("CDSL")] == ["record ISD-2025-0001"]


def test_delay_without_effect(fake: FakeSlack) -> None:
    impatient = WebClient(token="xoxb-test", base_url=fake.base_url, timeout=0.3)
    fake.fail_next("chat.postMessage", delay=2.0, effect=False)
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="CDSL", text="never")
    fake.release_delayed()
    assert fake.messages("CDSL") == []
    assert fake.last("chat.postMessage").status == 504


def test_fail_while_count_and_predicate(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_while("chat.postMessage", 2, status=503)
    for _ in range(2):
        with pytest.raises(SlackApiError):
            post(client)
    post(client)

    healed = threading.Event()
    fault = fake.fail_while("*", lambda c: c.args.get("channel") == "CDSL"
                            and not healed.is_set(), error="fatal_error")
    with pytest.raises(SlackApiError):
        post(client)
    with pytest.raises(SlackApiError):
        client.conversations_history(channel="CDSL")
    client.chat_postMessage(channel="C123", text="other channels still work")
    healed.set()
    post(client)
    assert fault.hits == 2

    fake.fail_while("chat.postMessage", lambda c: True)
    with pytest.raises(SlackApiError):
        post(client)
    fake.clear_faults()
    post(client)


def test_reset_restores_seeded_workspace(fake: FakeSlack, client: WebClient) -> None:
    fake.set_members("CDSL", [])
    fake.fail_next("*")
    fake.reset()
    post(client)
    assert fake.channel("CDSL").members == ["UBOT", "UDSL1", "UDSL2"]


# -- standalone ------------------------------------------------------------------
def test_standalone_process_prints_base_url_and_serves() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "tests.harness.fakeslack", "--port", "0"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)
                assert sel.select(timeout=20), "fake did not print its URL"
            base_url = proc.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/")
            WebClient(token="xoxb-bench", base_url=base_url).chat_postMessage(channel="CDSL",
                                                                               text="x")
            root = base_url.removesuffix("api/")
            with urllib.request.urlopen(root + "_fake/stats", timeout=5) as resp:
                assert json.load(resp)["counts"] == {"chat.postMessage": 1}
            req = urllib.request.Request(root + "_fake/fault", method="POST",
                                         data=json.dumps({"method": "auth.test",
                                                          "error": "invalid_auth"}).encode(),
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=5).close()
            with pytest.raises(SlackApiError):
                WebClient(token="xoxb-bench", base_url=base_url).auth_test()
        finally:
            proc.terminate()
            assert proc.wait(timeout=10) == 0


# -- signing and request builders ------------------------------------------------
def test_signature_matches_slack_sdk_verifier() -> None:
    req = slash_command(text="help")
    headers = req.headers(SECRET)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(req.body, headers)
    ts = headers["X-Slack-Request-Timestamp"]
    assert signature(SECRET, ts, req.body) == verifier.generate_signature(timestamp=ts,
                                                                          body=req.body)
    assert not SignatureVerifier("another-secret").is_valid_request(req.body, headers)
    stale = sign(req.body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(req.body, stale)


@pytest.mark.parametrize("request_", [
    slash_command(text="new"),
    message_event("U123", text="hello"),
    app_home_opened("U123"),
    block_action("U123", action_id="approve", value="s1"),
    view_submission("U123", callback_id="concern", values={"b": {"a": text_input("x")}}),
], ids=["command", "message", "home", "action", "submission"])
def test_http_body_and_socket_payload_are_the_same_request(request_: Any) -> None:
    parsed = BoltRequest(body=request_.body, headers={"content-type": request_.content_type})
    assert parsed.body == request_.payload
    envelope = request_.envelope("e1")
    assert envelope["type"] == request_.envelope_type and envelope["payload"] == request_.payload


def test_builders_fill_in_what_slack_sends() -> None:
    cmd = slash_command(user="U9", channel="C9", text="x")
    assert cmd.payload["command"] == "/infoshare" and cmd.payload["trigger_id"]
    ev = message_event("U9", text="hi", event_id="Ev1")
    assert ev.payload["event"]["channel"] == "DU9"
    assert ev.payload["event"]["channel_type"] == "im"
    assert ev.payload["authorizations"][0]["user_id"] == BOT_USER_ID
    act = block_action("U9", action_id="go", message_ts="1.2", channel="DU9")
    assert act.payload["container"] == {"type": "message", "message_ts": "1.2",
                                        "channel_id": "DU9", "is_ephemeral": False}
    in_modal = block_action("U9", action_id="go", view={"id": "V1", "state": {"values": {}}})
    assert in_modal.payload["container"] == {"type": "view", "view_id": "V1"}
    sub = view_submission("U9", callback_id="c", private_metadata="s1", view_id="V1",
                          values={"b": {"a": selected("yes")}})
    assert sub.payload["view"]["state"]["values"]["b"]["a"]["selected_option"]["value"] == "yes"
    assert sub.payload["view"]["private_metadata"] == "s1"


# -- transports into a Bolt app ----------------------------------------------------
class Seen:
    """What the tiny app's listeners observed, handed to the test thread."""

    def __init__(self) -> None:
        self.retries: queue.Queue[tuple[str | None, str | None]] = queue.Queue()


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def bolt_app(fake: FakeSlack, seen: Seen) -> App:
    # The app's own Bolt subclass, so the same HTTP server serves it.
    app = JigsawApp(signing_secret=SECRET,
                    client=WebClient(token="xoxb-test", base_url=fake.base_url))

    @app.command("/infoshare")
    def infoshare(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_postMessage(channel=DSL_CHANNEL_ID,
                                text=f"{command['user_id']} started: {command['text']}")

    @app.event("message")
    def dm(event: dict[str, Any], say: Say, request: BoltRequest) -> None:
        seen.retries.put((request.headers.get("x-slack-retry-num", [None])[0],
                          request.headers.get("x-slack-retry-reason", [None])[0]))
        say(f"echo: {event['text']}")

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    @app.action("approve")
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_update(channel=body["container"]["channel_id"],
                           ts=body["container"]["message_ts"], text="approved")

    @app.view("concern")
    def concern(ack: Ack, view: dict[str, Any]) -> None:
        value = view["state"]["values"]["what"]["text"]["value"]
        if not value:
            ack(response_action="errors", errors={"what": "Say what happened"})
        else:
            ack()

    return app


@pytest.fixture(params=TRANSPORT_KINDS)
def transport(request: pytest.FixtureRequest, bolt_app: App) -> Iterator[SlackTransport]:
    with open_transport(request.param, bolt_app, signing_secret=SECRET) as t:
        yield t


def test_slash_command(transport: SlackTransport, fake: FakeSlack) -> None:
    status, body = transport.send(slash_command(user="U123", text="new"))
    assert (status, body) == (200, "")
    (call,) = fake.wait_for("chat.postMessage")
    assert (call.args["channel"], call.args["text"]) == ("CDSL", "U123 started: new")


def test_message_event_and_retry_headers(transport: SlackTransport, fake: FakeSlack,
                                         seen: Seen) -> None:
    event = message_event("U123", text="hello", event_id="EvSAME")
    assert transport.send(event).status == 200
    fake.wait_for("chat.postMessage")
    num, _ = seen.retries.get(timeout=5)
    # Socket Mode envelopes always carry retry_attempt (0 on first delivery).
    assert num in (None, "0")
    assert transport.send(event, retry_num=1, retry_reason="http_timeout").status == 200
    calls = fake.wait_for("chat.postMessage", count=2)
    assert seen.retries.get(timeout=5) == ("1", "http_timeout")
    assert [c.args["channel"] for c in calls] == ["DU123", "DU123"]
    assert calls[0].args["text"] == "echo: hello"


def test_app_home_opened(transport: SlackTransport, fake: FakeSlack) -> None:
    assert transport.send(app_home_opened("U123")).status == 200
    fake.wait_for("views.publish")
    assert fake.home_view("U123") is not None


def test_block_action(transport: SlackTransport, fake: FakeSlack) -> None:
    ts = fake.add_message("DU123", "Approve?")
    ack = transport.send(block_action("U123", action_id="approve", value="s1",
                                      message_ts=ts, channel="DU123"))
    assert ack.status == 200
    fake.wait_for("chat.update")
    assert fake.message("DU123", ts)["text"] == "approved"  # type: ignore[index]


def test_view_submission_ack_body(transport: SlackTransport) -> None:
    empty = transport.send(view_submission(callback_id="concern",
                                           values={"what": {"text": text_input("")}}))
    assert empty.status == 200
    assert empty.json() == {"response_action": "errors",
                            "errors": {"what": "Say what happened"}}
    filled = transport.send(view_submission(callback_id="concern",
                                            values={"what": {"text": text_input("x")}}))
    assert (filled.status, filled.json()) == (200, None)


def test_unhandled_request_is_404(transport: SlackTransport, fake: FakeSlack) -> None:
    ack = transport.send(block_action(action_id="nobody_listens"))
    assert ack.status == 404
    assert fake.calls("chat.update") == []


def test_http_transport_rejects_bad_and_stale_signatures(bolt_app: App,
                                                         fake: FakeSlack) -> None:
    with open_transport("http", bolt_app, signing_secret=SECRET) as t:
        assert isinstance(t, HttpTransport)
        cmd = slash_command(text="forged")
        assert t.send(cmd, signing_secret="not-the-secret").status == 401
        assert t.send(cmd, timestamp=int(time.time()) - 600).status == 401
        assert t.send(cmd).status == 200
    assert [c.args["text"] for c in fake.wait_for("chat.postMessage")] == [
        "U123 started: forged"]


def test_socket_transport_returns_the_ack_frame(bolt_app: App) -> None:
    with open_transport("socket", bolt_app) as t:
        req = view_submission(callback_id="concern", values={"what": {"text": text_input("")}})
        ack: AckResponse = t.send(req)
    assert ack.envelope is not None
    assert set(ack.envelope) == {"envelope_id", "payload"}
    assert ack.envelope["payload"]["response_action"] == "errors"
