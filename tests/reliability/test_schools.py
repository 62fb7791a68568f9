"""Many schools on one database: each installed through Slack's OAuth flow
(one workspace, one Enterprise Grid org-wide install), each with its own
settings in the database, and each walled off from the other. A DSL of one
school cannot see, review or export another school's record by any path:
review buttons, the full view, App Home, the CLI export. ``jigsaw verify``
checks each school apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg

from bot.config import Settings
from bot.slack.wire import Action
from storage.postgres import Database
from tests import scenarios
from tests.harness.faults import SECRET, WatchedSlack
from tests.harness.pg import fresh_schema
from tests.harness.schools import GRID, SchoolLink, install, trust
from tests.harness.slackreq import HttpTransport, SlackRequest, app_home_opened, block_action
from tests.harness.staff import Staff

ROOT = Path(__file__).resolve().parents[2]
AUDIT_KEY = "schools-test-audit-key-0123456789abcdef"


def _cli(url: str, tmp: Path, *args: str, school: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIGSAW_"))}
    env.update(PYTHONPATH=str(ROOT), JIGSAW_DATABASE_URL=url, JIGSAW_AUDIT_KEY=AUDIT_KEY,
               JIGSAW_DATA_DIR=str(tmp / "data"))
    if school:
        env["JIGSAW_SCHOOL"] = school
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=env, cwd=tmp, timeout=120)


def _texts(fake: WatchedSlack, mark: int) -> str:
    return "\n".join(repr(c.args) + repr(c.response) for c in fake.calls()[mark:])


def test_one_schools_dsl_cannot_reach_anothers_records(tmp_path: Path) -> None:
    with fresh_schema() as url, WatchedSlack() as fake:
        db = Database(url, audit_key=AUDIT_KEY.encode())
        # Hillside registered by the trust's admin first; the Grid school is
        # created by its install and given its settings afterwards.
        with closing(db), trust(db, fake) as base:
            # Slack checks the events URL before any school has installed.
            check = {"token": "t", "challenge": "c-123", "type": "url_verification"}
            verification = SlackRequest("events_api", check, json.dumps(check),
                                        "application/json")
            transport = HttpTransport(f"{base}/slack/events", SECRET)
            answer = transport.send(verification)
            assert answer.status == 200 and json.loads(answer.body) == {"challenge": "c-123"}
            assert transport.send(verification, signing_secret="wrong").status == 401
            install(base, fake, "code-a", bot_token="xoxb-hillside", team_id="T0001",
                    team_name="Hillside")
            page = install(base, fake, "code-b", bot_token="xoxb-grid", team_id=None,
                           enterprise_id="E0002", org_wide=True)
            assert "installed" in page
            school_b = db.school_for(team_id=None, enterprise_id="E0002",
                                     enterprise_install=True)
            assert school_b == "slack-e0002"
            db.add_school(school_b, settings=GRID)

            events = f"{base}/slack/events"
            link_a = SchoolLink(events, team_id="T0001")
            link_b = SchoolLink(events, team_id="T0777", enterprise_id="E0002")
            sa = Settings(nation="england", dsl_channel="CDSL")
            sb = Settings(nation="wales", dsl_channel="CDSLB")
            a1 = Staff("UA1", fake, link_a, sa).decide(list(scenarios.STAFF_CONCERN), "KA-1")
            b1 = Staff("UB1", fake, link_b, sb).decide(list(scenarios.STAFF_CONCERN), "KB-1")
            b2 = Staff("UB2", fake, link_b, sb).decide(list(scenarios.STAFF_CONCERN), "KB-2")
            assert (a1.record_id, b1.record_id, b2.record_id) == (
                "ISD-2026-0001", "ISD-2026-0001", "ISD-2026-0002")
            store_a, store_b = db.store("hillside"), db.store(school_b)
            # Each school's record went to its own channel, with its own bot token.
            posts = [c for c in fake.calls("chat.postMessage") if c.ok
                     and c.args.get("channel") in ("CDSL", "CDSLB")]
            for call in posts:
                school_of = "KB" if call.args["channel"] == "CDSLB" else "KA"
                token = "xoxb-grid" if school_of == "KB" else "xoxb-hillside"
                assert call.token == token
                assert ("KA" if school_of == "KB" else "KB") not in repr(call.args)
            assert store_a.count_records() == 1 and store_b.count_records() == 2
            before_b = {r["id"]: r for r in store_b.iter_records()}

            # Hillside's DSL, in Hillside's workspace, names the Grid school's ids.
            mark = fake.mark()
            for record_id in ("ISD-2026-0001", "ISD-2026-0002"):
                value = f'{{"r":"{record_id}"}}'
                for action in (Action.REVIEW_ACK, Action.REVIEW_VIEW, Action.REVIEW_TAKE_ON):
                    link_a.send(block_action("UDSL1", action_id=action, value=value,
                                             channel="CDSL"))
            link_a.send(app_home_opened("UDSL1"))
            fake.wait_new(mark, lambda c: c if c.method == "views.publish" else None)
            # ... and the same DSL, in the Grid organisation's workspace.
            for record_id in ("ISD-2026-0001", "ISD-2026-0002"):
                value = f'{{"r":"{record_id}"}}'
                for action in (Action.REVIEW_ACK, Action.REVIEW_VIEW):
                    link_b.send(block_action("UDSL1", action_id=action, value=value,
                                             channel="CDSLB"))
            link_b.send(app_home_opened("UDSL1"))
            fake.wait_new(mark, lambda c: c if c.method == "views.publish"
                          and c.token == "xoxb-grid" else None)
            seen = _texts(fake, mark)
            assert "KB-1" not in seen and "KB-2" not in seen
            assert "KA-1" in seen  # Hillside's own record, to Hillside's own DSL
            after_b = {r["id"]: r for r in store_b.iter_records()}
            for record_id, record in before_b.items():
                now = after_b[record_id]
                assert now["review_status"] == record["review_status"] == "pending"
                assert now.get("decision") == record.get("decision")
                added = [e.get("event") or e.get("action") for e in
                         now["audit"][len(record["audit"]):]]
                assert all("refus" in str(e) or "denied" in str(e) for e in added), added

            # The CLI: Hillside's export cannot name the Grid school's second record,
            # and an export of everything holds Hillside's records only.
            denied = _cli(url, tmp_path, "export", "--record", "ISD-2026-0002", "--reason",
                          "test", "--out", str(tmp_path / "one.json"), school="hillside")
            assert denied.returncode != 0 and not (tmp_path / "one.json").exists()
            done = _cli(url, tmp_path, "export", "--reason", "test", "--out",
                        str(tmp_path / "all.json"), school="hillside")
            assert done.returncode == 0, done.stderr
            exported = (tmp_path / "all.json").read_text()
            assert "KA-1" in exported and "KB-" not in exported

            # verify: each school apart. Break the Grid school's record in SQL.
            ok = _cli(url, tmp_path, "verify")
            assert ok.returncode == 0, ok.stdout + ok.stderr
            assert "school hillside:" in ok.stdout and f"school {school_b}:" in ok.stdout
            with db.tx() as conn:
                conn.execute("UPDATE records SET body = replace(body, 'KB-2', 'KB-9') "
                             "WHERE school = %s", (school_b,))
            bad = _cli(url, tmp_path, "verify")
            assert bad.returncode == 1
            head, _, tail = bad.stdout.partition(f"school {school_b}:")
            assert "differs from its last recorded write" in tail
            assert "problem" in head and "differs" not in head  # hillside still clean
            assert "2 school(s) checked, 1 with problems" in bad.stdout


def test_with_a_data_key_tokens_settings_and_child_refs_are_encrypted_in_the_database(
        tmp_path: Path) -> None:
    from storage import generate_key

    with fresh_schema() as url, WatchedSlack() as fake:
        db = Database(url, key=generate_key(), audit_key=AUDIT_KEY.encode())
        with closing(db), trust(db, fake) as base:
            install(base, fake, "code-a", bot_token="xoxb-hillside-secret", team_id="T0001",
                    team_name="Hillside")
            link = SchoolLink(f"{base}/slack/events", team_id="T0001")
            staff = Staff("UA1", fake, link, Settings(nation="england", dsl_channel="CDSL"))
            made = staff.decide(list(scenarios.STAFF_CONCERN), "KA-SECRET-1")
            # The school's settings and token were read back: the record went
            # to Hillside's DSL channel with Hillside's token.
            posts = [c for c in fake.calls("chat.postMessage") if c.ok
                     and c.args.get("channel") == "CDSL"]
            assert posts and all(c.token == "xoxb-hillside-secret" for c in posts)
            store = db.store("hillside")
            assert [r["id"] for r in store.records_for_child("ka-secret-1")] == [made.record_id]
            with psycopg.connect(url) as conn:
                dump = json.dumps([conn.execute(f"SELECT * FROM {t}").fetchall() for t in
                                   ("records", "schools", "slack_installations", "slack_bots",
                                    "sessions", "meta")], default=str)
                settings = conn.execute("SELECT settings FROM schools WHERE id = "
                                        "'hillside'").fetchone()
            assert settings is not None and list(settings[0]) == ["sealed"]
            # (The record's delivery column names the channel it was posted to.)
            for secret in ("xoxb-hillside-secret", "KA-SECRET-1", "UDSL1"):
                assert secret not in dump, secret
