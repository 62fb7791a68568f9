"""Crash safety: the real app in a child process is SIGKILLed at random
moments while people are mid-decision, and restarted on the same data.

Whatever the moment, a record someone was told is submitted is stored whole
and verifies, every file parses, an interrupted decision carries on from its
current question, no session gets two records and no record or alert reaches
the DSL channel twice.
"""

from __future__ import annotations

import io
import random
import threading
from pathlib import Path
from typing import Any

from bot import admin
from bot.slack.delivery import ALERT_EVENT, RECORD_EVENT
from storage import TinyDBStore
from tests import scenarios
from tests.harness.fakeslack import DSL_CHANNEL_ID, DSL_MEMBERS, Call
from tests.harness.faults import (
    WAIT,
    WatchedSlack,
    assert_files_parse,
    assert_posted_once,
    assert_records_whole,
    sessions,
    settings,
)
from tests.harness.process import AppProcess
from tests.harness.staff import RECORD_ID, Staff, Tally

SEED = 20251125
DRIVERS = 8
EACH = 3
# If every kill has not landed by the time the planned decisions are done (a
# fast machine), people go on deciding, up to this many more each.
EXTRA = 6
# Where each kill lands: after a random number of Slack calls, or while Slack
# holds the reply to a DSL post it has already made (the worst moment).
STRIKES = ["alert_post", "calls", "record_post", "calls", "calls", "record_post", "calls"]
FIRST = [scenarios.IMMEDIATE_DANGER, scenarios.ALLEGATION]
POOL = [scenarios.IMMEDIATE_DANGER, scenarios.ALLEGATION, scenarios.STAFF_RECORDS_REQUEST,
        scenarios.STAFF_POLICE_REQUEST]
# The last drivers are on the DSL team (members of its channel): they also
# make the DSL's own decisions, which no one else is offered.
DSL_DRIVERS = 2
DSL_POOL = [scenarios.IMMEDIATE_DANGER, scenarios.ALLEGATION, scenarios.EARLY_HELP_REFUSED]


def strike(kind: str, fake: WatchedSlack, rng: random.Random, done: threading.Event) -> bool:
    """Wait for the moment to kill; False if every driver finished first."""
    if kind == "calls":
        return fake.wait_calls(fake.mark() + rng.randint(15, 90), stop=done.is_set)
    event = ALERT_EVENT if kind == "alert_post" else RECORD_EVENT
    taken = threading.Event()

    def hold(call: Call) -> bool:
        """Only the next DSL post of this kind (checked under the fake's lock)."""
        meta = call.args.get("metadata")
        if (taken.is_set() or call.args.get("channel") != DSL_CHANNEL_ID
                or not isinstance(meta, dict) or meta.get("event_type") != event):
            return False
        taken.set()
        return True

    mark = fake.mark()
    fake.fail_while("chat.postMessage", hold, delay=WAIT * 3, effect=True)
    held = fake.wait_new(mark, lambda c: c if c.fault else None, stop=done.is_set,
                         timeout=WAIT * 2)
    return held is not None


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data = tmp_path / "data"
    pools = [DSL_POOL if d >= DRIVERS - DSL_DRIVERS else POOL for d in range(DRIVERS)]
    scripts = [[list(FIRST[d % 2])] + [list(rng.choice(pools[d])) for _ in range(EACH - 1 + EXTRA)]
               for d in range(DRIVERS)]
    with WatchedSlack() as fake:
        fake.set_members(DSL_CHANNEL_ID, [*DSL_MEMBERS, *(
            f"UK{d:02d}" for d in range(DRIVERS - DSL_DRIVERS, DRIVERS))])
        app = AppProcess(data, fake.base_url, cwd=tmp_path)
        try:
            app.start()
            staff = [Staff(f"UK{d:02d}", fake, app, settings()) for d in range(DRIVERS)]
            done = threading.Event()
            struck = threading.Event()  # every planned kill has landed
            parsed_at_kills = 0
            errors: list[BaseException] = []

            def work(d: int) -> None:
                try:
                    for n, script in enumerate(scripts[d]):
                        if n >= EACH and struck.is_set():
                            break
                        staff[d].decide(script, child=f"KC-{d:02d}-{n}")
                except BaseException as exc:  # reported below
                    errors.append(exc)

            def finish() -> None:
                for t in threads:
                    t.join()
                done.set()
                fake.nudge()

            threads = [threading.Thread(target=work, args=(d,), name=f"staff-{d}", daemon=True)
                       for d in range(DRIVERS)]
            for t in threads:
                t.start()
            finisher = threading.Thread(target=finish, daemon=True)
            finisher.start()
            for kind in STRIKES:
                if not strike(kind, fake, rng, done):
                    break
                app.kill()
                parsed_at_kills += assert_files_parse(data)  # whatever the moment
                fake.nudge()
                fake.clear_faults()
                fake.release_delayed()
                app.start()
            struck.set()
            fake.clear_faults()
            finisher.join()
            assert not errors, errors
            assert app.kills == len(STRIKES), "the drivers finished before every kill"

            # The outbox drains: every record and alert reaches the channel.
            reader = TinyDBStore(data)
            try:
                made = list(reader.iter_records())
            finally:
                reader.close()
            ids = {r["id"] for r in made}
            alerts = {e["id"] for s in sessions(data) for e in s.get("events", [])} | {
                f"{r['session_id']}:urgent" for r in made if r["immediate_danger"]["alerted_at"]}
            fake.wait_until(lambda f: ids <= set(f.dsl_posts(RECORD_EVENT))
                            and alerts <= set(f.dsl_posts(ALERT_EVENT)), timeout=WAIT)
            assert app.stop() == 0, app.tail()
        finally:
            app.close()

        figures = check_after(fake, data, staff)
    figures.update(kills=app.kills, restarts=app.starts - 1,
                   files_parsed_at_kills=parsed_at_kills)
    print("\ncrash-safety figures:", " ".join(f"{k}={v}" for k, v in figures.items()))


