"""Build what Slack sends to Jigsaw, and deliver it the two ways Slack can.

Jigsaw runs in Socket Mode in schools but can also take HTTP requests, and
its listeners must behave the same either way. So every helper here builds
one :class:`SlackRequest` holding both forms of the same request: the signed
HTTP body Slack would POST, and the payload a Socket Mode envelope carries.
A :class:`SlackTransport` then delivers it:

* :class:`HttpTransport` POSTs it, signed exactly as Slack signs, to a
  running app (e.g. one served by :class:`bot.slack.server.SlackHTTPServer`);
* :class:`SocketModeTransport` hands it, as a Socket Mode envelope, to
  slack_sdk's real listener dispatch and slack_bolt's real Socket Mode glue
  (``run_bolt_app`` / ``send_response``), capturing the ack frame that would
  go back over the WebSocket.

Typical use (see ``test_fakeslack.py`` for the fixture)::

    with open_transport("socket", app, signing_secret=SECRET) as transport:
        ack = transport.send(slash_command(text="help"))
        assert ack.status == 200
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlencode

from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.slack.app import JigsawApp
from bot.slack.server import SlackHTTPServer

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_bolt.response import BoltResponse

TEAM_ID = "T0001"
TEAM_DOMAIN = "jigsaw-test"
APP_ID = "AJIGSAW"
BOT_USER_ID = "UBOT"
VERIFICATION_TOKEN = "legacy-verification-token"
DEFAULT_SIGNING_SECRET = "test-signing-secret"
EVENTS_PATH = "/slack/events"
TRANSPORT_KINDS = ("http", "socket")

EnvelopeType = Literal["slash_commands", "events_api", "interactive"]


# -- signing -----------------------------------------------------------------
def signature(signing_secret: str, timestamp: str | int, body: str) -> str:
    """Slack's v0 signature: HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def sign(body: str, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds to every request it sends."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(signing_secret, ts, body),
    }


