"""What reaches ``/api/messages`` before the SDK: a bounded body that is a
JSON activity, a token addressed to this app alone, and only Teams itself
(channel ``msteams``) from the school's own tenant.

The SDK still checks the token's signature, issuer, expiry and service URL;
this adds what it leaves open: it reads any body whole (and answers 500 for
one it cannot parse), accepts a token whose audience is a list naming the
app among others, and serves Direct Line, Web Chat or the Emulator, and
activities naming another tenant in ``channelData`` only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import jwt

log = logging.getLogger("jigsaw.http")

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# An activity is a few kilobytes; Teams' own limit on a message is about 28 KB.
MAX_BODY = 256 * 1024
CHANNEL = "msteams"


class Gate:
    """ASGI wrapper for ``path`` (see module docstring); other paths pass."""

    def __init__(self, app: Any, *, path: str, app_id: str, tenant_id: str,
                 max_body: int = MAX_BODY) -> None:
        self.app = app
        self.path = path
        self.app_id = app_id
        self.tenant_id = tenant_id
        self.max_body = max_body

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers") or []}
        length = headers.get("content-length", "")
        if length and (not length.isdigit() or int(length) > self.max_body):
            await _answer(send, 413, "the body is too large")
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > self.max_body:
                await _answer(send, 413, "the body is too large")
                return
        body = as_sdk_reads(body)
        refused = self.refusal(body, headers.get("authorization", ""))
        if refused is not None:
            status, why = refused
            await _answer(send, status, why if status != 200 else "")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def refusal(self, body: bytes, authorization: str) -> tuple[int, str] | None:
        """(status, reason) for a request not to serve; None to serve it.
        A 200 is an activity ignored, as the SDK's own listeners would."""
        try:
            activity = json.loads(body)
        except (ValueError, RecursionError):
            return 400, "the body is not JSON"
        if not isinstance(activity, dict) or not isinstance(activity.get("type"), str):
            return 400, "the body is not an activity"
        if not _valid(activity):
            return 400, "the body is not an activity"
        if not _plain_ids(activity):
            return 400, "the activity's ids are not ids"
        if authorization.startswith("Bearer ") and self.app_id:
            try:
                claims = jwt.decode(authorization.removeprefix("Bearer "),
                                    options={"verify_signature": False})
            except jwt.PyJWTError:
                claims = None  # the SDK refuses it, with its own reason
            if claims is not None and claims.get("aud") != self.app_id:
                log.warning("activity refused: the token is not for this app alone")
                return 401, "Unauthorized"
        if activity.get("channelId") != CHANNEL:
            log.warning("activity ignored: not from Teams",
                        extra={"action": str(activity.get("type"))[:40]})
            return 200, ""
        if self.tenant_id and _tenants(activity) != {self.tenant_id}:
            log.warning("activity ignored: another tenant",
                        extra={"action": str(activity.get("type"))[:40]})
            return 200, ""
        return None


def as_sdk_reads(body: bytes) -> bytes:
    """The body, with what the SDK cannot read yet made readable: a card's
    automatic ``refresh`` (``value.trigger`` "automatic", sent as Teams
    shows a user-specific view, see
    https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/
    universal-actions-for-adaptive-cards/user-specific-views) loses its
    trigger, which the SDK's model (microsoft-teams-api 2.1) allows only as
    "manual". Jigsaw tells a refresh by its verb, not its trigger."""
    try:
        activity = json.loads(body)
    except (ValueError, RecursionError):
        return body
    if not isinstance(activity, dict):
        return body
    value = activity.get("value")
    if (activity.get("type") != "invoke" or activity.get("name") != "adaptiveCard/action"
            or not isinstance(value, dict) or value.get("trigger") != "automatic"):
        return body
    del value["trigger"]
    return json.dumps(activity).encode()


def _tenants(activity: dict[str, Any]) -> set[Any]:
    """Every tenant the activity names (a missing one counts as None)."""
    conversation = activity.get("conversation")
    data = activity.get("channelData")
    tenant = data.get("tenant") if isinstance(data, dict) else None
    return {conversation.get("tenantId") if isinstance(conversation, dict) else None,
            tenant.get("id") if isinstance(tenant, dict) else None}


# Where an activity names who and where: Bot Framework ids are short tokens
# ("29:1a2b…", "a:1…", "19:…@thread.tacv2;messageid=…", GUIDs). The cap is
# ours, well above any id Teams sends (none seen over 200 characters).
ID_FIELDS = (("id",), ("replyToId",), ("from", "id"), ("from", "aadObjectId"),
             ("recipient", "id"), ("conversation", "id"), ("conversation", "tenantId"),
             ("channelData", "tenant", "id"))
MAX_ID = 512
NOT_IN_IDS = frozenset("'\"`\\<>")


def _plain_ids(activity: dict[str, Any]) -> bool:
    """Every id present is a short string of printable characters, with no
    quotes, brackets or spaces: anything else is not from Teams, and is
    never looked up, stored or logged."""
    for path in ID_FIELDS:
        node: Any = activity
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            continue
        if (not isinstance(node, str) or len(node) > MAX_ID
                or any(c in NOT_IN_IDS or not c.isprintable() or c.isspace() for c in node)):
            return False
    return True


def _valid(activity: dict[str, Any]) -> bool:
    """The SDK's own models take it, as it reads it (else it answers 500)."""
    from microsoft_teams.api import ActivityTypeAdapter
    from microsoft_teams.apps.events import CoreActivity
    from pydantic import ValidationError

    try:
        core = CoreActivity.model_validate(activity)
        ActivityTypeAdapter.validate_python(core.model_dump(by_alias=True, exclude_none=True))
    except (ValidationError, ValueError, TypeError, RecursionError):
        return False
    return True


async def _answer(send: Send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode() if error else b""
    headers = [(b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