def check_after(fake: WatchedSlack, data: Path, staff: list[Staff]) -> dict[str, Any]:
    """Everything on disk once the app is stopped; returns the figures."""
    store = TinyDBStore(data)
    try:
        files = assert_files_parse(data)
        out = io.StringIO()
        assert admin.verify(store, out) == 0, out.getvalue()  # as `python -m bot verify`
        stored = {r["id"]: r for r in assert_records_whole(store)}
        decisions = [d for s in staff for d in s.tally.decisions]
        assert DRIVERS * EACH <= len(decisions) <= DRIVERS * (EACH + EXTRA)
        assert len(stored) == len(decisions), "a record too many or too few"
        # Every submission anyone was told of is stored whole.
        told = {m[1] for c in fake.calls("chat.postMessage") if c.ok
                and str(c.args.get("channel", "")).startswith("DUK")
                and str(c.args.get("text", "")).startswith("Submitted")
                and (m := RECORD_ID.search(str(c.args.get("text", "")))) is not None}
        lost = [rid for rid in told if rid not in stored]
        assert not lost, lost
        for s in staff:
            for d in s.tally.decisions:
                record = stored[d.record_id]
                assert (record["session_id"], record["child_ref"], record["recorded_by"]) == (
                    d.session_id, d.child, s.user)
        docs = sessions(data)
        assert all(doc["status"] == "submitted" for doc in docs), "a decision left open"
        assert {doc["record_id"] for doc in docs} <= set(stored)
        assert_posted_once(fake, store, data)
        tally = Tally()
        for s in staff:
            for name in ("answers", "lost_requests", "recoveries", "resumed_in_progress",
                         "told_finished_on_resume"):
                setattr(tally, name, getattr(tally, name) + getattr(s.tally, name))
        assert tally.resumed_in_progress >= len(STRIKES), tally
        # The posts whose reply was lost in a kill were found in the channel
        # history afterwards, not posted again (assert_posted_once).
        held = [c for c in fake.calls("chat.postMessage") if c.fault]
        assert len(held) == sum(1 for k in STRIKES if k != "calls")
        return {
            "decisions": len(decisions),
            "records": len(stored),
            "alerts": len(fake.dsl_posts(ALERT_EVENT)),
            "answers": tally.answers,
            "requests_lost_to_kills": tally.lost_requests,
            "resumed_mid_decision": tally.resumed_in_progress,
            "told_on_resume": tally.told_finished_on_resume,
            "posts_reply_lost_in_kill": len(held),
            "store_files": files,
            "duplicate_posts": 0,
            "lost": len(lost),
        }
    finally:
        store.close()
