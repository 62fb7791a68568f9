"""A local fake of the Slack Web API, served over HTTP on 127.0.0.1.

Jigsaw's reliability promises (a record reaches the DSL channel exactly once,
a slow or rate-limited Slack never loses a decision) can only be tested
against a Slack that misbehaves on demand. This fake speaks the real wire
format, so a stock ``slack_sdk.WebClient(base_url=fake.base_url)`` talks to
it unchanged, records every call, keeps just enough state (channels,
messages, views) to answer follow-up reads, and injects faults: HTTP errors,
``ok: false`` errors, 429 with ``Retry-After`` and slow responses.

Use it in-process::

    with FakeSlack() as fake:
        client = WebClient(token="xoxb-test", base_url=fake.base_url)
        client.chat_postMessage(channel="CDSL", text="hi")
        fake.wait_for("chat.postMessage")

or standalone, for a benchmark in another process::

    python -m tests.harness.fakeslack --port 0     # prints the base URL, then serves

In standalone mode, ``GET /_fake/calls``, ``GET /_fake/stats``,
``POST /_fake/clear``, ``POST /_fake/reset``, ``POST /_fake/fault`` and
``POST /_fake/clear_faults`` let the other process inspect and steer it.
``/hooks/<anything>`` stands in for response_url (see :meth:`FakeSlack.response_url`).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER_ID = "UBOT"
BOT_ID = "BJIGSAW"
APP_ID = "AJIGSAW"
TEAM_ID = "T0001"
TEAM_NAME = "Jigsaw Test School"
TEAM_DOMAIN = "jigsaw-test"
DSL_CHANNEL_ID = "CDSL"
DSL_MEMBERS = (BOT_USER_ID, "UDSL1", "UDSL2")
GENERAL_CHANNEL_ID = "C123"
#: The pseudo-method under which posts to :meth:`FakeSlack.response_url`
#: URLs are recorded (args: the JSON body, plus ``_path``).
RESPONSE_URL = "response_url"

#: Arguments Slack accepts as JSON text inside a form field. Recorded calls
#: hold them decoded, whichever encoding the client chose.
JSON_ARGS = frozenset({"blocks", "attachments", "metadata", "view", "unfurls", "user_auth_blocks"})

_SEED_USERS: dict[str, tuple[str, str]] = {
    BOT_USER_ID: ("jigsaw", "Jigsaw"),
    "UDSL1": ("dsl.one", "Dana Lead"),
    "UDSL2": ("dsl.two", "Sam Deputy"),
    "U123": ("staff.member", "Alex Teacher"),
}


class WaitTimeout(AssertionError):
    """A wait_for/wait_until gave up: the expected calls never arrived."""


class SlackError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, status: int = 200) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


@dataclass
class Call:
    """One request the fake received, as the app sent it.

    ``args`` merges the query string and the body (JSON, urlencoded or
    multipart), with ``blocks``/``metadata``/``view``/``attachments`` decoded
    from JSON text. The token is taken out of ``args`` into ``token``.
    ``headers`` has lower-cased names. ``at`` is ``time.monotonic()`` on
    arrival. ``status``/``response`` are what the fake answered (for a delayed
    call, what it will answer once the delay ends); ``fault`` names the
    injected fault, if any.
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float
    token: str | None = None
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """True if the app got a 200 with ``ok: true``."""
        return self.status == 200 and bool(self.response.get("ok"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, for the standalone control endpoint."""
        return asdict(self)


CallPredicate = Callable[[Call], bool]


@dataclass
class Fault:
    """An injected failure. Matches calls by method (``"*"`` for any) and,
    optionally, a predicate over the incoming :class:`Call`.

    ``remaining`` counts the calls still to fail (None: until cleared or the
    predicate says no). ``effect`` says whether the call still takes effect
    (e.g. the message is posted) even though the app sees a failure: that is
    how a lost response is modelled. ``hits`` counts calls it failed.
    """

    method: str
    status: int
    error: str | None
    retry_after: int | None
    delay: float | None
    effect: bool
    remaining: int | None = None
    predicate: CallPredicate | None = None
    hits: int = 0

    def matches(self, call: Call) -> bool:
        if self.method not in ("*", call.method):
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.predicate is None or bool(self.predicate(call))

    def describe(self) -> str:
        parts = [f"status={self.status}"]
        if self.error:
            parts.append(f"error={self.error}")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after}")
        if self.delay is not None:
            parts.append(f"delay={self.delay}")
        return " ".join(parts)


@dataclass
class Channel:
    """A conversation the fake knows. ``messages`` is oldest first."""

    id: str
    name: str
    is_private: bool
    members: list[str]
    is_im: bool = False
    user: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    # Sharing as conversations.info reports it (is_ext_shared, is_org_shared,
    # is_shared, is_pending_ext_shared), set by FakeSlack.share.
    sharing: dict[str, bool] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "created": 1_700_000_000,
                "is_im": True,
                "is_org_shared": False,
                "user": self.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "created": 1_700_000_000,
            "creator": "UDSL1",
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": False,
            "is_general": self.id == GENERAL_CHANNEL_ID,
            "is_shared": False,
            "is_org_shared": False,
            "is_member": BOT_USER_ID in self.members,
            "num_members": len(self.members),
            "context_team_id": TEAM_ID,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            **self.sharing,
        }


# Slack's limits on a message: ``text`` up to 40,000 characters
# (``msg_too_long``), at most 50 blocks, each text object up to 3,000
# characters (``invalid_blocks``). Slack also refuses a message whose blocks
# carry too much text in all (``msg_blocks_too_long``) without documenting
# the figure; the fake refuses above 12,000 characters, the bound Jigsaw
# keeps each message to.
TEXT_LIMIT = 40_000
BLOCKS_LIMIT = 50
TEXT_OBJECT_LIMIT = 3_000
BLOCKS_TEXT_LIMIT = 12_000


def _text_objects(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict):
        if obj.get("type") in ("mrkdwn", "plain_text") and isinstance(obj.get("text"), str):
            yield obj["text"]
        for inner in obj.values():
            yield from _text_objects(inner)
    elif isinstance(obj, list):
        for inner in obj:
            yield from _text_objects(inner)


def _check_limits(args: dict[str, Any]) -> None:
    if len(str(args.get("text") or "")) > TEXT_LIMIT:
        raise SlackError("msg_too_long")
    blocks = args.get("blocks")
    if not isinstance(blocks, list):
        return
    if len(blocks) > BLOCKS_LIMIT:
        raise SlackError("invalid_blocks")
    found = list(_text_objects(blocks))
    if any(len(t) > TEXT_OBJECT_LIMIT for t in found):
        raise SlackError("invalid_blocks")
    if sum(len(t) for t in found) > BLOCKS_TEXT_LIMIT:
        raise SlackError("msg_blocks_too_long")


def _flag(value: Any) -> bool:
    """Slack's idea of a true argument: a JSON true or "true"/"1" in a form."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _ts_key(ts: Any) -> Decimal:
    try:
        return Decimal(str(ts))
    except InvalidOperation as e:
        raise SlackError("invalid_ts_latest") from e


def _decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_ARGS & args.keys():
        value = args[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # Left as sent if it is not JSON; the handler rejects it if it matters.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode a Web API request body the way Slack accepts them."""
    if not body:
        return {}
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json":
        parsed = json.loads(body.decode("utf-8"))
        return parsed if isinstance(parsed, dict) else {}
    if ctype == "multipart/form-data":
        msg = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        out: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                out[str(name)] = payload
            else:
                out[str(name)] = payload.decode("utf-8")
        return out
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


class FakeSlack:
    """The fake Slack Web API. Thread-safe; one lock guards all state.

    Seeded with the bot (UBOT/BJIGSAW in team T0001), the private DSL channel
    CDSL (members UBOT, UDSL1, UDSL2) and a public channel C123 (UBOT, U123).
    Any ``D<user>`` id is an IM with that user, created on first use, which is
    also what ``conversations.open`` returns.

    ``clock`` supplies message timestamps (seconds); ts values are strictly
    increasing across the whole workspace even if the clock stands still.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.time,
        verbose: bool = False,
    ) -> None:
        self._host = host
        self._port = port
        self._clock = clock
        self._verbose = verbose
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._held: list[threading.Event] = []
        self._stopping = False
        self._handlers: dict[str, Callable[[Call], dict[str, Any]]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "oauth.v2.access": self._oauth_v2_access,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            RESPONSE_URL: self._response_url_post,
        }
        self._init_state()

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> FakeSlack:
        """Bind and serve in a daemon thread. Returns self."""
        if self._server is not None:
            return self
        self._stopping = False
        server = _Server((self._host, self._port), _Handler)
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name=f"fakeslack:{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release any held (delayed) responses, then shut the server down."""
        with self._lock:
            self._stopping = True
            held, self._held = self._held, []
        for event in held:
            event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as ``WebClient(base_url=...)``; ends with "/"."""
        return f"{self.url}/api/"

    def response_url(self, name: str | None = None) -> str:
        """A response_url served by this fake, for slash_command/block_action
        builders; what the app posts to it is recorded as ``"response_url"``
        calls."""
        return f"{self.url}/hooks/{name or uuid.uuid4().hex}"

    # -- state -------------------------------------------------------------
    def _init_state(self) -> None:
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._channels: dict[str, Channel] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, dict[str, Any]] = {}
        self._used_triggers: set[str] = set()
        self._files: dict[str, dict[str, Any]] = {}
        # code -> the oauth.v2.access answer for it (see grant()).
        self._grants: dict[str, dict[str, Any]] = {}
        self._last_ts_us = 0
        self._seq = 0
        for uid, (name, real) in _SEED_USERS.items():
            self.add_user(uid, name=name, real_name=real, is_bot=uid == BOT_USER_ID)
        self.add_channel(DSL_CHANNEL_ID, name="safeguarding-dsl", is_private=True,
                         members=list(DSL_MEMBERS))
        self.add_channel(GENERAL_CHANNEL_ID, name="general", is_private=False,
                         members=[BOT_USER_ID, "U123"])

    def reset(self) -> None:
        """Forget calls, faults and all state; back to the seeded workspace."""
        with self._cond:
            self._init_state()
            self._cond.notify_all()

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool = True,
        members: Iterable[str] = (BOT_USER_ID,),
        is_im: bool = False,
    ) -> None:
        """Create or replace a channel (e.g. a second DSL channel, or one the
        bot was removed from: leave UBOT out of ``members``)."""
        with self._cond:
            members = list(members)
            user = next((m for m in members if m != BOT_USER_ID), None) if is_im else None
            self._channels[channel_id] = Channel(
                id=channel_id, name=name or channel_id.lower(), is_private=is_private or is_im,
                members=members, is_im=is_im, user=user,
            )
            self._cond.notify_all()

    def share(self, channel_id: str, **flags: bool) -> None:
        """Share a channel as Slack Connect or an org would (e.g.
        ``is_ext_shared=True``), or make it private again (``public=True``
        for the opposite: a private channel converted to public)."""
        with self._cond:
            ch = self._channels[channel_id]
            if "public" in flags:
                ch.is_private = not flags.pop("public")
            ch.sharing.update(flags)
            self._cond.notify_all()

    def set_members(self, channel_id: str, members: Iterable[str]) -> None:
        """Change who is in a channel (e.g. remove the bot from CDSL)."""
        with self._cond:
            self._channels[channel_id].members = list(members)
            self._cond.notify_all()

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "Europe/London",
        team_id: str = TEAM_ID,
    ) -> None:
        """Register a user for users.info (unknown U/W ids get a made-up one);
        ``team_id``: their home workspace (another's: an external member, as
        Slack Connect shows one)."""
        with self._lock:
            self._users[user_id] = self._make_user(user_id, name, real_name, is_bot, deleted, tz)
            self._users[user_id]["team_id"] = team_id
            self._users[user_id]["profile"]["team"] = team_id

    def add_message(
        self,
        channel: str,
        text: str = "",
        *,
        user: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
        ts: str | None = None,
    ) -> str:
        """Seed a message (e.g. a record posted before a crash). Posted by the
        bot unless ``user`` is given. Returns its ts."""
        with self._cond:
            ch = self._resolve_channel(channel, check_access=False)
            msg = self._new_message(text=text, blocks=blocks, metadata=metadata, ts=ts,
                                    user=user)
            ch.messages.append(msg)
            ch.messages.sort(key=lambda m: _ts_key(m["ts"]))
            self._cond.notify_all()
            return str(msg["ts"])

    def channel(self, channel_id: str) -> Channel:
        """A copy of a channel's state, messages included."""
        with self._lock:
            return copy.deepcopy(self._channels[channel_id])

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first, metadata included (copies)."""
        with self._lock:
            ch = self._channels.get(channel)
            return copy.deepcopy(ch.messages) if ch else []

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One stored message (a copy), or None."""
        with self._lock:
            ch = self._channels.get(channel)
            found = self._find_message(ch, ts) if ch else None
            return copy.deepcopy(found) if found else None

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The current state of a modal opened with views.open (a copy)."""
        with self._lock:
            v = self._views.get(view_id)
            return copy.deepcopy(v) if v else None

    def files(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Files uploaded and shared (oldest first, copies), each with its
        ``content`` bytes and the ``channels`` it was shared to."""
        with self._lock:
            return [copy.deepcopy(f) for f in self._files.values()
                    if f["channels"] and (channel is None or channel in f["channels"])]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home last published for a user (a copy), or None."""
        with self._lock:
            v = self._home_views.get(user_id)
            return copy.deepcopy(v) if v else None

    # -- recorded calls ----------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        """Calls received so far, oldest first, optionally for one method."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def last(self, method: str) -> Call:
        """The most recent call to ``method``; AssertionError if none."""
        found = self.calls(method)
        if not found:
            raise AssertionError(f"no {method} call was made; saw {self._summary()}")
        return found[-1]

    def clear(self) -> None:
        """Forget recorded calls (state and faults are kept)."""
        with self._cond:
            self._calls.clear()
            self._cond.notify_all()

    def wait_for(
        self,
        method: str | None = None,
        count: int = 1,
        timeout: float = 5.0,
        *,
        where: CallPredicate | None = None,
    ) -> list[Call]:
        """Block until at least ``count`` calls to ``method`` (any method if
        None) matching ``where`` have arrived; return them all.

        Waits on a condition the request handlers notify, so it returns as
        soon as the call lands. Raises :class:`WaitTimeout` otherwise.
        """

        def matching() -> list[Call]:
            return [
                c for c in self._calls
                if (method is None or c.method == method) and (where is None or where(c))
            ]

        with self._cond:
            if self._cond.wait_for(lambda: len(matching()) >= count, timeout):
                return matching()
            raise WaitTimeout(
                f"waited {timeout}s for {count} {method or 'any'} call(s), got "
                f"{len(matching())}; saw {self._summary()}"
            )

    def wait_until(self, predicate: Callable[[FakeSlack], bool], timeout: float = 5.0) -> None:
        """Block until ``predicate(fake)`` holds; re-checked on every call and
        state change. Raises :class:`WaitTimeout`."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self), timeout):
                raise WaitTimeout(f"condition not met within {timeout}s; saw {self._summary()}")

    def _summary(self) -> str:
        return ", ".join(
            c.method + ("" if c.ok else f"[{c.status} {c.response.get('error')}]")
            for c in self._calls
        ) or "no calls"

    # -- faults ------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float | None = None,
        effect: bool | None = None,
        times: int = 1,
    ) -> Fault:
        """Make the next ``times`` calls to ``method`` ("*" = any) fail.

        - ``status=500``: HTTP 500, ``{"ok": false, "error": "internal_error"}``.
        - ``status=429, retry_after=1`` (or just ``retry_after=1``): HTTP 429
          with ``Retry-After: 1`` and ``error: ratelimited``.
        - ``error="not_in_channel"``: HTTP 200 with ``ok: false``.
        - ``delay=2.0``: the response is held for 2 s (on an Event, released
          early by :meth:`release_delayed` or :meth:`stop`), so a client with a
          shorter timeout gives up. Combined with status/error, the error is
          sent after the delay.

        ``effect`` (default: True for a pure delay, else False) says whether
        the call still takes effect: ``delay=5`` alone is "Slack posted it but
        the response never arrived"; ``delay=5, effect=False`` is "it never
        got through" (answered 504 after the delay); ``status=500,
        effect=True`` is "posted, then answered 500".
        """
        return self._add_fault(method, status=status, error=error, retry_after=retry_after,
                               delay=delay, effect=effect, remaining=times, predicate=None)

    def fail_while(
        self,
        method: str,
        predicate_or_count: CallPredicate | int,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float | None = None,
        effect: bool | None = None,
    ) -> Fault:
        """Fail calls to ``method`` while a condition holds.

        An int fails that many calls. A predicate gets each incoming
        :class:`Call` and fails it when it returns True (e.g.
        ``lambda c: c.args.get("channel") == "CDSL"``, or
        ``lambda c: not healed.is_set()``); the rule stays until
        :meth:`clear_faults` or ``fault.remaining = 0``.
        """
        if isinstance(predicate_or_count, int):
            return self.fail_next(method, status=status, error=error, retry_after=retry_after,
                                  delay=delay, effect=effect, times=predicate_or_count)
        return self._add_fault(method, status=status, error=error, retry_after=retry_after,
                               delay=delay, effect=effect, remaining=None,
                               predicate=predicate_or_count)

    def clear_faults(self) -> None:
        """Remove every injected fault (held responses are not released)."""
        with self._lock:
            self._faults.clear()

    def release_delayed(self) -> None:
        """Send every response currently held by a ``delay`` fault now."""
        with self._lock:
            held, self._held = self._held, []
        for event in held:
            event.set()

    def _add_fault(
        self,
        method: str,
        *,
        status: int | None,
        error: str | None,
        retry_after: int | None,
        delay: float | None,
        effect: bool | None,
        remaining: int | None,
        predicate: CallPredicate | None,
    ) -> Fault:
        if status is None and error is None and delay is not None and effect is False:
            # Held, then dropped: the app, if still listening, gets a gateway timeout.
            status, error = 504, "request_timeout"
        if status is None:
            if retry_after is not None:
                status = 429
            elif error is not None or delay is not None:
                status = 200
            else:
                status = 500
        if status == 429 and retry_after is None:
            retry_after = 1
        if error is None and status != 200:
            error = "ratelimited" if status == 429 else (
                "internal_error" if status >= 500 else "invalid_request"
            )
        if effect is None:
            effect = status == 200 and error is None
        fault = Fault(method=method, status=status, error=error, retry_after=retry_after,
                      delay=delay, effect=effect, remaining=remaining, predicate=predicate)
        with self._lock:
            self._faults.append(fault)
        return fault

    def _take_fault(self, call: Call) -> Fault | None:
        for fault in self._faults:
            if fault.matches(call):
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    # -- request handling --------------------------------------------------
    def handle(
        self, method: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Answer one Web API call: (HTTP status, extra headers, JSON body).

        Fault selection, the call's effect and its recording happen under one
        lock, so a caller woken by :meth:`wait_for` sees the effect too.
        """
        token = args.pop("token", None)
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or token
        call = Call(method=method, args=_decode_json_args(args), headers=headers,
                    at=time.monotonic(), token=token)
        extra_headers: dict[str, str] = {}
        held: threading.Event | None = None
        delay = 0.0
        with self._cond:
            fault = self._take_fault(call)
            if fault is None or fault.effect:
                call.status, call.response = self._apply(call)
            if fault is not None:
                call.fault = fault.describe()
                if fault.status != 200 or fault.error is not None:
                    call.status = fault.status
                    call.response = {"ok": False, "error": fault.error}
                if fault.retry_after is not None:
                    extra_headers["Retry-After"] = str(fault.retry_after)
                if fault.delay is not None and not self._stopping:
                    held, delay = threading.Event(), fault.delay
                    self._held.append(held)
            self._calls.append(call)
            self._cond.notify_all()
        if held is not None:
            held.wait(delay)
            with self._lock:
                if held in self._held:
                    self._held.remove(held)
        return call.status, extra_headers, call.response

    def _apply(self, call: Call) -> tuple[int, dict[str, Any]]:
        handler = self._handlers.get(call.method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}
        # oauth.v2.access authenticates with the app's client id and secret.
        if not call.token and call.method not in (RESPONSE_URL, "oauth.v2.access"):
            return 200, {"ok": False, "error": "not_authed"}
        try:
            body = handler(call)
        except SlackError as e:
            return e.status, {"ok": False, "error": e.error}
        return 200, {"ok": True, **body}

    # -- helpers for handlers (lock held) ----------------------------------
    def _next_ts(self) -> str:
        us = max(int(self._clock() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:08d}"

    @staticmethod
    def _make_user(
        user_id: str, name: str | None, real_name: str | None, is_bot: bool, deleted: bool,
        tz: str,
    ) -> dict[str, Any]:
        name = name or f"user.{user_id.lower()}"
        real_name = real_name or name.replace(".", " ").title()
        profile: dict[str, Any] = {
            "real_name": real_name,
            "display_name": name,
            "real_name_normalized": real_name,
            "display_name_normalized": name,
            "team": TEAM_ID,
        }
        if is_bot:
            profile["bot_id"] = BOT_ID
        return {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "tz": tz,
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "updated": 1_700_000_000,
            "profile": profile,
        }

    def _resolve_channel(self, channel: Any, *, check_access: bool = True) -> Channel:
        """Find a channel by id; U/W ids and D<user> ids are IMs with that
        user. Without access (bot not a member) private channels look absent
        and public ones answer not_in_channel, as Slack does."""
        if not channel or not isinstance(channel, str):
            raise SlackError("channel_not_found")
        if channel[0] in "UW":
            channel = "D" + channel
        ch = self._channels.get(channel)
        if ch is None and channel.startswith("D") and len(channel) > 1:
            user = channel[1:]
            ch = Channel(id=channel, name=channel.lower(), is_private=True,
                         members=[BOT_USER_ID, user], is_im=True, user=user)
            self._channels[channel] = ch
        if ch is None:
            raise SlackError("channel_not_found")
        if check_access and BOT_USER_ID not in ch.members:
            raise SlackError("channel_not_found" if ch.is_private else "not_in_channel")
        return ch

    @staticmethod
    def _find_message(ch: Channel, ts: Any) -> dict[str, Any] | None:
        return next((m for m in ch.messages if m["ts"] == str(ts)), None)

    def _new_message(
        self,
        *,
        text: str,
        blocks: Any = None,
        metadata: Any = None,
        attachments: Any = None,
        thread_ts: Any = None,
        ts: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {"type": "message", "ts": ts or self._next_ts(), "text": text or ""}
        if user and user != BOT_USER_ID:
            msg.update(user=user, team=TEAM_ID)
        else:
            msg.update(user=BOT_USER_ID, bot_id=BOT_ID, app_id=APP_ID, team=TEAM_ID)
        if blocks is not None:
            msg["blocks"] = blocks
        if attachments is not None:
            msg["attachments"] = attachments
        if metadata is not None:
            msg["metadata"] = metadata
        if thread_ts:
            msg["thread_ts"] = str(thread_ts)
        return msg

    @staticmethod
    def _require_content(args: dict[str, Any]) -> None:
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise SlackError("no_text")
        for key in ("blocks", "attachments", "metadata"):
            if key in args and isinstance(args[key], str) and args[key]:
                raise SlackError(f"invalid_{key}")
        _check_limits(args)

    # -- Web API methods ---------------------------------------------------
    def grant(self, code: str, *, bot_token: str, team_id: str | None, team_name: str = "",
              enterprise_id: str | None = None, org_wide: bool = False,
              installer: str = "UADMIN") -> None:
        """Make ``code`` a valid OAuth code: oauth.v2.access exchanges it for
        ``bot_token``, installed in ``team_id`` (or org-wide in ``enterprise_id``)."""
        with self._cond:
            self._grants[code] = {
                "app_id": APP_ID, "authed_user": {"id": installer},
                "scope": "chat:write,commands", "token_type": "bot",
                "access_token": bot_token, "bot_user_id": BOT_USER_ID,
                "team": None if org_wide else {"id": team_id, "name": team_name},
                "enterprise": ({"id": enterprise_id, "name": f"{enterprise_id} org"}
                               if enterprise_id else None),
                "is_enterprise_install": org_wide,
            }

    def _oauth_v2_access(self, call: Call) -> dict[str, Any]:
        grant = self._grants.pop(str(call.args.get("code")), None)
        if grant is None:
            raise SlackError("invalid_code")
        return dict(grant)

    def _api_test(self, call: Call) -> dict[str, Any]:
        return {"args": {k: v for k, v in call.args.items() if isinstance(v, str)}}

    def _auth_test(self, call: Call) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": "jigsaw",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, call: Call) -> dict[str, Any]:
        if not (call.token or "").startswith("xapp-"):
            raise SlackError("not_allowed_token_type")
        return {"url": f"ws://{self._host}:{self.port}/link/?ticket={uuid.uuid4()}"}

    def _chat_post_message(self, call: Call) -> dict[str, Any]:
        args = call.args
        ch = self._resolve_channel(args.get("channel"))
        self._require_content(args)
        msg = self._new_message(text=args.get("text", ""), blocks=args.get("blocks"),
                                metadata=args.get("metadata"),
                                attachments=args.get("attachments"),
                                thread_ts=args.get("thread_ts"))
        ch.messages.append(msg)
        return {"channel": ch.id, "ts": msg["ts"], "message": copy.deepcopy(msg)}

    def _chat_update(self, call: Call) -> dict[str, Any]:
        args = call.args
        ch = self._resolve_channel(args.get("channel"))
        msg = self._find_message(ch, args.get("ts"))
        if msg is None:
            raise SlackError("message_not_found")
        if msg.get("bot_id") != BOT_ID:
            raise SlackError("cant_update_message")
        self._require_content({**msg, **args})
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in args:
                msg[key] = args[key]
        msg["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {"channel": ch.id, "ts": msg["ts"], "text": msg.get("text", ""),
                "message": copy.deepcopy(msg)}

    def _chat_post_ephemeral(self, call: Call) -> dict[str, Any]:
        args = call.args
        ch = self._resolve_channel(args.get("channel"))
        user = args.get("user")
        if not user:
            raise SlackError("user_not_found")
        if user not in ch.members:
            raise SlackError("user_not_in_channel")
        self._require_content(args)
        return {"message_ts": self._next_ts()}

    def _chat_get_permalink(self, call: Call) -> dict[str, Any]:
        args = call.args
        ch = self._resolve_channel(args.get("channel"))
        ts = str(args.get("message_ts", ""))
        if self._find_message(ch, ts) is None:
            raise SlackError("message_not_found")
        return {
            "channel": ch.id,
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{ch.id}/p{ts.replace('.', '')}",
        }

    def _conversations_info(self, call: Call) -> dict[str, Any]:
        ch = self._resolve_channel(call.args.get("channel"), check_access=False)
        if ch.is_private and BOT_USER_ID not in ch.members:
            raise SlackError("channel_not_found")
        info = ch.info()
        if not _flag(call.args.get("include_num_members")):
            info.pop("num_members", None)
        return {"channel": info}

    @staticmethod
    def _page(items: list[Any], args: dict[str, Any], default_limit: int) -> tuple[list[Any], str]:
        try:
            limit = int(args.get("limit") or default_limit)
            start = int(str(args.get("cursor") or "0").removeprefix("next:"))
        except ValueError as e:
            raise SlackError("invalid_cursor") from e
        limit = max(1, min(limit, 1000))
        page = items[start:start + limit]
        cursor = f"next:{start + limit}" if start + limit < len(items) else ""
        return page, cursor

    def _conversations_members(self, call: Call) -> dict[str, Any]:
        ch = self._resolve_channel(call.args.get("channel"), check_access=False)
        if ch.is_private and BOT_USER_ID not in ch.members:
            raise SlackError("channel_not_found")
        page, cursor = self._page(list(ch.members), call.args, 100)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _conversations_open(self, call: Call) -> dict[str, Any]:
        args = call.args
        users = args.get("users")
        if isinstance(users, str):
            users = [u.strip() for u in users.split(",") if u.strip()]
        if args.get("channel"):
            ch = self._resolve_channel(args["channel"])
            already = True
        elif users and len(users) == 1:
            already = "D" + users[0] in self._channels
            ch = self._resolve_channel("D" + users[0])
        elif users:
            cid = "G" + "".join(sorted(users))
            already = cid in self._channels
            if not already:
                self._channels[cid] = Channel(id=cid, name="mpdm-" + "--".join(sorted(users)),
                                              is_private=True, members=[BOT_USER_ID, *users])
            ch = self._channels[cid]
        else:
            raise SlackError("users_list_not_supplied")
        body: dict[str, Any] = {"channel": ch.info() if _flag(args.get("return_im")) else
                                {"id": ch.id}}
        if already:
            body["already_open"] = True
            body["no_op"] = True
        return body

    def _conversations_history(self, call: Call) -> dict[str, Any]:
        args = call.args
        ch = self._resolve_channel(args.get("channel"))
        oldest = _ts_key(args.get("oldest") or "0")
        latest = _ts_key(args["latest"]) if args.get("latest") else None
        inclusive = _flag(args.get("inclusive"))
        with_meta = _flag(args.get("include_all_metadata"))
        selected = []
        for msg in reversed(ch.messages):
            key = _ts_key(msg["ts"])
            if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
                continue  # replies live in conversations.replies
            if key < oldest or (key == oldest and not inclusive):
                continue
            if latest is not None and (key > latest or (key == latest and not inclusive)):
                continue
            out = copy.deepcopy(msg)
            if not with_meta:
                out.pop("metadata", None)
            selected.append(out)
        page, cursor = self._page(selected, args, 100)
        return {
            "messages": page,
            "has_more": bool(cursor),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    def _stored_view(
        self, view: Any, *, view_id: str, user_id: str | None = None
    ) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise SlackError("invalid_arguments")
        stored = copy.deepcopy(view)
        stored.update(
            id=view_id,
            team_id=TEAM_ID,
            app_id=APP_ID,
            bot_id=BOT_ID,
            app_installed_team_id=TEAM_ID,
            hash=f"{int(self._clock())}.{uuid.uuid4().hex[:8]}",
            state={"values": {}},
            root_view_id=view_id,
            previous_view_id=None,
        )
        stored.setdefault("private_metadata", "")
        stored.setdefault("callback_id", "")
        stored.setdefault("external_id", "")
        stored.setdefault("blocks", [])
        stored.setdefault("clear_on_close", False)
        stored.setdefault("notify_on_close", False)
        if user_id:
            stored["user_id"] = user_id
        return stored

    def _views_open(self, call: Call) -> dict[str, Any]:
        trigger = call.args.get("trigger_id") or call.args.get("interactivity_pointer")
        if not trigger:
            raise SlackError("invalid_arguments")
        if trigger in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        view = call.args.get("view")
        if isinstance(view, dict) and view.get("type") != "modal":
            raise SlackError("invalid_arguments")
        stored = self._stored_view(view, view_id=self._next_id("V"))
        self._used_triggers.add(str(trigger))
        self._views[stored["id"]] = stored
        return {"view": copy.deepcopy(stored)}

    def _views_update(self, call: Call) -> dict[str, Any]:
        args = call.args
        current: dict[str, Any] | None = None
        if args.get("view_id"):
            current = self._views.get(args["view_id"])
        elif args.get("external_id"):
            current = next((v for v in self._views.values()
                            if v.get("external_id") == args["external_id"]), None)
        else:
            raise SlackError("invalid_arguments")
        if current is None:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        stored = self._stored_view(args.get("view"), view_id=current["id"])
        stored["previous_view_id"] = current.get("previous_view_id")
        self._views[current["id"]] = stored
        return {"view": copy.deepcopy(stored)}

    def _views_publish(self, call: Call) -> dict[str, Any]:
        args = call.args
        user = args.get("user_id")
        if not user:
            raise SlackError("invalid_arguments")
        view = args.get("view")
        if isinstance(view, dict) and view.get("type") != "home":
            raise SlackError("invalid_arguments")
        current = self._home_views.get(user)
        if current and args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view_id = current["id"] if current else self._next_id("VH")
        stored = self._stored_view(view, view_id=view_id, user_id=user)
        self._home_views[user] = stored
        return {"view": copy.deepcopy(stored)}

    def _response_url_post(self, call: Call) -> dict[str, Any]:
        if not (call.args.get("text") or call.args.get("blocks")
                or call.args.get("delete_original")):
            raise SlackError("no_text", status=400)
        return {}

    def _users_info(self, call: Call) -> dict[str, Any]:
        uid = call.args.get("user")
        if not isinstance(uid, str) or not uid or uid[0] not in "UW":
            raise SlackError("user_not_found")
        if uid not in self._users:
            self._users[uid] = self._make_user(uid, None, None, False, False, "Europe/London")
        user = copy.deepcopy(self._users[uid])
        if _flag(call.args.get("include_locale")):
            user["locale"] = "en-GB"
        return {"user": user}

    def _files_get_upload_url_external(self, call: Call) -> dict[str, Any]:
        """Step 1 of files_upload_v2: a URL to send the bytes to."""
        args = call.args
        try:
            length = int(args.get("length") or 0)
        except ValueError as e:
            raise SlackError("invalid_arguments") from e
        if not args.get("filename") or length <= 0:
            raise SlackError("invalid_arguments")
        file_id = self._next_id("F")
        self._files[file_id] = {"id": file_id, "name": str(args["filename"]), "title": "",
                                "length": length, "content": None, "channels": [],
                                "thread_ts": None}
        return {"upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def receive_upload(self, file_id: str, content: bytes) -> tuple[int, str]:
        """Step 2: the bytes, POSTed to the upload URL."""
        with self._cond:
            found = self._files.get(file_id)
            if found is None:
                return 404, "file not found"
            found["content"] = content
            self._cond.notify_all()
        return 200, f"OK - {len(content)}"

    def _files_complete_upload_external(self, call: Call) -> dict[str, Any]:
        """Step 3: share the uploaded files to a channel (a message with them)."""
        args = call.args
        try:
            wanted = json.loads(args.get("files") or "[]")
        except ValueError as e:
            raise SlackError("invalid_arguments") from e
        if not isinstance(wanted, list) or not wanted:
            raise SlackError("invalid_arguments")
        shared = []
        for item in wanted:
            found = self._files.get(str(item.get("id"))) if isinstance(item, dict) else None
            if found is None or found["content"] is None:
                raise SlackError("file_not_found")
            if len(found["content"]) != found["length"]:
                raise SlackError("file_upload_size_mismatch")
            shared.append((found, item.get("title") or found["name"]))
        channel = args.get("channel_id")
        ch = self._resolve_channel(channel) if channel else None
        files = []
        for found, title in shared:
            found["title"] = title
            if ch is not None:
                found["channels"].append(ch.id)
                found["thread_ts"] = args.get("thread_ts")
            files.append({"id": found["id"], "name": found["name"], "title": title})
        if ch is not None:
            msg = self._new_message(text=args.get("initial_comment") or "",
                                    thread_ts=args.get("thread_ts"))
            msg["files"] = files
            ch.messages.append(msg)
        return {"files": files}

    # -- standalone control endpoints --------------------------------------
    def control(self, action: str, query: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Handle ``/_fake/<action>`` for a fake running in another process."""
        if action == "calls":
            method = query.get("method")
            return {"calls": [c.to_dict() for c in self.calls(method)]}
        if action == "stats":
            counts: dict[str, int] = {}
            for c in self.calls():
                counts[c.method] = counts.get(c.method, 0) + 1
            return {"counts": counts, "total": sum(counts.values())}
        if action == "clear":
            self.clear()
            return {}
        if action == "reset":
            self.reset()
            return {}
        if action == "clear_faults":
            self.clear_faults()
            return {}
        if action == "fault":
            self.fail_next(
                str(body["method"]),
                status=body.get("status"),
                error=body.get("error"),
                retry_after=body.get("retry_after"),
                delay=body.get("delay"),
                effect=body.get("effect"),
                times=int(body.get("times", 1)),
            )
            return {}
        raise SlackError("unknown_control", status=404)


class _Server(ThreadingHTTPServer):
    """Threaded, with a listen backlog deep enough for load tests (the
    default of 5 makes bursts of connections wait for SYN retries)."""

    daemon_threads = True
    request_queue_size = 256


class _Handler(BaseHTTPRequestHandler):
    """Routes ``/api/<method>`` to the fake; GET and POST both work."""

    server_version = "FakeSlack/1.0"

    @property
    def fake(self) -> FakeSlack:
        return self.server.fake  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        if self.fake._verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path.startswith("/upload/v1/"):  # raw file bytes, whatever the type says
            status, text = self.fake.receive_upload(parts.path.removeprefix("/upload/v1/"), raw)
            self._send(status, {}, text, "text/plain")
            return
        try:
            body = parse_body(self.headers.get("Content-Type", ""), raw)
        except (ValueError, UnicodeDecodeError):
            self._send(200, {}, {"ok": False, "error": "invalid_json"})
            return
        path = parts.path
        if path.startswith("/_fake/"):
            try:
                result = self.fake.control(path.removeprefix("/_fake/"), query, body)
            except SlackError as e:
                self._send(e.status, {}, {"ok": False, "error": e.error})
                return
            self._send(200, {}, {"ok": True, **result})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        if path.startswith("/hooks/"):
            # A response_url: Slack answers plain "ok" or an error word.
            status, extra, payload = self.fake.handle(
                RESPONSE_URL, {**query, **body, "_path": path}, headers
            )
            text = "ok" if payload.get("ok") else str(payload.get("error"))
            self._send(status, extra, text, "text/html")
            return
        method = path.removeprefix("/api/").strip("/")
        status, extra, payload = self.fake.handle(method, {**query, **body}, headers)
        self._send(status, extra, payload)

    def _send(
        self,
        status: int,
        headers: dict[str, str],
        payload: dict[str, Any] | str,
        content_type: str = "application/json",
    ) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, default=_jsonable)
        data = text.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. it timed out on a delayed call)


def _jsonable(value: Any) -> Any:
    """Uploaded file contents in recorded args, for the control endpoint."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return repr(value)


def iter_calls(calls: Iterable[Call], **args: Any) -> Iterator[Call]:
    """Calls whose args contain all the given key/values, e.g.
    ``iter_calls(fake.calls("chat.postMessage"), channel="CDSL")``."""
    for call in calls:
        if all(call.args.get(k) == v for k, v in args.items()):
            yield call


def main(argv: list[str] | None = None) -> int:
    """Serve a fake until SIGINT/SIGTERM, printing its base URL first so a
    parent process can read it from stdout."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.fakeslack",
                                     description="A local fake of the Slack Web API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    opts = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    with FakeSlack(opts.host, opts.port, verbose=opts.verbose) as fake:
        print(fake.base_url, flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
