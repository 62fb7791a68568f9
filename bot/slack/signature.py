"""Slack's request signature, checked once per request by Bolt's own middleware.

:class:`SlackSignature` is Bolt's ``RequestVerification`` (installed in its
place, first after Bolt's SSL check) with two things a school's deployment
needs on top:

* a clock of its own, so a server whose clock is wrong is found out: a
  request that Slack signed but that is stale by our clock once is a replay;
  twice in a row by about the same amount is this server's clock, logged as
  an error and reported by ``/health`` until a request is accepted again;
* the body checked for the shape Bolt relies on (:func:`well_formed`), so a
  signed but malformed request is answered 400 before any other middleware
  or listener reads it, never 500 with a traceback.

:meth:`SlackSignature.check` is also asked for what never reaches Bolt (a
body that cannot be parsed at all), and by the many-schools router before it
looks up a school, which marks the request :data:`CHECKED`.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware.request_verification import RequestVerification
from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger("jigsaw.slack")
# Set on a request's context by whoever checked its signature before Bolt
# (the many-schools router), so it is not checked twice.
CHECKED = "jigsaw_signature_checked"
SKEW_AGREE = 60.0  # seconds within which two stale requests point at our clock


class SlackSignature(RequestVerification):
    def __init__(self, signing_secret: str,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(signing_secret, base_logger=log)
        self.clock = clock  # seconds since the epoch; a test puts in a wrong one
        self.skew: float | None = None
        self._last_stale: float | None = None

    @property
    def verifier(self) -> SignatureVerifier:
        if self._verifier is None:
            self._verifier = SignatureVerifier(self._signing_secret, clock=_Clock(self))
        return self._verifier

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002 - Bolt's name
        checked = req.mode == "socket_mode" or req.context.get(CHECKED) is True
        if not checked and not self.check(req.raw_body, req.headers):
            return refuse(401)
        if not well_formed(req.body):
            return refuse(400)
        return next()

    def check(self, raw_body: str, headers: Mapping[str, Sequence[str]]) -> bool:
        """Slack's v0 signature, made within the last five minutes."""
        def first(name: str) -> str | None:
            values = headers.get(name)
            return values[0] if values else None

        timestamp, signature = first("x-slack-request-timestamp"), first("x-slack-signature")
        try:
            if self.verifier.is_valid(raw_body, timestamp, signature):
                self.skew = self._last_stale = None
                return True
            genuine = signature is not None and timestamp is not None and hmac.compare_digest(
                self.verifier.generate_signature(timestamp=timestamp, body=raw_body) or "",
                signature)
            if genuine and timestamp is not None:
                self._stale(self.clock() - int(timestamp))
            return False
        except (ValueError, TypeError):  # a timestamp that is not a number, no secret
            return False

    def _stale(self, offset: float) -> None:
        """Slack signed it, but not "now" by our clock."""
        if self._last_stale is not None and abs(offset - self._last_stale) < SKEW_AGREE:
            self.skew = offset
            log.error("request refused: this server's clock is %+.0f s off Slack's; every "
                      "request is refused until the clock is fixed", offset,
                      extra={"error": "clock_skew"})
        else:
            log.warning("request refused: signed by Slack %+.0f s from now (a replay, or "
                        "this server's clock is wrong)", offset, extra={"error": "stale"})
        self._last_stale = offset


class _Clock(Clock):
    def __init__(self, signature: SlackSignature) -> None:
        self._signature = signature

    def now(self) -> float:
        return self._signature.clock()


def refuse(status: int) -> BoltResponse:
    """401 for a bad or stale signature, 400 for a signed but malformed body."""
    if status == 401:
        log.info("request refused: bad or stale signature", extra={"error": "signature"})
    else:
        log.warning("request refused: malformed body", extra={"error": "malformed"})
    error = "invalid request" if status == 401 else "malformed request"
    return BoltResponse(status=status, body=json.dumps({"error": error}),
                        headers={"content-type": "application/json"})


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
