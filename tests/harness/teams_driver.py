"""What Teams sends the bot: activities over HTTP, each signed with a token
from the fake's key, as the Bot Framework would, and read back what the bot
posted to the fake connector."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from tests.harness.faketeams import FakeTeams, Post, card_actions

CHANNEL = "19:dsl-channel@thread.tacv2"
TEAM = "dsl-team-group-id"
STAFF = "00000000-0000-0000-0000-0000000000a1"
STAFF_2 = "00000000-0000-0000-0000-0000000000a2"
DSL = "00000000-0000-0000-0000-0000000000d1"  # a configured DSL id
DSL_MEMBER = "00000000-0000-0000-0000-0000000000d2"  # in the DSL channel only
OUTSIDER = "00000000-0000-0000-0000-0000000000e1"


def chat_of(user: str) -> str:
    return f"a:personal-chat-{user[-4:]}"


@dataclass
class Reply:
    status: int
    body: Any


class TeamsClient:
    def __init__(self, fake: FakeTeams, url: str, *, tenant: str | None = None) -> None:
        self.fake = fake
        self.url = url
        self.tenant = tenant or fake.tenant

    def send(self, activity: dict[str, Any], *, token: str | None = None,
             auth: str | None = None, timeout: float = 10.0) -> Reply:
        data = json.dumps(activity).encode()
        header = auth if auth is not None else f"Bearer {token or self.fake.token()}"
        request = urllib.request.Request(self.url, data=data, method="POST", headers={
            "Content-Type": "application/json", "Authorization": header})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                return Reply(response.status, json.loads(raw) if raw else None)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            return Reply(exc.code, body)

    def _base(self, user: str, conversation: str, kind: str, name: str) -> dict[str, Any]:
        personal = not conversation.startswith("19:")
        return {
            "id": f"f:{uuid.uuid4().hex}",
            "channelId": "msteams",
            "serviceUrl": self.fake.base_url,
            "timestamp": "2026-03-02T10:00:00.000Z",
            "from": {"id": f"29:{user}", "aadObjectId": user, "name": name},
            "recipient": {"id": f"28:{self.fake.app_id}", "name": "Jigsaw"},
            "conversation": {"id": conversation, "tenantId": self.tenant,
                             "conversationType": "personal" if personal else "channel"},
            "channelData": {"tenant": {"id": self.tenant}},
            "type": kind,
        }

    def message_activity(self, user: str, text: str, *, name: str = "Sam Teacher",
                         conversation: str | None = None) -> dict[str, Any]:
        activity = self._base(user, conversation or chat_of(user), "message", name)
        activity.update({"text": text, "textFormat": "plain"})
        return activity

    def message(self, user: str, text: str, **kw: Any) -> Reply:
        return self.send(self.message_activity(user, text, **kw))

    def execute_activity(self, user: str, action: dict[str, Any], *,
                         inputs: dict[str, str] | None = None, conversation: str | None = None,
                         name: str = "Sam Teacher", trigger: str = "manual") -> dict[str, Any]:
        """A click on ``action``; ``trigger="automatic"`` for a card's
        ``refresh`` as Teams sends it when it shows someone the card."""
        activity = self._base(user, conversation or chat_of(user), "invoke", name)
        activity.update({"name": "adaptiveCard/action", "value": {"action": {
            "type": "Action.Execute", "verb": action.get("verb"),
            "data": {**(action.get("data") or {}), **(inputs or {})}}, "trigger": trigger}})
        return activity

    def click(self, user: str, post: Post, title: str, **kw: Any) -> Reply:
        return self.send(self.execute_activity(user, button(post, title), **kw))


def button(post: Post, title: str) -> dict[str, Any]:
    actions = card_actions(post.card)
    for action in actions:
        if action.get("title") == title:
            return action
    raise AssertionError(f"no {title!r} button; have {[a.get('title') for a in actions]}")


def choice_button(post: Post, value: str) -> dict[str, Any]:
    """The answer button carrying ``value``."""
    for action in card_actions(post.card):
        if action.get("verb") == "answer" and (action.get("data") or {}).get("v") == value:
            return action
    raise AssertionError(f"no answer {value!r} on the card: {post.text[:200]}")


def install_activity(client: TeamsClient, user: str, *, name: str = "Sam Teacher"
                     ) -> dict[str, Any]:
    """Teams telling the bot it was installed in someone's personal scope."""
    activity = client._base(user, chat_of(user), "installationUpdate", name)
    activity["action"] = "add"
    return activity


def report_activity(client: TeamsClient, user: str, html: str, *, conversation: str,
                    name: str = "Sam Teacher") -> dict[str, Any]:
    """"Report a concern to the DSL" chosen on a message in ``conversation``."""
    activity = client._base(user, conversation, "invoke", name)
    activity.update({"name": "composeExtension/fetchTask", "value": {
        "commandId": "reportConcern", "commandContext": "message",
        "messagePayload": {"id": "1700000000000", "messageType": "message",
                           "body": {"contentType": "html", "content": html}}}})
    return activity


def file_consent_activity(client: TeamsClient, user: str, *, accept: bool, context: Any,
                          upload_url: str = "", name: str = "file.pdf") -> dict[str, Any]:
    """The person allowing (or declining) a file offered in their personal
    chat; when allowed, Teams names the upload session in their OneDrive."""
    activity = client._base(user, chat_of(user), "invoke", "Dana DSL")
    value: dict[str, Any] = {"type": "fileUpload", "action": "accept" if accept else "decline",
                             "context": context}
    if accept:
        value["uploadInfo"] = {
            "name": name, "uploadUrl": upload_url, "fileType": name.rsplit(".", 1)[-1],
            "uniqueId": "file-1",
            "contentUrl": f"https://school-my.sharepoint.com/personal/dsl/Documents/{name}"}
    activity.update({"name": "fileConsent/invoke", "value": value})
    return activity


def attachments(post: Post, content_type: str) -> list[dict[str, Any]]:
    latest = post.updates[-1] if post.updates else post.activity
    return [a for a in latest.get("attachments") or [] if a.get("contentType") == content_type]
