"""The app factory: one function builds the Bolt ``App`` from settings."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.signature import Clock, SignatureVerifier

from bot.config import Environment
from bot.service import DecisionService
from bot.slack.executor import DeferringExecutor
from bot.slack.front import SlackFront
from bot.slack.listeners import register_listeners
from bot.slack.listeners.guard import user_of

log = logging.getLogger("jigsaw.slack")
SKEW_AGREE = 60.0  # seconds within which two stale requests point at our clock


def web_client(environment: Environment) -> WebClient:
    """A Web API client; ``SLACK_API_URL`` points it at GovSlack or a test server."""
    base = environment.slack_api_url
    if not base.endswith("/"):
        base += "/"
    return WebClient(token=environment.slack_bot_token or None, base_url=base,
                     timeout=environment.slack_timeout)  # type: ignore[arg-type]  # urlopen takes float seconds


class JigsawApp(App):
    """Bolt's App, refusing bad requests before Bolt looks inside them.

    Bolt trusts every signed body to have Slack's shape; anything else (or a
    signature header it cannot parse) makes it answer 500 and log a
    traceback. Here an unsigned or stale HTTP request is 401 whatever its
    body, and a signed but malformed one is 400, before any middleware,
    listener or Web API call.
    """

    # Set by create_app; seconds since the epoch (a test injects a wrong one).
    clock: Callable[[], float] = time.time
    _skew: float | None = None

    _last_stale: float | None = None

    def __init__(self, *, signing_secret: str, **bolt: Any) -> None:
        super().__init__(signing_secret=signing_secret, **bolt)
        self.secret = signing_secret  # Bolt keeps its own copy private

    def _stale(self, offset: float) -> None:
        """Slack signed it, but not "now" by our clock. Once is a replayed
        request; twice in a row by about the same amount is this server's
        clock, which refuses every request until it is put right."""
        if self._last_stale is not None and abs(offset - self._last_stale) < SKEW_AGREE:
            self._skew = offset
            log.error("request refused: this server's clock is %+.0f s off Slack's; every "
                      "request is refused until the clock is fixed", offset,
                      extra={"error": "clock_skew"})
        else:
            log.warning("request refused: signed by Slack %+.0f s from now (a replay, or "
                        "this server's clock is wrong)", offset, extra={"error": "stale"})
        self._last_stale = offset

    def clock_skew(self) -> float | None:
        """Seconds this server's clock is ahead of (+) or behind (-) the
        last correctly signed request refused as stale; None once a request
        has been accepted since."""
        return self._skew

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        body = req.body
        ssl_check = isinstance(body, dict) and body.get("ssl_check") == "1"
        if req.mode != "socket_mode" and not ssl_check and not self.signed(req.raw_body,
                                                                           req.headers):
            return self.refuse(401)
        if not well_formed(body):
            return self.refuse(400)
        return super().dispatch(req)

    def signed(self, raw_body: str, headers: Mapping[str, Sequence[str]]) -> bool:
        """Slack's v0 signature, made within the last five minutes."""
        def first(name: str) -> str | None:
            values = headers.get(name)
            return values[0] if values else None

        timestamp, signature = first("x-slack-request-timestamp"), first("x-slack-signature")
        try:
            verifier = SignatureVerifier(self.secret, clock=_Clock(self.clock))
            if verifier.is_valid(raw_body, timestamp, signature):
                self._skew = self._last_stale = None
                return True
            genuine = signature is not None and timestamp is not None and hmac.compare_digest(
                verifier.generate_signature(timestamp=timestamp, body=raw_body) or "",
                signature)
            if genuine and timestamp is not None:
                self._stale(self.clock() - int(timestamp))
            return False
        except (ValueError, TypeError):  # a timestamp that is not a number, no secret
            return False

    def unparsable(self, raw_body: str, headers: Mapping[str, Sequence[str]]) -> BoltResponse:
        """The answer for a body Bolt could not even parse."""
        return self.refuse(401 if not self.signed(raw_body, headers) else 400)

    @staticmethod
    def refuse(status: int) -> BoltResponse:
        if status == 401:
            log.info("request refused: bad or stale signature", extra={"error": "signature"})
        else:
            log.warning("request refused: malformed body", extra={"error": "malformed"})
        error = "invalid request" if status == 401 else "malformed request"
        return BoltResponse(status=status, body=json.dumps({"error": error}),
                            headers={"content-type": "application/json"})


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


_TABLE_OR_ID = ("user", "team", "channel", "enterprise")
_TABLES = ("message", "previous_message", "container", "state")
_TEXTS = ("type", "command", "callback_id", "user_id", "event_id", "trigger_id")


def well_formed(body: Any) -> bool:
    """Whether ``body`` has the shape Bolt relies on when it routes a request:
    the fields it reads are of the types Slack sends."""
    if not isinstance(body, dict):
        return False
    if any(not isinstance(body[k], str | None) for k in _TEXTS if k in body):
        return False
    if any(not isinstance(body[k], str | dict | None) for k in _TABLE_OR_ID if k in body):
        return False
    if any(isinstance(body.get(k), dict) and not isinstance(body[k].get("id", ""), str | None)
           for k in _TABLE_OR_ID):
        return False
    if any(not isinstance(body[k], dict | None) for k in _TABLES if k in body):
        return False
    auths = body.get("authorizations")
    if auths is not None and not (isinstance(auths, list)
                                  and all(isinstance(a, dict) for a in auths)):
        return False
    if "event" in body:
        event = body["event"]
        if not isinstance(event, dict) or not isinstance(event.get("type", ""), str):
            return False
    if "view" in body:
        view = body["view"]
        if not (isinstance(view, dict) and isinstance(view.get("type"), str)
                and isinstance(view.get("callback_id"), str | None)):
            return False
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not (isinstance(actions, list) and actions and all(
                isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)):
            return False
    return True


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
        app.clock = clock
    front = SlackFront(jigsaw, client)
    register_listeners(app, front)

    def on_error(error: Exception, body: dict[str, Any]) -> None:
        # Never log the body: it can hold a child's details.
        log.error("request failed: %s", type(error).__name__, exc_info=error,
                  extra={"payload_type": body.get("type") if isinstance(body, dict) else None})
        front.went_wrong(user_of(body))

    app.error(on_error)
    return app, front
