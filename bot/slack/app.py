"""The app factory: one function builds the Bolt ``App`` from settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.config import Environment
from bot.service import DecisionService
from bot.slack.executor import DeferringExecutor
from bot.slack.front import SlackFront
from bot.slack.listeners import register_listeners
from bot.slack.listeners.guard import user_of
from bot.slack.signature import SlackSignature, refuse

log = logging.getLogger("jigsaw.slack")


def web_client(environment: Environment) -> WebClient:
    """A Web API client; ``SLACK_API_URL`` points it at GovSlack or a test server."""
    base = environment.slack_api_url
    if not base.endswith("/"):
        base += "/"
    return WebClient(token=environment.slack_bot_token or None, base_url=base,
                     timeout=environment.slack_timeout)  # type: ignore[arg-type]  # urlopen takes float seconds


class JigsawApp(App):
    """Bolt's App, its built-in signature middleware swapped for the same
    middleware extended (:class:`~bot.slack.signature.SlackSignature`), at the
    same place: every HTTP request's signature is checked once, and a signed
    but malformed body is refused before any other middleware, listener or
    Web API call."""

    def __init__(self, *, signing_secret: str, **bolt: Any) -> None:
        self.signature = SlackSignature(signing_secret)
        super().__init__(signing_secret=signing_secret, request_verification_enabled=False,
                         before_authorize=self.signature, **bolt)

    def clock_skew(self) -> float | None:
        """Seconds this server's clock is ahead of (+) or behind (-) Slack's,
        as found from correctly signed requests refused as stale; None once a
        request has been accepted since."""
        return self.signature.skew

    def unparsable(self, raw_body: str, headers: Mapping[str, Sequence[str]]) -> BoltResponse:
        """The answer for a body Bolt could not even parse."""
        return refuse(401 if not self.signature.check(raw_body, headers) else 400)


def create_app(jigsaw: DecisionService, *, signing_secret: str, client: WebClient,
               clock: Callable[[], float] | None = None) -> tuple[JigsawApp, SlackFront]:
    """Build the Bolt app and the front end its listeners call."""
    app = JigsawApp(
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=False,  # auth.test at start-up is done by run()
        ignoring_self_events_enabled=True,
        logger=logging.getLogger("slack_bolt"),
        listener_executor=DeferringExecutor(),
    )
    if clock is not None:
        app.signature.clock = clock
    front = SlackFront(jigsaw, client)
    register_listeners(app, front)

    def on_error(error: Exception, body: dict[str, Any]) -> None:
        # Never log the body: it can hold a child's details.
        log.error("request failed: %s", type(error).__name__, exc_info=error,
                  extra={"payload_type": body.get("type") if isinstance(body, dict) else None})
        front.went_wrong(user_of(body))

    app.error(on_error)
    return app, front
