"""Many schools from one app: Slack installed per school through OAuth.

Each school is a tenant: its own workspace (or Enterprise Grid organisation,
for an org-wide install), its own settings (nation, DSL channel, contacts)
kept in the database, and its own store, scoped by school. A request is
routed by the workspace Slack says it came from, after its signature is
checked (once: the school's app is told so), to that school's own Bolt app,
built exactly as the single-school app is (:func:`bot.slack.app.create_app`)
over that school's store and settings, with that school's bot token.
Nothing a school's app holds can reach another school's rows.

Installs use Bolt's OAuth flow, with slack_sdk's SQLAlchemy installation and
state stores on the same PostgreSQL database (tables made by
``jigsaw migrate-db``). Only a workspace (or Grid organisation) an
administrator registered for a school (``jigsaw school set --team``) may
install, unless the trust turns open installs on (``JIGSAW_OPEN_INSTALLS``):
then a new workspace becomes a new school with no DSL channel and no DSL,
whose records are held until ``jigsaw school set`` gives it its own. The
process's own DSL channel and DSL ids (its settings file, ``JIGSAW_DSL_*``)
belong to the ``default`` school alone. A workspace registered as its own
school stays with it under an org-wide Grid install.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.error import BoltError
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request.internals import (
    extract_enterprise_id,
    extract_is_enterprise_install,
    extract_team_id,
)
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.config import ConfigError, Environment, Settings, from_mapping
from bot.service import DecisionService
from bot.slack.app import JigsawApp, create_app, web_client
from bot.slack.front import SlackFront
from bot.slack.signature import CHECKED, SlackSignature, refuse
from bot.slack.tokens import SealedInstallationStore
from storage.postgres import DEFAULT_SCHOOL

log = logging.getLogger("jigsaw.tenants")

# The bot scopes of app.yaml.
SCOPES = ("chat:write", "commands", "im:history", "im:write", "groups:read",
          "groups:history", "files:write", "users:read")
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600


def sqlalchemy_url(url: str) -> str:
    """The same database, through SQLAlchemy's psycopg 3 driver."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def school_settings(raw: dict[str, Any] | None, base: Settings, *,
                    school: str = DEFAULT_SCHOOL) -> Settings:
    """A school's settings: its stored table (the settings file's shape) over
    the process's defaults. The process's DSL channel and DSL ids are the
    ``default`` school's: another school has only its own."""
    if school != DEFAULT_SCHOOL:
        base = replace(base, dsl_channel="", dsl_user_ids=(), deputy_user_ids=())
    return from_mapping(raw or {}, base)


class NotRegistered(BoltError):
    """An install from a workspace no administrator registered for a school."""


