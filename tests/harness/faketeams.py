"""A fake of what the Teams bot talks to, on loopback: the Bot Connector
(posts, updates, members), the token service, the OpenID metadata and
signing keys the bot checks inbound tokens against, and the one Microsoft
Graph call the outbox uses (a channel's recent posts).

The bot replies to the ``serviceUrl`` of each activity, which the tests set
to this server, so every post, update and proactive message lands here.
It also signs the tokens a test sends the bot, as the Bot Framework would,
and can forge, expire or misaddress them.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"
WAIT = 10.0
OUTBOUND_SECRET = "fake-outbound-signing-secret-0123456789"


class WaitTimeout(AssertionError):
    pass


@dataclass
class Fault:
    status: int
    retry_after: float | None = None
    after_post: bool = False  # the post is made, then the answer is lost


@dataclass
class Post:
    conversation: str
    id: str
    activity: dict[str, Any]
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def card(self) -> dict[str, Any]:
        """The card as it stands now (after any updates)."""
        latest = self.updates[-1] if self.updates else self.activity
        for attachment in latest.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return dict(attachment["content"])
        return {}

    @property
    def text(self) -> str:
        """Everything shown: the card's text and text runs, or the message text."""
        latest = self.updates[-1] if self.updates else self.activity
        return latest.get("text") or "\n".join(card_texts(self.card))


