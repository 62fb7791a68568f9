"""The Bot Connector (and, for one look-up, Microsoft Graph) as plain calls.

Jigsaw's front end and outbox run in worker threads and use the synchronous
store; the Teams SDK's API client is asynchronous and lives on the server's
event loop. Each call here runs the SDK's coroutine on that loop and waits
for it, so the SDK's own client (its token handling, its URLs) is what talks
to Microsoft. The SDK's client does not retry by itself: the outbox does its
own, checked, retries.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
from microsoft_teams.api.activities.message.message import MessageActivityInput
from microsoft_teams.api.clients.conversation.params import CreateConversationParams
from microsoft_teams.api.models import Account, Attachment
from microsoft_teams.apps import App
from microsoft_teams.cards import AdaptiveCard

log = logging.getLogger("jigsaw.teams")
TIMEOUT = 10.0
GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class ConnectorError(RuntimeError):
    """Teams refused or never answered. ``status`` is None when there was no
    answer (so a post may or may not have happened)."""

    def __init__(self, status: int | None, retry_after: float | None = None,
                 error: str = "") -> None:
        super().__init__(error or f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Member:
    """A member of a conversation: the id Teams addresses them by in a
    conversation (``29:…``), their display name, and their role (``user``
    or ``guest``)."""

    id: str
    name: str
    role: str = ""


class Connector:
    def __init__(self, app: App, *, service_url: str, graph_url: str = GRAPH_URL,
                 tenant_id: str = "", timeout: float = TIMEOUT) -> None:
        self.app = app
        self.service_url = service_url.rstrip("/")
        self.graph_url = graph_url.rstrip("/")
        self.tenant_id = tenant_id or None
        self.timeout = timeout
        self.loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the SDK's client runs on (the server's)."""
        self.loop = loop

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        if self.loop is None:
            coro.close()
            raise ConnectorError(None, error="not started")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(self.timeout)
        except TimeoutError as exc:
            future.cancel()
            raise ConnectorError(None, error="timeout") from exc
        except httpx.HTTPStatusError as exc:
            raise _refused(exc.response) from exc
        except (httpx.TransportError, OSError) as exc:
            raise ConnectorError(None, error=type(exc).__name__) from exc

    # -- messages ------------------------------------------------------------
    def post(self, conversation_id: str, card: AdaptiveCard, *, summary: str,
             service_url: str | None = None, images: tuple[tuple[str, bytes], ...] = ()
             ) -> str:
        """Post a card (and any ``images``, inline, after it); the new
        activity's id. ``summary`` is what a notification shows: never a
        child's details."""
        # ``summary`` is sent as given (the model keeps extra fields) and is
        # what a notification shows.
        activity = MessageActivityInput(summary=summary).add_card(card)  # type: ignore[call-arg]
        for name, content in images:
            activity.add_attachments(Attachment(
                content_type="image/png", name=name,
                content_url="data:image/png;base64," + base64.b64encode(content).decode()))
        sent = self._run(self.app.api.conversations.create_activity(
            conversation_id, activity, service_url=service_url or self.service_url))
        return str(sent.id)

    def post_file(self, conversation_id: str, attachment: Attachment, *, summary: str,
                  service_url: str | None = None) -> str:
        """Post one file attachment (a file consent card, or the file once
        uploaded) to a personal chat; the new activity's id."""
        activity = MessageActivityInput(summary=summary)  # type: ignore[call-arg]
        activity.add_attachments(attachment)
        sent = self._run(self.app.api.conversations.create_activity(
            conversation_id, activity, service_url=service_url or self.service_url))
        return str(sent.id)

    def upload(self, upload_url: str, content: bytes) -> None:
        """Put a file's bytes at the upload session Teams gave when the
        person accepted it (their OneDrive: the URL itself is the
        permission, so no token goes with it). Only over HTTPS, or to the
        configured connector's own host (a local test connector)."""
        url = httpx.URL(upload_url)
        local = httpx.URL(self.service_url)
        if url.scheme != "https" and (url.scheme, url.host, url.port) != (
                local.scheme, local.host, local.port):
            raise ConnectorError(None, error="refused: an upload URL that is not HTTPS")
        self._run(self._upload(upload_url, content))

    async def _upload(self, upload_url: str, content: bytes) -> None:
        size = len(content)
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.put(upload_url, content=content, headers={
                "Content-Length": str(size), "Content-Range": f"bytes 0-{size - 1}/{size}"})
            response.raise_for_status()

    def say(self, conversation_id: str, text: str, *, service_url: str | None = None) -> str:
        activity = MessageActivityInput(text=text, text_format="plain")
        sent = self._run(self.app.api.conversations.create_activity(
            conversation_id, activity, service_url=service_url or self.service_url))
        return str(sent.id)

    def update(self, conversation_id: str, activity_id: str, card: AdaptiveCard, *,
               summary: str, service_url: str | None = None) -> None:
        # ``summary`` is sent as given (the model keeps extra fields) and is
        # what a notification shows.
        activity = MessageActivityInput(summary=summary).add_card(card)  # type: ignore[call-arg]
        self._run(self.app.api.conversations.update_activity(
            conversation_id, activity_id, activity,
            service_url=service_url or self.service_url))

    def members(self, conversation_id: str) -> set[str]:
        """Entra object ids of a conversation's members (a channel's: its team's
        or, for a private channel, its own) of the school's own tenant: a
        shared channel's external members name their own tenant and never
        count."""
        return set(self.roster(conversation_id))

    def roster(self, conversation_id: str) -> dict[str, Member]:
        """A conversation's members of the school's own tenant, by Entra object id."""
        found = self._run(self.app.api.conversations.get_members(conversation_id))
        return {m.aad_object_id: Member(m.id, m.name or "", str(getattr(m, "user_role", "")
                                                                or ""))
                for m in found if m.aad_object_id and (
                    self.tenant_id is None or (m.tenant_id or self.tenant_id) == self.tenant_id)}

    def open_chat(self, member_id: str) -> str:
        """The bot's personal chat with a member (``29:…`` id), opened if need
        be; Teams allows it where the app is installed for that person."""
        # ``isGroup`` and ``bot`` are kept as given (the model keeps extra fields).
        params = CreateConversationParams.model_validate({
            "members": [Account(id=member_id)], "tenantId": self.tenant_id,
            "isGroup": False, "bot": {"id": self.app.id or ""}})
        made = self._run(self.app.api.conversations.create(params))
        return str(made.id)

    # -- Graph: what the DSL channel is ----------------------------------------
    def channel_problem(self, team_id: str, channel_id: str) -> str | None:
        """Why the DSL channel is not safe for records, or None. Raises
        ConnectorError when Microsoft cannot be asked (or the channel is not
        there: HTTP 404)."""
        return self._run(self._channel_problem(team_id, channel_id))  # type: ignore[no-any-return]

    async def _channel_problem(self, team_id: str, channel_id: str) -> str | None:
        token = await self.app.token_provider.get_app_token(GRAPH_SCOPE, self.tenant_id)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.get(
                f"{self.graph_url}/teams/{team_id}/channels/{channel_id}", headers=headers)
            response.raise_for_status()
            kind = str(response.json().get("membershipType") or "standard")
            if kind == "shared":
                return "it is a shared channel (people outside the team, or the school, " \
                       "can be in it)"
            if kind == "private":
                return None
            # A standard channel is open to its whole team: the team itself
            # must be private (a public team can be joined by anyone).
            response = await client.get(f"{self.graph_url}/teams/{team_id}", headers=headers)
            response.raise_for_status()
            if str(response.json().get("visibility") or "").lower() != "private":
                return "it is a standard channel of a public team (anyone in the school " \
                       "can join the team and read it)"
        return None

    # -- Graph: the channel's recent posts -------------------------------------
    def channel_posts(self, team_id: str, channel_id: str, *, only_own: bool = False
                      ) -> list[tuple[str, str]]:
        """(message id, card content) of the channel's recent top-level
        posts, newest first (Graph, with the ``ChannelMessage.Read.Group``
        permission the app package asks for); ``only_own``: only those this
        app posted itself (Graph's ``from.application.id``)."""
        return list(self._run(self._channel_posts(team_id, channel_id,
                                                  self.app.id if only_own else None)))

    async def _channel_posts(self, team_id: str, channel_id: str, sender: str | None
                             ) -> list[tuple[str, str]]:
        token = await self.app.token_provider.get_app_token(GRAPH_SCOPE, self.tenant_id)
        url: str | None = f"{self.graph_url}/teams/{team_id}/channels/{channel_id}/messages?$top=50"
        contents: list[tuple[str, str]] = []
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for _ in range(4):  # recent posts are enough: a retry is minutes late
                if url is None:
                    break
                response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
                response.raise_for_status()
                page = response.json()
                for message in page.get("value", []):
                    if sender is not None and _application(message) != sender:
                        continue
                    for attachment in message.get("attachments") or []:
                        content = attachment.get("content")
                        contents.append((str(message.get("id", "")), content
                                         if isinstance(content, str) else json.dumps(content)))
                url = page.get("@odata.nextLink")
        return contents


def _application(message: dict[str, Any]) -> str | None:
    """The app a Graph channel message is from (None for a person's)."""
    sent_by = message.get("from")
    application = sent_by.get("application") if isinstance(sent_by, dict) else None
    found = application.get("id") if isinstance(application, dict) else None
    return str(found) if found else None


def _refused(response: httpx.Response) -> ConnectorError:
    retry_after = None
    if response.status_code == 429:
        try:
            retry_after = float(response.headers.get("Retry-After", "1"))
        except ValueError:
            retry_after = 1.0
    return ConnectorError(response.status_code, retry_after, f"HTTP {response.status_code}")
