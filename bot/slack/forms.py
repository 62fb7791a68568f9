"""Slack's HTTP bodies, parsed before Bolt looks at them.

Bolt decides whether a form body is an interaction by testing for the
substring ``"payload"`` anywhere in the raw body, so a slash command whose
text, channel name, user name or team domain contains that word parses as
an empty interaction and is answered 404. Here the form is decoded first,
and only a real ``payload`` field is read as an interaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import BoltRequest
from slack_bolt.context import BoltContext
from slack_bolt.request.internals import build_context

FORM = "application/x-www-form-urlencoded"


def parse_form(raw: str) -> dict[str, Any]:
    """A form body as Slack means it: an interaction's ``payload`` field as
    JSON, anything else (a slash command) as its fields. Raises ValueError
    for a ``payload`` that is not JSON, as Bolt would."""
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in fields:
        parsed = json.loads(fields["payload"])
        return parsed if isinstance(parsed, dict) else {}
    return fields


def _is_form(raw: str, headers: Mapping[str, Sequence[str]]) -> bool:
    content_type = (headers.get("content-type") or [""])[0] or ""
    media = content_type.split(";")[0].strip().lower()
    return bool(raw) and not raw.startswith("{") and media != "application/json"


class SlackHTTPRequest(BoltRequest):
    """A BoltRequest whose form body is parsed by :func:`parse_form`; the
    raw body is kept as sent, for the signature check."""

    def __init__(self, *, body: str, query: str | None,
                 headers: Mapping[str, Sequence[str]]) -> None:
        super().__init__(body=body, query=query, headers=dict(headers))
        if _is_form(self.raw_body, self.headers):
            self._use(parse_form(self.raw_body))

    def _use(self, parsed: dict[str, Any]) -> None:
        self.body = parsed
        self.context = build_context(BoltContext({}), parsed)

    def to_copyable(self) -> BoltRequest:
        # Bolt copies a request for lazy listeners by parsing the raw body again.
        copy = super().to_copyable()
        copy.body = json.loads(json.dumps(self.body))
        return copy
