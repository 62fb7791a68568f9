"""Helpers for the many-schools tests: schools installed through Slack's OAuth
flow against the fake, and requests sent as from a school's workspace (or,
for an org-wide install, its Enterprise Grid organisation)."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from bot.config import Environment, Settings
from bot.slack.server import SlackHTTPServer
from bot.slack.tenants import Tenants
from storage.postgres import Database
from tests.harness.fakeslack import BOT_USER_ID
from tests.harness.faults import SECRET, WAIT, WatchedSlack, post
from tests.harness.slackreq import AckResponse, HttpTransport, SlackRequest

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "client-secret-for-tests"
# The two schools of the trust in these tests: Hillside, registered by the
# trust's admin before it installs (workspace T0001), and a Welsh school in an
# Enterprise Grid organisation (E0002), created by its org-wide install.
HILLSIDE = {"school": {"name": "Hillside Primary", "nation": "england"},
            "slack": {"dsl_channel": "CDSL", "dsl_user_ids": ["UDSL1"]}}
GRID = {"school": {"name": "Ysgol y Bryn", "nation": "wales"},
        "slack": {"dsl_channel": "CDSLB", "dsl_user_ids": ["UDSLB"]}}


@contextmanager
def trust(db: Database, fake: WatchedSlack, *, start: bool = True, open_installs: bool = True,
          base: Settings | None = None) -> Iterator[str]:
    """Hillside registered, the Grid school's private DSL channel in the fake,
    and the trust's app (every school, OAuth installs) served on a local
    port, until the block ends; yields its base URL. ``start`` False leaves
    the schools' outboxes stopped (another process delivers);
    ``open_installs`` lets an unregistered workspace install (the Grid
    school is made so); ``base``: the process's own settings."""
    db.add_school("hillside", name="Hillside Primary", settings=HILLSIDE)
    db.link_workspace("hillside", team_id="T0001", enterprise_id=None)
    fake.add_channel("CDSLB", name="dsl-b", is_private=True, members=[BOT_USER_ID, "UDSLB"])
    tenants = Tenants(db, base or Settings(), Environment(
        slack_signing_secret=SECRET, slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET, slack_api_url=fake.base_url,
        open_installs=open_installs), start=start)
    server = SlackHTTPServer(("127.0.0.1", 0), tenants, health=lambda: {"ok": True})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
        thread.join(timeout=10)
        tenants.stop()


def get(url: str, cookie: str = "") -> tuple[int, dict[str, str], str]:
    """A GET that does not follow redirects: (status, headers, body)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request, timeout=WAIT) as resp:
            headers = {k.lower(): v for k, v in resp.headers.items()}
            return resp.status, headers, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode()


def install(base: str, fake: Any, code: str, *, bot_token: str, team_id: str | None,
            enterprise_id: str | None = None, org_wide: bool = False,
            team_name: str = "", status: int = 200) -> str:
    """Install the app the way an admin does: open /slack/install, follow
    Slack's redirect back with a code and the state (and its cookie).
    Returns the page the app answers with (with HTTP ``status``)."""
    started, headers, _ = get(f"{base}/slack/install")
    assert started == 302, started
    state = parse_qs(urlparse(headers["location"]).query)["state"][0]
    cookie = headers["set-cookie"].split(";", 1)[0]
    fake.grant(code, bot_token=bot_token, team_id=team_id, team_name=team_name,
               enterprise_id=enterprise_id, org_wide=org_wide)
    query = urlencode({"code": code, "state": state})
    answered, _, body = get(f"{base}/slack/oauth_redirect?{query}", cookie)
    assert answered == status, (answered, body)
    return body


def as_from(request: SlackRequest, *, team_id: str, enterprise_id: str | None = None
            ) -> SlackRequest:
    """The same request, as Slack sends it from ``team_id`` (in Grid
    organisation ``enterprise_id``, installed org-wide, if given)."""
    payload = json.loads(json.dumps(request.payload))
    org = enterprise_id is not None
    if request.envelope_type == "interactive":
        payload["team"] = {**(payload.get("team") or {}), "id": team_id}
        if isinstance(payload.get("user"), dict):
            payload["user"]["team_id"] = team_id
        payload["enterprise"] = {"id": enterprise_id, "name": "org"} if org else None
        payload["is_enterprise_install"] = org
        body = urlencode({"payload": json.dumps(payload)})
    elif request.envelope_type == "slash_commands":
        payload.update(team_id=team_id, is_enterprise_install="true" if org else "false")
        if org:
            payload["enterprise_id"] = enterprise_id
        body = urlencode(payload)
    else:
        payload["team_id"] = team_id
        if org:
            payload["enterprise_id"] = enterprise_id
        payload["authorizations"] = [{"enterprise_id": enterprise_id, "team_id": None if org
                                      else team_id, "user_id": "UBOT", "is_bot": True,
                                      "is_enterprise_install": org}]
        body = json.dumps(payload)
    return replace(request, payload=payload, body=body)


class SchoolLink:
    """A :class:`tests.harness.staff.Link` to an app, as from one school's
    workspace. ``app`` (with ``epoch``/``wait_up``) may be killed; without one
    the app is taken to be always up."""

    def __init__(self, url: str, *, team_id: str, enterprise_id: str | None = None,
                 app: Any = None) -> None:
        self.transport = HttpTransport(url, SECRET, timeout=WAIT)
        self.team_id = team_id
        self.enterprise_id = enterprise_id
        self.app = app

    def send(self, request: SlackRequest, **kwargs: Any) -> AckResponse:
        return post(self.transport, as_from(request, team_id=self.team_id,
                                            enterprise_id=self.enterprise_id), **kwargs)

    def epoch(self) -> int:
        return 0 if self.app is None else int(self.app.epoch())

    def wait_up(self) -> int:
        return 0 if self.app is None else int(self.app.wait_up())


CHILD = re.compile(r"K[AB]-\d+")
