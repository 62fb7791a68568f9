"""Two processes delivering from one data directory never post twice.

The app refuses to start twice on one directory, but delivery does not rely
on that: each record is claimed in the store (pending -> sending, with an
owner and a lease) before it is posted. Here two real processes run the
outbox on the same directory while Slack refuses the first posts (some of
them after posting anyway); afterwards every record is in the DSL channel
exactly once. A claim left by a process that died mid-post is taken over
only once its lease has run out, and the post that got through is found
rather than repeated.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import claims
from bot.config import Settings
from bot.service import DecisionService
from bot.slack.delivery import RECORD_EVENT
from storage import TinyDBStore
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call
from tests.harness.faults import InProcessApp, WatchedSlack, assert_posted_once
from tests.harness.live import decide_in_process, subprocess_env

WORKER = Path(__file__).with_name("delivery_worker.py")
RECORDS = 8


@pytest.fixture
def fake() -> Iterator[WatchedSlack]:
    with WatchedSlack() as f:
        yield f


def make_records(data: Path, count: int) -> list[str]:
    store = TinyDBStore(data)
    app = DecisionService(Settings(dsl_channel=DSL_CHANNEL_ID), store)
    scripts = itertools.cycle([sc.ALLEGATION, sc.NO_PURPOSE, sc.EARLY_HELP_CONSENT])
    ids = [decide_in_process(app, next(scripts), user=f"U{n:03d}")["id"] for n in range(count)]
    store.close()
    return ids


def numbered() -> Any:
    """Number each post to the DSL channel once, whichever fault rule asks."""
    seen: dict[int, int] = {}

    def number(call: Call) -> int:
        if call.args.get("channel") != DSL_CHANNEL_ID:
            return 0
        return seen.setdefault(id(call), len(seen) + 1)
    return number


def test_two_processes_on_one_directory_post_each_record_once(
        tmp_path: Path, fake: WatchedSlack) -> None:
    data = tmp_path / "data"
    ids = make_records(data, RECORDS)
    number = numbered()
    # The first three posts are refused; the next three are posted, then
    # answered 500 (the caller cannot tell they went through).
    fake.fail_while("chat.postMessage", lambda c: 0 < number(c) <= 3, status=500)
    fake.fail_while("chat.postMessage", lambda c: 3 < number(c) <= 6, status=500, effect=True)
    workers = [subprocess.Popen([sys.executable, str(WORKER), str(data), fake.base_url],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                env=subprocess_env(data)) for _ in range(2)]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        outputs = [w.communicate("go\n", timeout=120) for w in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert out.strip().endswith("done 0"), (out, err)
    posts = fake.dsl_posts(RECORD_EVENT)
    assert sorted(posts) == sorted(ids)
    assert {rid: len(found) for rid, found in posts.items()} == dict.fromkeys(ids, 1)
    # Three refusals posted again; three that went through found in the
    # channel's history instead of being posted again.
    assert fake.dsl_attempts() == RECORDS + 3
    store = TinyDBStore(data)
    for record_id in ids:
        record = store.get_record(record_id)
        assert record is not None and record["delivery"]["state"] == "posted"
        assert record["delivery"]["ts"] == posts[record_id][0]["ts"]
    store.close()


def test_a_claim_left_by_a_dead_process_is_taken_over_after_its_lease(
        tmp_path: Path, fake: WatchedSlack) -> None:
    """A process claimed a record, Slack posted it, and the process died
    before it could write that down. Another process waits for the lease,
    then finds the post in the channel instead of posting again."""
    data = tmp_path / "data"
    [record_id] = make_records(data, 1)
    store = TinyDBStore(data)
    start = datetime.now(UTC)
    assert claims.claim_record(store, record_id, "other-host:1234:dead", start) is not None
    store.close()
    fake.add_message(DSL_CHANNEL_ID, text="(the dead process's post)",
                     metadata={"event_type": RECORD_EVENT,
                               "event_payload": {"record_id": record_id}})
    before = fake.dsl_attempts()
    clock = {"now": start + timedelta(seconds=30)}
    with InProcessApp(data, fake) as running:
        running.jigsaw.clock = lambda: clock["now"]
        # Lease still running: the live owner might be posting right now.
        assert running.front.delivery.flush(force=True) == 1
        assert fake.dsl_attempts() == before
        clock["now"] = start + claims.LEASE + timedelta(seconds=1)
        assert running.front.delivery.flush(force=True) == 0
        assert fake.dsl_attempts() == before  # found, not posted again
        assert_posted_once(fake, running.store, data)


def test_a_claim_left_by_a_dead_process_on_this_machine_is_taken_over_at_once(
        tmp_path: Path, fake: WatchedSlack) -> None:
    """After a crash and restart on the same machine nobody waits for the
    lease: the holder is known to be gone."""
    data = tmp_path / "data"
    [record_id] = make_records(data, 1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    owner = f"{socket.gethostname()}:{dead.stdout.strip()}:gone"
    assert claims.holder_gone(owner) and not claims.holder_gone(claims.new_owner())
    store = TinyDBStore(data)
    assert claims.claim_record(store, record_id, owner, datetime.now(UTC)) is not None
    store.close()
    with InProcessApp(data, fake) as running:
        assert running.front.delivery.flush(force=True) == 0
        assert_posted_once(fake, running.store, data)