class TrustOAuthFlow(OAuthFlow):
    """Bolt's OAuth flow, keeping an installation only if ``admit`` says so."""

    def __init__(self, *, admit: Callable[[Installation], bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.admit = admit

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        if not self.admit(installation):
            raise NotRegistered("workspace not registered for a school")
        super().store_installation(request, installation)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")


def _slack_id(value: Any, first: str) -> bool:
    """None, or an id of Slack's shape starting with ``first`` (T: workspace,
    E: Grid organisation): nothing else is looked up in the database."""
    return value is None or (isinstance(value, str) and value[:1] == first
                             and SLACK_ID.fullmatch(value) is not None)


class Tenant:
    """One school's app, front end and service."""

    def __init__(self, school_id: str, app: JigsawApp, front: SlackFront) -> None:
        self.school_id = school_id
        self.app = app
        self.front = front
        self.started = False


class Tenants:
    """Routes each Slack request to its school's app (see module docstring).

    Quacks like :class:`~bot.slack.app.JigsawApp` for the HTTP server:
    :meth:`app_for` picks the app, :meth:`unparsable` answers bad bodies.
    """

    def __init__(self, db: Any, base: Settings, environment: Environment, *,
                 start: bool = True) -> None:
        import sqlalchemy

        self.db = db
        self.base = base
        # Each school's app gets a client like this one, with its own bot token.
        self.environment = replace(environment, slack_bot_token="")
        self.signing_secret = environment.slack_signing_secret
        self.signature = SlackSignature(self.signing_secret)
        client_id = environment.slack_client_id
        self.start_apps = start
        self.engine = sqlalchemy.create_engine(sqlalchemy_url(db.url), pool_size=2,
                                               max_overflow=4, pool_pre_ping=True)
        # Tokens encrypted with the data key, as the school's records are.
        self.installations = SealedInstallationStore(cipher=getattr(db, "cipher", None),
                                                     client_id=client_id, engine=self.engine)
        self.states = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS,
                                                engine=self.engine)
        self.open_installs = environment.open_installs
        self.oauth = TrustOAuthFlow(admit=self._admit, client=web_client(self.environment),
                                    settings=OAuthSettings(
            client_id=client_id, client_secret=environment.slack_client_secret,
            scopes=list(SCOPES), install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
            redirect_uri=environment.slack_redirect_uri or None,
            installation_store=self.installations,
            state_store=self.states, install_page_rendering_enabled=False,
            callback_options=CallbackOptions(success=self._installed, failure=self._failed)))
        self._tenants: dict[str, Tenant] = {}
        # (team, organisation, org-wide) -> school, as last found in the database.
        self._routes: dict[tuple[str | None, str | None, bool], str] = {}
        self._lock = threading.Lock()
        self.on_tenant: Callable[[Tenant], None] | None = None
        # GET pages the HTTP server hands over (Slack's install and redirect).
        self.oauth_pages = {INSTALL_PATH: self.install, REDIRECT_PATH: self.callback}

    # -- OAuth ----------------------------------------------------------------
    def install(self, req: BoltRequest) -> BoltResponse:
        return self.oauth.handle_installation(req)

    def callback(self, req: BoltRequest) -> BoltResponse:
        return self.oauth.handle_callback(req)

    def _school_of(self, inst: Installation) -> str | None:
        org_wide = bool(inst.is_enterprise_install)
        school: str | None = self.db.school_for(
            team_id=None if org_wide else inst.team_id, enterprise_id=inst.enterprise_id,
            enterprise_install=org_wide)
        return school

    def _admit(self, inst: Installation) -> bool:
        """Keep this installation: its workspace is registered, or open
        installs are on."""
        return self.open_installs or self._school_of(inst) is not None

    def _installed(self, args: SuccessArgs) -> BoltResponse:
        inst = args.installation
        org_wide = bool(inst.is_enterprise_install)
        team_id = None if org_wide else inst.team_id
        school = self._school_of(inst)
        if school is None:  # open installs: a new school, with nothing of another's
            school = f"slack-{(team_id or inst.enterprise_id or 'unknown').lower()}"
            name = (inst.enterprise_name if org_wide else inst.team_name) or ""
            self.db.add_school(school, name=name)
            self.db.link_workspace(school, team_id=team_id, enterprise_id=inst.enterprise_id)
        with self._lock:
            self._tenants.pop(school, None)  # a reinstall brings a new token
        log.info("installed", extra={"school": school, "org_wide": org_wide})
        try:
            ready = bool(school_settings(self.db.school_settings(school), self.base,
                                         school=school).dsl_channel)
        except ConfigError:
            ready = False
        body = ("Jigsaw is installed." if ready else
                "Jigsaw is installed, but this school has no DSL channel or DSL yet: its "
                "records are held, and nobody can review them, until the trust's "
                f"administrator sets them (jigsaw school set {school} --settings FILE).")
        return BoltResponse(status=200, body=body,
                            headers={"content-type": "text/plain; charset=utf-8"})

    def _failed(self, args: FailureArgs) -> BoltResponse:
        if isinstance(args.error, NotRegistered):
            log.warning("install refused: workspace not registered")
            return BoltResponse(
                status=403, body="Jigsaw was not installed: this workspace is not registered "
                "with the trust. Ask the trust's administrator to register it first "
                "(jigsaw school set ID --team T...).",
                headers={"content-type": "text/plain; charset=utf-8"})
        log.warning("install failed", extra={"error": args.reason})
        return BoltResponse(status=args.suggested_status_code,
                            body="The installation did not complete. Please try again.",
                            headers={"content-type": "text/plain; charset=utf-8"})

    # -- routing --------------------------------------------------------------
    def unparsable(self, raw_body: str, headers: Mapping[str, Sequence[str]]) -> BoltResponse:
        """The answer to a request no school's app takes. Slack's check of
        the events URL (signed, from no workspace) is answered here, since
        it comes before any school has installed the app."""
        if not self.signature.check(raw_body, headers):
            return refuse(401)
        try:
            body = json.loads(raw_body)
        except (ValueError, RecursionError):
            body = None
        if isinstance(body, dict) and body.get("type") == "url_verification":
            return BoltResponse(status=200, body=json.dumps({"challenge": body.get("challenge")}),
                                headers={"content-type": "application/json"})
        return refuse(400)

    def app_for(self, req: BoltRequest) -> JigsawApp | None:
        """The app of the school this (signed) request comes from; None when
        it is unsigned or from a workspace no school has installed."""
        if not self.signature.check(req.raw_body, req.headers):
            return None
        req.context[CHECKED] = True  # the school's app need not check it again
        body = req.body if isinstance(req.body, dict) else {}
        try:
            enterprise_id = extract_enterprise_id(body)
            team_id = extract_team_id(body)
            org_wide = extract_is_enterprise_install(body) or False
            if team_id is None and org_wide:
                # An org-wide install's event names no workspace in its
                # authorization: the event's own says which (a workspace
                # registered as its own school stays with it).
                event = body.get("event")
                team_id = _text(body.get("team_id")) or _text(
                    event.get("team") if isinstance(event, dict) else None)
        except (AttributeError, TypeError, KeyError, IndexError, RecursionError):
            return None
        if not (_slack_id(team_id, "T") and _slack_id(enterprise_id, "E")):
            log.warning("request refused: not a Slack workspace or organisation id")
            return None
        tenant = self.tenant(team_id=team_id, enterprise_id=enterprise_id, org_wide=org_wide)
        return None if tenant is None else tenant.app

    def tenant(self, *, team_id: str | None, enterprise_id: str | None,
               org_wide: bool = False) -> Tenant | None:
        where = (team_id, enterprise_id, org_wide)
        try:
            school = self.db.school_for(team_id=team_id, enterprise_id=enterprise_id,
                                        enterprise_install=org_wide)
        except OSError:
            # The database is away: the school this workspace was last routed
            # to, so the 999 path goes on from what the instance knows.
            with self._lock:
                school = self._routes.get(where)
            if school is None:
                log.warning("request not routed: the database is unavailable")
                return None
        if school is None:
            return None
        with self._lock:
            self._routes[where] = school
            found = self._tenants.get(school)
            if found is not None:
                return found
        bot = self.installations.find_bot(enterprise_id=enterprise_id,
                                          team_id=None if org_wide else team_id,
                                          is_enterprise_install=org_wide)
        if bot is None and enterprise_id and not org_wide:
            bot = self.installations.find_bot(enterprise_id=enterprise_id, team_id=None,
                                              is_enterprise_install=True)
        if bot is None or not bot.bot_token:
            log.warning("request from a workspace with no installation",
                        extra={"school": school})
            return None
        return self._build(school, bot.bot_token)

    def _build(self, school: str, token: str) -> Tenant | None:
        try:
            settings = school_settings(self.db.school_settings(school), self.base,
                                       school=school)
        except ConfigError as exc:
            log.error("school settings refused: %s", exc, extra={"school": school})
            return None
        jigsaw = DecisionService(settings, self.db.store(school, create=False))
        client = web_client(replace(self.environment, slack_bot_token=token))
        app, front = create_app(jigsaw, signing_secret=self.signing_secret, client=client)
        tenant = Tenant(school, app, front)
        with self._lock:
            existing = self._tenants.get(school)
            if existing is not None:
                return existing
            self._tenants[school] = tenant
        if self.start_apps:
            front.delivery.start()
            tenant.started = True
        if self.on_tenant is not None:
            self.on_tenant(tenant)
        return tenant

    def warm(self) -> int:
        """Build every installed school's app now, so each one's outbox is
        delivered after a restart without waiting for its next request."""
        built = 0
        for bot in self._bots():
            tenant = self.tenant(team_id=bot.get("team_id"),
                                 enterprise_id=bot.get("enterprise_id"),
                                 org_wide=bool(bot.get("is_enterprise_install")))
            built += tenant is not None
        return built

    def _bots(self) -> list[dict[str, Any]]:
        import sqlalchemy

        table = self.installations.bots
        with self.engine.connect() as conn:
            rows = conn.execute(sqlalchemy.select(
                table.c.team_id, table.c.enterprise_id, table.c.is_enterprise_install
            ).distinct()).mappings().all()
        return [dict(r) for r in rows]

    def tenants(self) -> list[Tenant]:
        with self._lock:
            return list(self._tenants.values())

    def pending(self) -> int:
        return sum(len(t.front.delivery.pending()) for t in self.tenants())

    def stop(self) -> None:
        for tenant in self.tenants():
            if tenant.started:
                tenant.front.delivery.stop()
            tenant.app.listener_runner.listener_executor.shutdown(wait=True)
        self.engine.dispose()
