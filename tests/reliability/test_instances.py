"""Several instances: three real app processes in HTTP mode on one
PostgreSQL database serve two schools behind a (test) load balancer. One is
killed with SIGKILL while people in both schools are deciding; afterwards
every record is there once, in its own school's DSL channel once, and every
school's audit chain verifies."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from bot import record as records
from bot.config import Settings
from bot.slack.delivery import RECORD_EVENT
from storage.postgres import Database
from tests import scenarios
from tests.harness.faults import SECRET, WAIT, AppDown, WatchedSlack, post
from tests.harness.pg import fresh_schema
from tests.harness.process import AppProcess
from tests.harness.schools import CLIENT_ID, CLIENT_SECRET, GRID, HILLSIDE, as_from, install, trust
from tests.harness.slackreq import AckResponse, HttpTransport, SlackRequest
from tests.harness.staff import Staff

AUDIT_KEY = "instances-test-audit-key-0123456789abcdef"
EACH = 3


class Balancer:
    """Round-robin over the live instances, as a load balancer would: a
    request to an instance that died goes to the next one."""

    def __init__(self, apps: list[AppProcess], *, team_id: str,
                 enterprise_id: str | None = None, start: int = 0) -> None:
        self.apps = apps
        self.team_id = team_id
        self.enterprise_id = enterprise_id
        self.next = start
        self.last = ""  # where the latest request went, for a failure's report
        self.transports = {id(a): HttpTransport(f"http://127.0.0.1:{a.port}/slack/events",
                                                SECRET, timeout=WAIT) for a in apps}

    def send(self, request: SlackRequest, **kwargs: Any) -> AckResponse:
        request = as_from(request, team_id=self.team_id, enterprise_id=self.enterprise_id)
        for _ in range(len(self.apps) * 2):
            app = self.apps[self.next % len(self.apps)]
            self.next += 1
            if app.proc is None:
                continue
            self.last = f"instance {self.apps.index(app)} (port {app.port})"
            try:
                return post(self.transports[id(app)], request, **kwargs)
            except AppDown:
                continue
        raise AppDown("no instance is up")

    def epoch(self) -> int:
        return sum(a.kills for a in self.apps)

    def wait_up(self) -> int:
        return self.epoch()


def test_three_instances_one_killed_every_record_once(tmp_path: Path) -> None:
    with fresh_schema() as url, WatchedSlack() as fake:
        db = Database(url, audit_key=AUDIT_KEY.encode())
        with trust(db, fake, start=False) as base:
            install(base, fake, "code-a", bot_token="xoxb-hillside", team_id="T0001")
            install(base, fake, "code-b", bot_token="xoxb-grid", team_id=None,
                    enterprise_id="E0002", org_wide=True)
        db.add_school("slack-e0002", settings=GRID)

        env = {"JIGSAW_DATABASE_URL": url, "JIGSAW_SLACK_CLIENT_ID": CLIENT_ID,
               "JIGSAW_SLACK_CLIENT_SECRET": CLIENT_SECRET, "JIGSAW_AUDIT_KEY": AUDIT_KEY}
        apps = [AppProcess(tmp_path / f"data{i}", fake.base_url, cwd=tmp_path,
                           extra_env=env) for i in range(3)]
        try:
            for app in apps:
                app.start()
            people = [("UA1", "T0001", None, HILLSIDE), ("UA2", "T0001", None, HILLSIDE),
                      ("UB1", "T0777", "E0002", GRID), ("UB2", "T0777", "E0002", GRID)]
            staff = [Staff(user, fake, Balancer(apps, team_id=team, enterprise_id=org,
                                                start=n),
                           Settings(nation=raw["school"]["nation"],
                                    dsl_channel=raw["slack"]["dsl_channel"]))
                     for n, (user, team, org, raw) in enumerate(people)]
            errors: list[BaseException] = []
            made: dict[str, list[str]] = {"hillside": [], "slack-e0002": []}

            def work(n: int) -> None:
                school = "hillside" if n < 2 else "slack-e0002"
                try:
                    for k in range(EACH):
                        decision = staff[n].decide(list(scenarios.STAFF_CONCERN),
                                                   child=f"KC-{n}-{k}")
                        made[school].append(decision.record_id)
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(n,), daemon=True)
                       for n in range(len(staff))]
            for t in threads:
                t.start()
            # Kill one instance while both schools are mid-decision.
            try:
                fake.wait_calls(fake.mark() + 40, stop=lambda: False)
            except Exception as exc:
                raise AssertionError([a.tail() for a in apps] + [
                    (c.method, c.response) for c in fake.calls()[-6:]] + errors) from exc
            apps[0].kill()
            assert any(t.is_alive() for t in threads), "the kill came after every decision"
            for t in threads:
                t.join(WAIT * 6)
            # With what each instance logged, so a failure explains itself.
            assert not errors, [*errors, *(a.tail(30) for a in apps)]
            assert all(len(ids) == EACH * 2 for ids in made.values()), made

            # The survivors deliver everything (the dead one's claims included).
            for school, channel in (("hillside", "CDSL"), ("slack-e0002", "CDSLB")):
                store = db.store(school, create=False)
                deadline = time.monotonic() + WAIT * 2
                while (store.list_records(delivery_state_not_in=records.SETTLED_STATES)
                       and time.monotonic() < deadline):
                    fake.wait_calls(fake.mark() + 1, stop=lambda: False, timeout=0.5)
                stored = list(store.iter_records())
                assert sorted(r["id"] for r in stored) == sorted(made[school])
                assert len({r["session_id"] for r in stored}) == len(stored)
                posts: dict[str, int] = {}
                for message in fake.messages(channel):
                    meta = message.get("metadata") or {}
                    if meta.get("event_type") == RECORD_EVENT and not message.get("thread_ts"):
                        rid = meta["event_payload"]["record_id"]
                        posts[rid] = posts.get(rid, 0) + 1
                assert posts == {r["id"]: 1 for r in stored}, (school, posts)
                for r in stored:
                    assert r["delivery"]["state"] == "posted", r["delivery"]
                report = store.verify_integrity(records.verify)
                assert report.problems == [], report.problems
        finally:
            for app in apps:
                app.close()
            db.close()
