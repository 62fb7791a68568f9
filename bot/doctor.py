"""``jigsaw doctor``: this installation checked against the facts the DPO
pack states (:mod:`bot.installation`), plus what only the running pieces can
say: whether the store opens with these keys, whether the DSL channel is
private (asking Slack, or Microsoft Graph for Teams, through the same check that
guards every post), and
whether this machine's clock agrees with the data and with the chat service.
It prints what holds and what to fix; exit 1 while anything high or medium
is left to fix. ``/health`` is untouched: this runs once, by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TextIO

from bot.admin import clock_problem, latest_known
from bot.config import Environment, Settings
from bot.installation import Finding, Installation
from bot.prompts import default_prompts

FINDINGS = "pack/findings.j2"
LEDGER = "ledger.jsonl"
# Seconds this machine's clock may differ from the chat service's: Slack
# refuses requests signed more than five minutes off, Bot Framework tokens
# carry their own times, and Jigsaw notices at one.
CLOCK_LIMIT = 60.0


def _store(f: Installation, settings: Settings, environment: Environment, now: datetime
           ) -> list[Finding]:
    """Open the store as the serving commands do (strict, then the
    start-up count check), without creating one."""
    from storage import StoreError, open_store

    if f.backend == "tinydb" and not (Path(settings.data_dir) / LEDGER).exists():
        return [Finding("store_new", True, params={"detail": f.data_dir}, live=True)]
    try:
        if f.backend == "postgresql":
            from storage import load_audit_key
            from storage.postgres import Database

            db = Database(environment.database_url, key=environment.data_key or None,
                          audit_key=load_audit_key(settings.data_dir, environment.audit_key,
                                                   environment.audit_key_file), max_size=1)
            try:
                store: Any = db.store(f.school_id, create=False)
                store.check_counts()  # as at start-up
                count = store.count_records()
                known = latest_known(store)
            finally:
                db.close()
        else:
            store = open_store(settings.data_dir, key=environment.data_key,
                               audit_key=environment.audit_key,
                               audit_key_file=environment.audit_key_file)
            try:
                store.check_counts()  # as at start-up
                count = store.count_records()
                known = latest_known(store)
            finally:
                store.close()
    except (StoreError, OSError) as exc:
        return [Finding("store", False, "high", {"detail": str(exc)}, live=True)]
    found = [Finding("store", True, params={"detail": f"{count} record(s)"}, live=True)]
    problem = clock_problem(now, known)
    if problem:
        found.append(Finding("clock", False, "high", {"detail": problem}, live=True))
    elif known is not None:
        found.append(Finding("clock", True, params={"against": "the newest data"}, live=True))
    return found


def _slack(f: Installation, environment: Environment, now: datetime,
           client: Any = None) -> list[Finding]:
    """The DSL channel checked as before every post, and Slack's clock."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.outbox import ChannelUnsafe
    from bot.slack.delivery import ChannelGuard

    if not environment.slack_bot_token or not f.dsl_channel:
        return []  # no channel: already a finding; no token: nothing to ask
    client = client or WebClient(token=environment.slack_bot_token,
                                 base_url=environment.slack_api_url,
                                 timeout=int(environment.slack_timeout))
    found: list[Finding] = []
    try:
        ChannelGuard(client, f.dsl_channel).check(force=True)
        found.append(Finding("channel_private", True, params={"channel": f.dsl_channel},
                             live=True))
    except ChannelUnsafe as exc:
        # Slack not reached says nothing about the channel itself.
        key = "channel_unreachable" if " now: " in str(exc) else "channel_private"
        found.append(Finding(key, False, "high", {"detail": str(exc), "front": "slack"},
                             live=True))
    try:
        answer = client.auth_test()
        stamp = answer.headers.get("date") or answer.headers.get("Date")
    except (SlackApiError, SlackClientError, OSError):
        stamp = None
    if stamp:
        found.append(_skew(now, parsedate_to_datetime(str(stamp)), "Slack's"))
    return found


def _skew(now: datetime, theirs: datetime, whose: str) -> Finding:
    skew = (now - theirs).total_seconds()
    if abs(skew) > CLOCK_LIMIT:
        return Finding("clock", False, "high", {"detail": f"{skew:+.0f} s from {whose} clock"},
                       live=True)
    return Finding("clock", True, params={"against": whose}, live=True)


