"""The app factory: one function builds the Bolt ``App`` from settings."""

from __future__ import annotations

import logging
import os
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.service import Jigsaw
from bot.slack.front import SlackFront
from bot.slack.listeners import register_listeners

log = logging.getLogger("jigsaw.slack")
DEFAULT_API_URL = "https://slack.com/api/"
API_TIMEOUT = 10


def api_timeout() -> float:
    """Seconds to wait for Slack; ``JIGSAW_SLACK_TIMEOUT`` overrides the default."""
    try:
        value = float(os.environ.get("JIGSAW_SLACK_TIMEOUT") or API_TIMEOUT)
    except ValueError:
        return API_TIMEOUT
    return value if value > 0 else API_TIMEOUT


def web_client(token: str | None = None, api_url: str | None = None) -> WebClient:
    """A Web API client; ``SLACK_API_URL`` points it at GovSlack or a test server."""
    base = api_url or os.environ.get("SLACK_API_URL") or DEFAULT_API_URL
    if not base.endswith("/"):
        base += "/"
    return WebClient(token=token or os.environ.get("SLACK_BOT_TOKEN"), base_url=base,
                     timeout=api_timeout())


def create_app(
    jigsaw: Jigsaw,
    *,
    token: str | None = None,
    signing_secret: str | None = None,
    client: WebClient | None = None,
    api_url: str | None = None,
) -> tuple[App, SlackFront]:
    """Build the Bolt app and the front end its listeners call."""
    client = client or web_client(token, api_url)
    app = App(
        client=client,
        signing_secret=signing_secret or os.environ.get("SLACK_SIGNING_SECRET", ""),
        token_verification_enabled=False,  # auth.test at start-up is done by run()
        ignoring_self_events_enabled=True,
        logger=logging.getLogger("slack_bolt"),
    )
    front = SlackFront(jigsaw, client)
    app.middleware(_once(jigsaw))
    register_listeners(app, front)
    app.error(_on_error)
    return app, front


def _once(jigsaw: Jigsaw):  # noqa: ANN202 - Bolt middleware
    """Drop redelivered events and repeated slash commands.

    Slack retries an event it thinks we missed (``X-Slack-Retry-Num``); the
    same ``event_id`` arrives again. Claiming the id in the store makes the
    second delivery a no-op even across a restart.
    """

    def middleware(body: dict[str, Any], next: Any) -> BoltResponse | None:  # noqa: A002
        key = None
        if body.get("type") == "event_callback" and body.get("event_id"):
            key = f"event:{body['event_id']}"
        elif body.get("command") and body.get("trigger_id"):
            key = f"command:{body['trigger_id']}"
        if key and not jigsaw.store.claim(key):
            return BoltResponse(status=200, body="")
        return next()

    return middleware


def _on_error(error: Exception, body: dict[str, Any]) -> None:
    # Never log the body: it can hold a child's details.
    log.error("listener failed: %s", type(error).__name__, exc_info=error,
              extra={"payload_type": body.get("type") if isinstance(body, dict) else None})