# -- requests ----------------------------------------------------------------
@dataclass(frozen=True)
class SlackRequest:
    """One request from Slack, in both its wire forms.

    ``body``/``content_type`` are what Slack POSTs over HTTP; ``payload`` is
    what a Socket Mode envelope of type ``envelope_type`` carries.
    """

    envelope_type: EnvelopeType
    payload: dict[str, Any]
    body: str
    content_type: str
    accepts_response_payload: bool = False

    def headers(self, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
        """Content-Type plus a valid signature, as Slack sends them."""
        return {"Content-Type": self.content_type, **sign(self.body, signing_secret, timestamp)}

    def envelope(
        self,
        envelope_id: str | None = None,
        *,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> dict[str, Any]:
        """The Socket Mode frame Slack would push over the WebSocket."""
        frame: dict[str, Any] = {
            "envelope_id": envelope_id or str(uuid.uuid4()),
            "type": self.envelope_type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.envelope_type == "events_api":
            frame["retry_attempt"] = retry_attempt or 0
            frame["retry_reason"] = retry_reason or ""
        return frame


def _form(payload: dict[str, Any], envelope_type: EnvelopeType, accepts: bool) -> SlackRequest:
    return SlackRequest(envelope_type, payload, urlencode(payload),
                        "application/x-www-form-urlencoded", accepts)


def _interactive(payload: dict[str, Any], accepts: bool) -> SlackRequest:
    body = urlencode({"payload": json.dumps(payload)})
    return SlackRequest("interactive", payload, body, "application/x-www-form-urlencoded", accepts)


def _event(event: dict[str, Any], *, event_id: str | None, event_time: int | None,
           team_id: str, api_app_id: str) -> SlackRequest:
    payload = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [{
            "enterprise_id": None,
            "team_id": team_id,
            "user_id": BOT_USER_ID,
            "is_bot": True,
            "is_enterprise_install": False,
        }],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }
    return SlackRequest("events_api", payload, json.dumps(payload), "application/json", False)


def new_event_id() -> str:
    """A unique Events API event id (``Ev`` + 10 characters)."""
    return "Ev" + uuid.uuid4().hex[:10].upper()


def new_trigger_id() -> str:
    """A unique, plausible trigger_id."""
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def new_ts() -> str:
    """A Slack-style message ts for now."""
    return f"{time.time():.6f}"


def _user(user: str, team_id: str) -> dict[str, Any]:
    return {"id": user, "username": f"user.{user.lower()}", "name": f"user.{user.lower()}",
            "team_id": team_id}


def slash_command(
    command: str = "/infoshare",
    *,
    user: str = "U123",
    user_name: str = "staff.member",
    channel: str = "C123",
    channel_name: str = "general",
    text: str = "",
    trigger_id: str | None = None,
    response_url: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> SlackRequest:
    """A slash command invocation (form body over HTTP)."""
    payload = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url
        or f"https://hooks.slack.com/commands/{team_id}/1/{uuid.uuid4().hex}",
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return _form(payload, "slash_commands", True)


def message_event(
    user: str = "U123",
    *,
    text: str = "",
    channel: str | None = None,
    ts: str | None = None,
    channel_type: str = "im",
    event_id: str | None = None,
    event_time: int | None = None,
    thread_ts: str | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
    extra: dict[str, Any] | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> SlackRequest:
    """A ``message`` event (``message.im`` by default: channel ``D<user>``).

    Reuse ``event_id`` to model Slack redelivering the same event."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "team": team_id,
        "channel": channel or f"D{user}",
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if subtype:
        event["subtype"] = subtype
    else:
        event["client_msg_id"] = str(uuid.uuid4())
    if thread_ts:
        event["thread_ts"] = thread_ts
    if bot_id:
        event["bot_id"] = bot_id
    event.update(extra or {})
    return _event(event, event_id=event_id, event_time=event_time, team_id=team_id,
                  api_app_id=api_app_id)


def app_home_opened(
    user: str = "U123",
    *,
    tab: str = "home",
    channel: str | None = None,
    view: dict[str, Any] | None = None,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> SlackRequest:
    """The user opened the app's Home (or Messages) tab."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel or f"D{user}",
        "tab": tab,
        "event_ts": new_ts(),
    }
    if view is not None:
        event["view"] = view
    return _event(event, event_id=event_id, event_time=None, team_id=team_id,
                  api_app_id=api_app_id)


def message_shortcut(user: str = "U123", *, text: str, channel: str = "C123",
                     callback_id: str = "report_concern", team_id: str = TEAM_ID,
                     api_app_id: str = APP_ID) -> SlackRequest:
    """A message shortcut chosen on someone's message in ``channel``."""
    ts = new_ts()
    payload: dict[str, Any] = {
        "type": "message_action",
        "callback_id": callback_id,
        "user": _user(user, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "channel": {"id": channel, "name": "general"},
        "message_ts": ts,
        "message": {"type": "message", "user": "U777", "ts": ts, "text": text},
        "response_url": f"https://hooks.slack.com/actions/{team_id}/1/shortcut",
        "is_enterprise_install": False,
    }
    return _interactive(payload, False)


def block_action(
    user: str = "U123",
    *,
    action_id: str,
    value: str | None = None,
    block_id: str = "actions",
    message_ts: str | None = None,
    channel: str | None = None,
    container: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
    action_type: str = "button",
    action: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> SlackRequest:
    """A ``block_actions`` payload for one action (a button by default).

    In a message by default (channel ``D<user>``); pass ``view`` (a view as
    Slack returned it, with ``id``) for an action inside a modal or Home.
    ``action`` adds or overrides fields of the action element, e.g.
    ``{"type": "static_select", "selected_option": {...}}``.
    """
    channel = channel or f"D{user}"
    message_ts = message_ts or new_ts()
    act: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": new_ts(),
    }
    if action_type == "button":
        act["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
    if value is not None:
        act["value"] = value
    act.update(action or {})
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [act],
    }
    if view is not None:
        payload["container"] = container or {"type": "view", "view_id": view.get("id", "")}
        payload["view"] = view
        payload["state"] = view.get("state", {"values": {}})
    else:
        payload["container"] = container or {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel, "name": "directmessage"}
        payload["message"] = message or {
            "type": "message", "ts": message_ts, "user": BOT_USER_ID, "bot_id": "BJIGSAW",
            "text": "", "team": team_id, "blocks": [],
        }
        payload["response_url"] = response_url or (
            f"https://hooks.slack.com/actions/{team_id}/1/{uuid.uuid4().hex}"
        )
    return _interactive(payload, False)


def _view(
    *,
    callback_id: str,
    values: dict[str, dict[str, Any]],
    private_metadata: str,
    view_id: str | None,
    view_hash: str | None,
    external_id: str,
    team_id: str,
    api_app_id: str,
    blocks: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    view_id = view_id or "V" + uuid.uuid4().hex[:10].upper()
    return {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": blocks or [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": values},
        "hash": view_hash or f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "title": {"type": "plain_text", "text": "Jigsaw", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": api_app_id,
        "external_id": external_id,
        "app_installed_team_id": team_id,
        "bot_id": "BJIGSAW",
    }


def view_submission(
    user: str = "U123",
    *,
    callback_id: str,
    values: dict[str, dict[str, Any]] | None = None,
    private_metadata: str = "",
    view_id: str | None = None,
    view_hash: str | None = None,
    external_id: str = "",
    blocks: list[dict[str, Any]] | None = None,
    trigger_id: str | None = None,
    response_urls: list[dict[str, Any]] | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> SlackRequest:
    """A modal was submitted. ``values`` is ``view.state.values``:
    ``{block_id: {action_id: text_input("...")}}``."""
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": _view(callback_id=callback_id, values=values or {},
                      private_metadata=private_metadata, view_id=view_id,
                      view_hash=view_hash, external_id=external_id, team_id=team_id,
                      api_app_id=api_app_id, blocks=blocks),
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interactive(payload, True)


def view_closed(
    user: str = "U123",
    *,
    callback_id: str,
    private_metadata: str = "",
    view_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> SlackRequest:
    """A modal opened with ``notify_on_close`` was dismissed."""
    payload = {
        "type": "view_closed",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "view": _view(callback_id=callback_id, values={}, private_metadata=private_metadata,
                      view_id=view_id, view_hash=None, external_id="", team_id=team_id,
                      api_app_id=api_app_id, blocks=None),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interactive(payload, False)


# -- state values, as they appear in view.state.values -----------------------
def text_input(value: str | None) -> dict[str, Any]:
    """A plain_text_input's state."""
    return {"type": "plain_text_input", "value": value}


def selected(value: str, *, type: str = "radio_buttons", text: str | None = None) -> dict[str, Any]:
    """A single-choice element's state (radio_buttons, static_select...)."""
    return {"type": type, "selected_option": _option(value, text)}


def multi_selected(values: list[str], *, type: str = "checkboxes") -> dict[str, Any]:
    """A multi-choice element's state (checkboxes, multi_static_select...)."""
    return {"type": type, "selected_options": [_option(v, None) for v in values]}


def _option(value: str, text: str | None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}


# -- transports --------------------------------------------------------------
@dataclass
class AckResponse:
    """What the app answered Slack: the HTTP response, or for Socket Mode
    Bolt's status plus the ack frame (``envelope``) sent back."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    envelope: dict[str, Any] | None = None

    def json(self) -> Any:
        """The ack body parsed (None if empty): e.g. ``{"response_action": ...}``."""
        return json.loads(self.body) if self.body else None

    def __iter__(self) -> Iterator[Any]:
        """Unpacks as ``status, body = transport.send(...)``."""
        yield self.status
        yield self.body


class SlackTransport(Protocol):
    """Delivers a :class:`SlackRequest` to the app and returns its ack."""

    kind: str

    def send(
        self,
        request: SlackRequest,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> AckResponse: ...

    def close(self) -> None: ...


class HttpTransport:
    """POSTs signed requests to ``http://127.0.0.1:{port}/slack/events``
    with urllib, as Slack's HTTP delivery does."""

    kind = "http"

    def __init__(
        self,
        target: int | str,
        signing_secret: str = DEFAULT_SIGNING_SECRET,
        *,
        path: str = EVENTS_PATH,
        timeout: float = 10.0,
    ) -> None:
        self.url = target if isinstance(target, str) else f"http://127.0.0.1:{target}{path}"
        self.signing_secret = signing_secret
        self.timeout = timeout

    def send(
        self,
        request: SlackRequest,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        signing_secret: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> AckResponse:
        """Deliver one request. ``signing_secret``/``timestamp`` override the
        signature (to prove bad or stale ones are refused); ``retry_num`` and
        ``retry_reason`` add Slack's X-Slack-Retry-* headers."""
        all_headers = request.headers(signing_secret or self.signing_secret, timestamp)
        if retry_num is not None:
            all_headers["X-Slack-Retry-Num"] = str(retry_num)
            all_headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        all_headers.update(headers or {})
        req = urllib.request.Request(self.url, data=request.body.encode("utf-8"),
                                     headers=all_headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return AckResponse(resp.status, resp.read().decode("utf-8"), dict(resp.headers))
        except urllib.error.HTTPError as e:
            return AckResponse(e.code, e.read().decode("utf-8"), dict(e.headers))

    def close(self) -> None:
        """Nothing to release: each send is its own connection."""


class FakeSocketModeClient(BaseSocketModeClient):
    """A Socket Mode client with no WebSocket: frames are handed in by
    :meth:`deliver` and whatever the app sends back is captured."""

    def __init__(self, app: App, app_token: str = "xapp-test") -> None:
        self.logger = app.logger
        self.web_client = app.client
        self.app_token = app_token
        self.wss_uri = ""
        self.message_listeners = []
        self.socket_mode_request_listeners = []
        self.closed = False
        self.connect_operation_lock = threading.Lock()
        self._sent_lock = threading.Condition()
        self.sent: list[dict[str, Any]] = []

    def is_connected(self) -> bool:
        return not self.closed

    def connect(self) -> None:
        self.closed = False

    def disconnect(self) -> None:
        pass

    def send_message(self, message: str) -> None:
        """Where ack frames go; real clients write them to the WebSocket."""
        with self._sent_lock:
            self.sent.append(json.loads(message))
            self._sent_lock.notify_all()

    def deliver(self, frame: dict[str, Any]) -> None:
        """Run the client's own listener dispatch on one incoming frame."""
        raw = json.dumps(frame)
        self.run_message_listeners(json.loads(raw), raw)

    def response_for(self, envelope_id: str) -> dict[str, Any] | None:
        with self._sent_lock:
            return next((m for m in self.sent if m.get("envelope_id") == envelope_id), None)


class _BoltSocketModeHandler(BaseSocketModeHandler):
    """Does what ``slack_bolt.adapter.socket_mode.SocketModeHandler.handle``
    does (``run_bolt_app`` then ``send_response``), keeping Bolt's status so
    a non-200 (which Socket Mode never sends back) is still visible."""

    def __init__(self, app: App, client: FakeSocketModeClient) -> None:
        self.app = app
        self.client = client
        self.statuses: dict[str, BoltResponse] = {}
        self._lock = threading.Lock()
        client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        start = time.time()
        bolt_resp = run_bolt_app(self.app, req)
        with self._lock:
            self.statuses[req.envelope_id] = bolt_resp
        send_response(client, req, bolt_resp, start)


class SocketModeTransport:
    """Delivers requests as Socket Mode envelopes through the real dispatch
    code, so the app's listeners run exactly as they do in Socket Mode."""

    kind = "socket"

    def __init__(self, app: App, *, app_token: str = "xapp-test") -> None:
        self.app = app
        self.client = FakeSocketModeClient(app, app_token)
        self.handler = _BoltSocketModeHandler(app, self.client)

    def send(
        self,
        request: SlackRequest,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> AckResponse:
        """Deliver one envelope and return the ack sent back for it.

        ``status`` is Bolt's; ``body`` is the ack frame's payload as JSON (""
        for an empty ack); ``envelope`` is the whole frame, or None when the
        app sent none (Bolt answered non-200, e.g. no matching listener)."""
        if retry_num and not retry_reason:
            retry_reason = "http_timeout"
        frame = request.envelope(retry_attempt=retry_num, retry_reason=retry_reason)
        envelope_id = frame["envelope_id"]
        self.client.deliver(frame)
        sent = self.client.response_for(envelope_id)
        bolt_resp = self.handler.statuses.get(envelope_id)
        status = bolt_resp.status if bolt_resp is not None else 500
        if sent is not None:
            body = json.dumps(sent["payload"]) if sent.get("payload") is not None else ""
        else:
            body = bolt_resp.body if bolt_resp is not None else ""
        return AckResponse(status, body, {}, sent)

    def close(self) -> None:
        self.client.close()


@contextmanager
def open_transport(
    kind: str, app: App, *, signing_secret: str = DEFAULT_SIGNING_SECRET
) -> Iterator[SlackTransport]:
    """A ready transport of ``kind`` ("http" or "socket") into ``app``.

    For "http" the app is served by the app's own HTTP server
    (:class:`bot.slack.server.SlackHTTPServer`) for the duration;
    ``signing_secret`` must be the one the app verifies with."""
    if kind == "http":
        assert isinstance(app, JigsawApp), "the HTTP server serves Jigsaw's Bolt app"
        server = SlackHTTPServer(("127.0.0.1", 0), app)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True, name=f"slack-http:{server.port}")
        thread.start()
        transport = HttpTransport(f"http://127.0.0.1:{server.port}{EVENTS_PATH}", signing_secret)
        try:
            yield transport
        finally:
            transport.close()
            server.stop()
            thread.join(timeout=10)
    elif kind == "socket":
        socket_transport = SocketModeTransport(app)
        try:
            yield socket_transport
        finally:
            socket_transport.close()
    else:
        raise ValueError(f"unknown transport kind {kind!r}; expected one of {TRANSPORT_KINDS}")
