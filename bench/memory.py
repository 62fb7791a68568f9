"""Memory kept per decision by a long-running Slack app.

Run from the repository root::

    .venv/bin/python -m bench.memory                  # 200 and 1,000 decisions
    .venv/bin/python -m bench.memory --counts 200 --trace   # with tracemalloc

The real app (the production Bolt app, its HTTP endpoint, the service and a
TinyDB store on a temporary directory) runs in this process against the fake
Slack Web API of the tests; a member of staff plays whole worries through
signed requests, as :class:`tests.harness.slack_driver.Driver` does. After a
warm-up, ``N`` more decisions are made; the growth of the process's RSS (and,
with ``--trace``, of the memory Python allocated, by the line that allocated
it) over those ``N`` is reported per decision. The fake's own record of calls
and messages grows by design and is cleared after every decision, so what is
left is the app's.

Most of what remains is the records themselves in the blocks the store keeps
parsed (:data:`storage.records.CACHED_BLOCKS` blocks of 256 records): it
grows with each record until that many blocks are held, then stops.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.service import DecisionService
from storage import TinyDBStore, records
from tests import scenarios as sc
from tests.harness.fakeslack import FakeSlack
from tests.harness.slack import SECRET, Harness, build_app, wait_idle
from tests.harness.slack_driver import Driver
from tests.harness.slackreq import open_transport

WARM_UP = 30


def rss_kb() -> int:
    """This process's resident set, in kB (``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def forget_fake(fake: FakeSlack) -> None:
    """Drop what the fake keeps of every call and message (it grows by design)."""
    fake.clear()
    with fake._lock:  # noqa: SLF001 - the fake's own history, not the app's
        for channel in fake._channels.values():  # noqa: SLF001
            channel.messages.clear()


@contextmanager
def running_app(root: Path) -> Iterator[Harness]:
    settings = Settings(school_name="Hillside Primary", dsl_channel="CDSL",
                        dsl_user_ids=("UDSL1",))
    store = TinyDBStore(root / "data")
    jigsaw = DecisionService(settings, store, clock=lambda: datetime.now(UTC))
    with FakeSlack() as fake:
        app, front, executor = build_app(jigsaw, fake)
        try:
            with open_transport("http", app, signing_secret=SECRET) as transport:
                yield Harness(fake, transport, front, jigsaw, app, executor)
                wait_idle(executor)
        finally:
            front.delivery.stop()
            executor.shutdown(wait=True)
            store.close()


def decide(harness: Harness) -> None:
    """One member of staff's worry, told to the DSL, from /infoshare to the record."""
    driver = Driver(harness)
    driver.start()
    if driver.run(sc.STAFF_CONCERN) is None:
        raise RuntimeError("the decision made no record")
    forget_fake(harness.fake)


def measure(count: int, *, trace: bool, top: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="jigsaw-memory-") as tmp, \
            running_app(Path(tmp)) as harness:
        for _ in range(WARM_UP):
            decide(harness)
        if trace:
            tracemalloc.start(4)
        gc.collect()
        rss_before, blocks_before = rss_kb(), sys.getallocatedblocks()
        snap_before = tracemalloc.take_snapshot() if trace else None
        started = time.monotonic()
        for _ in range(count):
            decide(harness)
        elapsed = time.monotonic() - started
        harness.idle()
        gc.collect()
        rss_after, blocks_after = rss_kb(), sys.getallocatedblocks()
        out = {"decisions": count, "seconds": round(elapsed, 1),
               "rss_kb_per_decision": round((rss_after - rss_before) / count, 2),
               # Python's live memory blocks (objects, mostly): unlike RSS,
               # this falls again when memory is given back.
               "objects_per_decision": round((blocks_after - blocks_before) / count, 1)}
        if snap_before is not None:
            snap_after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            stats = snap_after.compare_to(snap_before, "traceback")
            grown = sum(s.size_diff for s in stats)
            out["traced_kb_per_decision"] = round(grown / 1024 / count, 2)
            print(f"-- top {top} allocation sites by growth over {count} decisions")
            for stat in stats[:top]:
                print(f"{stat.size_diff / 1024 / count:8.2f} kB/decision "
                      f"{stat.count_diff / count:7.1f} blocks/decision")
                for frame in stat.traceback.format()[-8:]:
                    print("    " + frame)
        store = harness.jigsaw.store
        out["sessions_in_hot_store"] = len(store.all_sessions())
        out["records"] = len(store.list_records())
        # Blocks of 256 records kept parsed (storage.records.CACHED_BLOCKS at most).
        blocks = getattr(store, "_block", None)
        if blocks is not None:
            out["blocks_cached"] = blocks.cache_info().currsize
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="200,1000",
                        help="decisions measured after the warm-up, comma-separated")
    parser.add_argument("--trace", action="store_true",
                        help="also trace Python allocations (slower)")
    parser.add_argument("--top", type=int, default=12, help="allocation sites shown")
    parser.add_argument("--cached-blocks", type=int, default=records.CACHED_BLOCKS,
                        help="record blocks the store keeps parsed (to see what they cost)")
    args = parser.parse_args(argv)
    records.CACHED_BLOCKS = args.cached_blocks
    for count in (int(c) for c in args.counts.split(",")):
        print(measure(count, trace=args.trace, top=args.top), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