def _clock_of(url: str, timeout: float) -> datetime | None:
    """The time a web service says it is (its ``Date`` header, sent with
    any answer, a refusal too)."""
    import httpx

    try:
        stamp = httpx.get(url, timeout=timeout).headers.get("date")
        return parsedate_to_datetime(stamp) if stamp else None
    except (httpx.HTTPError, ValueError, TypeError):
        return None


def _teams(f: Installation, environment: Environment, now: datetime) -> list[Finding]:
    """The DSL channel checked through Graph and the Bot Connector, as at
    start-up and before every post (bot.teams.delivery.ChannelGuard), and
    Microsoft's clock (Graph's)."""
    import asyncio
    import threading

    from bot.outbox import ChannelUnsafe
    from bot.teams.app import sdk_app
    from bot.teams.connector import ConnectorError
    from bot.teams.delivery import ChannelGuard

    teams = environment.teams
    if not f.dsl_channel or not f.teams_team or not teams.client_id:
        return []  # already a finding, or no app registration to ask with
    app, connector = sdk_app(teams)
    theirs = _clock_of(connector.graph_url, connector.timeout)
    clock = [_skew(now, theirs, "Microsoft's")] if theirs else []
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="jigsaw-doctor", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(app.initialize(), loop).result(connector.timeout)
        connector.bind(loop)
        ChannelGuard(connector, f.dsl_channel, f.teams_team).check(force=True)
        return [Finding("channel_private", True, params={"channel": f.dsl_channel},
                        live=True), *clock]
    except ChannelUnsafe as exc:
        # Microsoft not reached says nothing about the channel itself.
        key = "channel_unreachable" if " now: " in str(exc) else "channel_private"
        return [Finding(key, False, "high", {"detail": str(exc), "front": "teams"},
                        live=True), *clock]
    except (ConnectorError, OSError, TimeoutError) as exc:
        return [Finding("channel_unreachable", False, "high",
                        {"detail": str(exc) or type(exc).__name__, "front": "teams"},
                        live=True), *clock]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def findings(f: Installation, settings: Settings, environment: Environment, *,
             now: datetime, slack_client: Any = None) -> list[Finding]:
    """The pack's findings and the live ones."""
    found = list(f.findings)
    found += _store(f, settings, environment, now)
    if f.front_end == "slack":
        found += _slack(f, environment, now, slack_client)
    elif f.front_end == "teams":
        found += _teams(f, environment, now)
    if not any(x.key == "clock" for x in found):
        found.append(Finding("clock_unchecked", True, params={
            "now": now.isoformat(timespec="seconds")}, live=True))
    return found


def run(f: Installation, settings: Settings, environment: Environment, out: TextIO, *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        slack_client: Any = None) -> int:
    """Print every check, what holds first, then what to fix, most serious
    first. Exit 1 while a high or medium risk is left."""
    prompts = default_prompts(f.nation)

    def words(kind: str, finding: Finding) -> str:
        return prompts.block(FINDINGS, f"{kind}_{finding.key}", **finding.params)

    found = findings(f, settings, environment, now=now(), slack_client=slack_client)
    front = {"slack": "Slack", "teams": "Teams", "terminal": "terminal"}[f.front_end]
    backend = "PostgreSQL" if f.backend == "postgresql" else "TinyDB"
    out.write(f"jigsaw doctor: {f.school_name} ({f.nation_title}, {front}, {backend})\n")
    for finding in found:
        if finding.ok:
            out.write(f"  ok    {words('ok', finding)}\n")
    order = {"high": 0, "medium": 1, "low": 2}
    to_fix = sorted((x for x in found if not x.ok), key=lambda x: order[x.severity])
    for finding in to_fix:
        mark = "FIX  " if finding.severity in ("high", "medium") else "check"
        out.write(f"  {mark} {words('risk', finding)}\n        -> {words('fix', finding)}\n")
    serious = sum(1 for x in to_fix if x.severity in ("high", "medium"))
    out.write(f"{serious} to fix, {len(to_fix) - serious} to check\n")
    return 1 if serious else 0
