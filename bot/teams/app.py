"""The app factory: one function builds the Teams SDK ``App`` from settings."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
from microsoft_teams.api import ClientCredentials, Credentials, TokenCredentials
from microsoft_teams.api.auth.cloud_environment import PUBLIC, CloudEnvironment, with_overrides
from microsoft_teams.apps import App
from microsoft_teams.apps.http import FastAPIAdapter

from bot.config import TeamsSettings
from bot.service import DecisionService
from bot.teams.connector import GRAPH_URL, Connector
from bot.teams.executor import KeyedExecutor
from bot.teams.front import TeamsFront
from bot.teams.listeners import register

log = logging.getLogger("jigsaw.teams")
DEFAULT_SERVICE_URL = "https://smba.trafficmanager.net/teams"
MESSAGES_PATH = "/api/messages"


class LocalTokens:
    """Outbound tokens from a local stand-in for the token service, for tests
    (the SDK's client-secret flow only talks to Microsoft's login servers).
    Tokens are kept until shortly before they expire."""

    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        self.url = f"{base_url}/botframework.com/oauth2/v2.0/token"
        self.form = {"grant_type": "client_credentials", "client_id": client_id,
                     "client_secret": client_secret}
        self._cache: dict[str, tuple[str, float]] = {}

    async def __call__(self, scope: str, tenant_id: str | None = None) -> str:
        token, until = self._cache.get(scope, ("", 0.0))
        if token and until > time.time():
            return token
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(self.url, data={**self.form, "scope": scope})
            response.raise_for_status()
            body = response.json()
        token = str(body["access_token"])
        self._cache[scope] = (token, time.time() + float(body.get("expires_in", 3600)) - 60)
        return token


class JigsawTeamsApp(App):
    """The SDK's App, with its credentials from :mod:`bot.config` only (the
    SDK would otherwise also look in the process environment itself)."""

    def __init__(self, credentials: Credentials | None, **options: Any) -> None:
        self._given_credentials = credentials
        super().__init__(**options)

    def _init_credentials(self) -> Credentials | None:
        return self._given_credentials


def credentials_for(teams: TeamsSettings) -> Credentials | None:
    if not teams.client_id:
        return None
    if teams.connector_url:
        tokens = LocalTokens(teams.connector_url, teams.client_id, teams.client_secret)
        return TokenCredentials(client_id=teams.client_id, tenant_id=teams.tenant_id or None,
                                token=tokens)  # type: ignore[arg-type]
    if not teams.client_secret:
        return None
    return ClientCredentials(client_id=teams.client_id, client_secret=teams.client_secret,
                             tenant_id=teams.tenant_id or None)


def cloud_for(teams: TeamsSettings) -> CloudEnvironment:
    """Microsoft's public cloud; with a test connector, the same checks with
    the signing keys served by it."""
    if not teams.connector_url:
        return PUBLIC
    return with_overrides(
        PUBLIC, openid_metadata_url=f"{teams.connector_url}/v1/.well-known/openidconfiguration")


def create_app(jigsaw: DecisionService, teams: TeamsSettings, *,
               executor: KeyedExecutor | None = None) -> tuple[App, TeamsFront, KeyedExecutor]:
    """Build the SDK app, the front end its listeners call, and the pool the
    work after each response runs in."""
    app, connector = sdk_app(teams)
    front = TeamsFront(jigsaw, connector, channel=teams.dsl_channel, team=teams.dsl_team)
    front.tenant_id = teams.tenant_id
    executor = executor or KeyedExecutor()
    register(app, front, executor)
    return app, front, executor


def sdk_app(teams: TeamsSettings) -> tuple[App, Connector]:
    """The SDK's app (no listeners yet) and the connector that uses its client."""
    options: dict[str, Any] = {
        "client_id": teams.client_id or None,
        "tenant_id": teams.tenant_id or None,
        "cloud": cloud_for(teams),
        "http_server_adapter": FastAPIAdapter(),
        "messaging_endpoint": MESSAGES_PATH,
        "dangerously_allow_unauthenticated_requests": teams.allow_unauthenticated,
        "state": False,
        "telemetry": {"agent365": False},
    }
    if teams.connector_url:
        log.warning("JIGSAW_TEAMS_CONNECTOR_URL is set: tokens are checked against keys "
                    "served by %s. For tests only.", teams.connector_url)
    if teams.allow_unauthenticated:
        log.critical("DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS is on: anyone who can reach "
                     "%s can act as any user. Local development only.", MESSAGES_PATH)
    service_url = teams.connector_url or teams.service_url or DEFAULT_SERVICE_URL
    options["service_url"] = service_url
    app = JigsawTeamsApp(credentials_for(teams), **options)
    connector = Connector(app, service_url=service_url,
                          graph_url=f"{teams.connector_url}/graph/v1.0" if teams.connector_url
                          else GRAPH_URL, tenant_id=teams.tenant_id)
    return app, connector