def card_texts(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") in ("TextBlock", "TextRun") and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found += card_texts(value)
    elif isinstance(node, list):
        for item in node:
            found += card_texts(item)
    return found


def card_actions(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "Action.Execute":
            found.append(node)
        for value in node.values():
            found += card_actions(value)
    elif isinstance(node, list):
        for item in node:
            found += card_actions(item)
    return found


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeTeams:
    def __init__(self, *, app_id: str = "jigsaw-app-id", secret: str = "jigsaw-secret",
                 tenant: str = "school-tenant") -> None:
        self.app_id = app_id
        self.secret = secret
        self.tenant = tenant
        self.key = new_key()
        self.kid = "fake-key-1"
        self.lock = threading.Condition()
        self.posts: list[Post] = []
        self.members: dict[str, list[dict[str, Any]]] = {}
        # Graph: each channel's membershipType, and the team's visibility. A
        # channel not listed here is not there (HTTP 404), unless none is.
        self.channels: dict[str, str] = {}
        self.team_visibility = "private"
        self.chats_opened: list[dict[str, Any]] = []
        self.faults: deque[Fault] = deque()
        self.fault_on: str | None = None  # only posts to this conversation fail
        self.member_faults: deque[int] = deque()
        self.graph_faults: deque[int] = deque()
        self.issued: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.refused: list[tuple[str, str]] = []
        # A person's OneDrive upload sessions (a file consent's ``uploadUrl``):
        # what was put there, by session name, with its request headers.
        self.uploads: dict[str, tuple[dict[str, str], bytes]] = {}
        # Channel messages people posted (as Graph lists them), newest first.
        self.people_posts: dict[str, list[dict[str, Any]]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeTeams:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- tokens a test sends the bot ---------------------------------------------
    def token(self, *, audience: str | list[str] | None = None, issuer: str = ISSUER,
              expires_in: float = 3600, key: rsa.RSAPrivateKey | None = None,
              service_url: str | None = None, kid: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience or self.app_id, "iat": now - 10,
                  "nbf": now - 10, "exp": int(now + expires_in),
                  "serviceurl": service_url or self.base_url}
        return jwt.encode(claims, key or self.key, algorithm="RS256",
                          headers={"kid": kid or self.kid})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256",
                          "endorsements": ["msteams"]}]}

    # -- faults ---------------------------------------------------------------------
    def fail_posts(self, *faults: Fault, conversation: str | None = None) -> None:
        with self.lock:
            self.faults.extend(faults)
            self.fault_on = conversation

    # -- what the bot did ---------------------------------------------------------------
    def upload_url(self, name: str) -> str:
        """An upload session, as Teams hands one over when a file is allowed."""
        return f"{self.base_url}/upload/{name}"

    def posts_to(self, conversation: str) -> list[Post]:
        with self.lock:
            return [p for p in self.posts if p.conversation == conversation]

    def wait_for(self, predicate: Any, timeout: float = WAIT, what: str = "") -> Any:
        with self.lock:
            result = self.lock.wait_for(predicate, timeout)
        if not result:
            raise WaitTimeout(f"timed out waiting for {what or predicate}")
        return result

    # -- the server side -----------------------------------------------------------------
    def _authorised(self, header: str) -> bool:
        return header.startswith("Bearer ") and header[7:] in self.issued

    def _issue(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != self.app_id or form.get("client_secret") != self.secret:
            return 401, {"error": "invalid_client"}
        now = int(time.time())
        token = jwt.encode({"aud": form.get("scope", ""), "iat": now, "exp": now + 3600,
                            "jti": uuid.uuid4().hex}, OUTBOUND_SECRET, algorithm="HS256")
        self.issued.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def _post(self, conversation: str, activity: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            fault = None
            if self.faults and (self.fault_on is None or self.fault_on == conversation):
                fault = self.faults.popleft()
            if fault is not None and not fault.after_post:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                return fault.status, {"error": {"code": "ServiceError"}}, headers
            post = Post(conversation, f"act-{len(self.posts) + 1}", activity)
            self.posts.append(post)
            self.lock.notify_all()
            if fault is not None:
                return fault.status, {"error": {"code": "ServiceError"}}, {}
            return 201, {"id": post.id}, {}

    def _update(self, conversation: str, activity_id: str, activity: dict[str, Any]
                ) -> tuple[int, Any]:
        with self.lock:
            for post in self.posts:
                if post.conversation == conversation and post.id == activity_id:
                    post.updates.append(activity)
                    self.lock.notify_all()
                    return 200, {"id": activity_id}
        return 404, {"error": {"code": "NotFound"}}

    def _members(self, conversation: str) -> tuple[int, Any]:
        with self.lock:
            if self.member_faults:
                return self.member_faults.popleft(), {"error": {"code": "ServiceError"}}
            return 200, self.members.get(conversation, [])

    def _channel(self, channel: str) -> tuple[int, Any]:
        with self.lock:
            if self.graph_faults:
                return self.graph_faults.popleft(), {"error": {"code": "ServiceError"}}
            if self.channels and channel not in self.channels:
                return 404, {"error": {"code": "NotFound"}}
            return 200, {"id": channel, "membershipType": self.channels.get(channel, "private")}

    def _open_chat(self, params: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            [member] = params.get("members") or [{}]
            self.chats_opened.append(params)
            user = str(member.get("id", "")).removeprefix("29:")
        return 201, {"id": f"a:personal-chat-{user[-4:]}"}

    def _channel_messages(self, channel: str) -> tuple[int, Any]:
        with self.lock:
            if self.graph_faults:
                return self.graph_faults.popleft(), {"error": {"code": "ServiceError"}}
            value = [{"id": p.id, "from": {"application": {"id": self.app_id}, "user": None},
                      "attachments": [
                {"contentType": a.get("contentType"), "content": json.dumps(a.get("content"))}
                for a in (p.updates[-1] if p.updates else p.activity).get("attachments") or []]}
                for p in reversed(self.posts) if p.conversation == channel]
            value = [*self.people_posts.get(channel, []), *value]
        return 200, {"value": value}


def _is(parts: list[str], length: int, what: str) -> bool:
    """``/v3/conversations/{id}/{what}[/{id}]``."""
    return len(parts) == length and parts[:2] == ["v3", "conversations"] and parts[3] == what


def _handler(fake: FakeTeams) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _parts(self) -> list[str]:
            return [unquote(p) for p in urlparse(self.path).path.strip("/").split("/")]

        def _guard(self) -> bool:
            fake.calls.append((self.command, urlparse(self.path).path))
            if fake._authorised(self.headers.get("Authorization", "")):
                return True
            fake.refused.append((self.command, self.path))
            self._send(401, {"error": "unauthorized"})
            return False

        def do_GET(self) -> None:  # noqa: N802
            parts = self._parts()
            if parts == ["v1", ".well-known", "openidconfiguration"]:
                self._send(200, {"issuer": ISSUER,
                                 "jwks_uri": f"{fake.base_url}/v1/.well-known/keys",
                                 "id_token_signing_alg_values_supported": ["RS256"]})
            elif parts == ["v1", ".well-known", "keys"]:
                self._send(200, fake.jwks())
            elif _is(parts, 4, "members"):
                if self._guard():
                    self._send(*fake._members(parts[2]))
            elif parts[:3] == ["graph", "v1.0", "teams"] and parts[-1] == "messages":
                if self._guard():
                    self._send(*fake._channel_messages(parts[5]))
            elif parts[:3] == ["graph", "v1.0", "teams"] and len(parts) == 6:
                if self._guard():
                    self._send(*fake._channel(parts[5]))
            elif parts[:3] == ["graph", "v1.0", "teams"] and len(parts) == 4:
                if self._guard():
                    self._send(200, {"id": parts[3], "visibility": fake.team_visibility})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            parts = self._parts()
            raw = self._body()
            if parts[-3:] == ["oauth2", "v2.0", "token"]:
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                self._send(*fake._issue(form))
            elif _is(parts, 4, "activities"):
                if self._guard():
                    self._send(*fake._post(parts[2], json.loads(raw)))
            elif parts == ["v3", "conversations"]:
                if self._guard():
                    self._send(*fake._open_chat(json.loads(raw)))
            else:
                self._send(404, {"error": "not found"})

        def do_PUT(self) -> None:  # noqa: N802
            parts = self._parts()
            raw = self._body()
            if len(parts) == 2 and parts[0] == "upload":
                # The URL is the permission (as OneDrive's is): no token.
                with fake.lock:
                    fake.uploads[parts[1]] = (dict(self.headers), raw)
                    fake.lock.notify_all()
                self._send(201, {"id": parts[1], "name": parts[1], "size": len(raw)})
            elif _is(parts, 5, "activities"):
                if self._guard():
                    self._send(*fake._update(parts[2], parts[4], json.loads(raw)))
            else:
                self._send(404, {"error": "not found"})

    return Handler
