"""Realistic stores for the benchmark: N decision records spread over years.

Records are built the way the app builds them: the real service walks the
scripted scenarios (``tests/scenarios.py``) to completed sessions, and each
record is :func:`bot.record.build` of a copy of one of those sessions with a
different person, date and child. The DSL's review (acknowledged, follow-up,
notes, closed) is applied with the same functions the app uses, so every
audit chain is intact and ``jigsaw verify`` passes on a generated store.

Writing through ``Store.create_record`` rewrites the record's whole block
(up to 256 records) each time: about 4 ms a record, several minutes for
50,000. So the archive is written one block at a time, in the archive's own
layout and through the storage's own file writer, and sealed (audit MACs and
ledger) by the store's own migration when :func:`generate` first opens it;
:func:`check_layout` proves on a sample that this gives exactly the files
``create_record`` would write.

``python -m bench.generate --records 50000 --out DIR`` makes one by hand.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot import record as records
from bot.config import Environment, Settings
from bot.flow import SUBMITTED, Session
from bot.flow.engine import iso
from bot.prompts import Prompts, default_prompts
from bot.service import DecisionService
from storage import TinyDBStore
from storage.atomic import AtomicJSONStorage
from storage.crypto import cipher_for
from storage.files import make_private_dirs
from storage.index import format_record_id
from storage.jsonfile import JSONFile
from storage.ledger import BLOCK_SIZE
from storage.records import TABLE
from tests import scenarios

# (scenario, weight): most records are ordinary decisions; emergencies and
# allegations are rarer.
MIX: tuple[tuple[str, int], ...] = (
    ("EARLY_HELP_CONSENT", 22),
    ("EARLY_HELP_REFUSED", 14),
    ("REFUSED_SIGNIFICANT", 14),
    ("POLICE_PREJUDICE", 12),
    ("NOT_SURE", 14),
    ("NO_PURPOSE", 10),
    ("ALLEGATION", 8),
    ("IMMEDIATE_DANGER", 6),
)
STAFF = tuple(f"UST{n:05d}" for n in range(1, 151))
DSL_USERS = ("UDSL1", "UDSL2")
YEARS_BACK = 6
RECENT_DAYS = 14  # younger records are mostly still awaiting the DSL's review
_LETTERS = "ABCDEFGHJKLMNPRSTWY"


def bench_settings(dsl_channel: str = "CDSL") -> Settings:
    """The school the benchmark pretends to be."""
    return Settings(school_name="Hillside Primary School", dsl_channel=dsl_channel)


@dataclass(frozen=True)
class Template:
    name: str
    session: dict[str, Any]


def templates(settings: Settings, prompts: Prompts) -> list[Template]:
    """One completed session per scenario, walked through the real service."""
    found: list[Template] = []
    with tempfile.TemporaryDirectory(prefix="jigsaw-templates-") as tmp:
        store = TinyDBStore(Path(tmp) / "data")
        app = DecisionService(settings, store, prompts=prompts)
        try:
            for name, _ in MIX:
                session = app.start("UST00001", "slack")
                outcome = None
                for answer in getattr(scenarios, name):
                    outcome = app.answer(session.id, answer)
                    if not outcome.result.accepted:
                        raise RuntimeError(f"scenario {name} refused {answer!r}: "
                                           f"{outcome.result.code}")
                if outcome is None or outcome.session.status != SUBMITTED:
                    raise RuntimeError(f"scenario {name} did not finish")
                found.append(Template(name, outcome.session.to_dict()))
        finally:
            store.close()
    return found


def _child_ref(rng: random.Random) -> str:
    kind = rng.random()
    initials = rng.choice(_LETTERS) + rng.choice(_LETTERS)
    if kind < 0.5:
        return initials
    if kind < 0.85:
        return f"{initials}-{rng.randint(1000, 9999)}"
    return f"Y{rng.randint(1, 13)} {initials}"


def _review(record: dict[str, Any], created: datetime, now: datetime,
            rng: random.Random) -> None:
    """How far the DSL got, through the audit trail like the app does it."""
    age = now - created
    recent = age < timedelta(days=RECENT_DAYS)
    if recent and rng.random() < 0.7:
        return  # still pending
    dsl = rng.choice(DSL_USERS)
    at = created + timedelta(hours=rng.uniform(0.2, min(48.0, age.total_seconds() / 3600)))
    roll = rng.random()
    if roll < 0.10:
        due = (at + timedelta(days=rng.randint(1, 14))).date().isoformat()
        records.follow_up_needed(record, by=dsl, at=at, note="Check in with the class teacher",
                                 due=due)
    else:
        records.acknowledge(record, by=dsl, at=at)
    if rng.random() < 0.08:
        records.add_note(record, by=dsl, at=at + timedelta(hours=1),
                         note="Spoke to the family support worker.")
    if not recent and roll > 0.95:
        records.close(record, by=dsl, at=min(at + timedelta(days=30), now))


def build_records(n: int, *, seed: int = 1, now: datetime | None = None,
                  settings: Settings | None = None, prompts: Prompts | None = None
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``n`` records, oldest first and with their final ids, and the
    submitted sessions they came from."""
    settings = settings or bench_settings()
    prompts = prompts or default_prompts()
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    pool = templates(settings, prompts)
    weights = [w for _, w in MIX]
    span = YEARS_BACK * 365 * 86400
    moments = sorted(now - timedelta(seconds=rng.uniform(3600, span)) for _ in range(n))
    seqs: dict[int, int] = {}
    built: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    for created in moments:
        template = rng.choices(pool, weights)[0]
        doc = dict(template.session)
        doc["id"] = uuid.uuid4().hex
        doc["user"] = rng.choice(DSL_USERS) if rng.random() < 0.04 else rng.choice(STAFF)
        doc["answers"] = {**doc["answers"], "child_ref": _child_ref(rng)}
        started = created - timedelta(minutes=rng.uniform(4, 40))
        doc["created_at"], doc["updated_at"] = iso(started), iso(created)
        # Old alerts went out long ago (delivered, with the message ts).
        doc["events"] = [{**e, "id": f"{doc['id']}:urgent", "at": iso(started),
                          "user": doc["user"], "delivered": True,
                          "ts": f"{started.timestamp():.6f}"} for e in doc["events"]]
        doc["meta"] = {"dm": f"D{doc['user']}"}
        session = Session.from_dict(doc)
        record = records.build(session, settings, prompts, now=created)
        year = created.year
        seqs[year] = seq = seqs.get(year, 0) + 1
        record["id"] = format_record_id(year, seq)
        _review(record, created, now, rng)
        posted = created + timedelta(seconds=rng.uniform(0.3, 2.0))
        record["delivery"] = {"state": "posted", "channel": settings.dsl_channel,
                              "ts": f"{posted.timestamp():.6f}", "posted_at": iso(posted)}
        built.append(record)
        doc.update(status=SUBMITTED, record_id=record["id"])
        sessions.append(doc)
    return built, sessions


def write_archive(data_dir: Path, built: list[dict[str, Any]], key: bytes | None = None) -> int:
    """Write the records (oldest first, ids assigned) block by block; returns
    how many block files were written."""
    root = Path(data_dir) / "records"
    make_private_dirs(root)
    blocks: dict[Path, dict[str, Any]] = {}
    for record in built:
        year, seq = (int(x) for x in record["id"].split("-")[1:])
        path = root / str(year) / f"block-{(seq - 1) // BLOCK_SIZE:04d}.json"
        block = blocks.setdefault(path, {TABLE: {}})
        block[TABLE][record["id"]] = record
    cipher = cipher_for(key)
    for path, block in blocks.items():
        make_private_dirs(path.parent)
        JSONFile(path, cipher).save(block)
    return len(blocks)


def write_sessions(data_dir: Path, sessions: list[dict[str, Any]],
                   key: bytes | None = None) -> None:
    """Put the records' submitted sessions in ``hot.json``, as the app leaves
    them today (it never removes a submitted session)."""
    storage = AtomicJSONStorage(Path(data_dir) / "hot.json", cipher_for(key))
    storage.write({"sessions": {s["id"]: s for s in sessions}, "claims": {}, "meta": {}})
    storage.close()


@dataclass
class Generated:
    records: int
    blocks: int
    seconds: float
    build_seconds: float
    write_seconds: float
    sessions_in_hot: int


def generate(data_dir: Path, n: int, *, seed: int = 1, now: datetime | None = None,
             hot_sessions: bool = False, key: bytes | None = None) -> Generated:
    """A store in ``data_dir`` holding ``n`` records (see module docstring)."""
    started = time.perf_counter()
    built, sessions = build_records(n, seed=seed, now=now)
    built_at = time.perf_counter()
    data_dir = Path(data_dir)
    blocks = write_archive(data_dir, built, key)
    if hot_sessions:
        write_sessions(data_dir, sessions, key)
    store = TinyDBStore(data_dir, key=key)  # creates hot.json if absent; checks the key
    try:
        count = store.count_records()
    finally:
        store.close()
    if count != n:
        raise RuntimeError(f"generated store holds {count} records, expected {n}")
    done = time.perf_counter()
    return Generated(n, blocks, done - started, built_at - started, done - built_at,
                     len(sessions) if hot_sessions else 0)


def check_layout(n: int = 600, *, seed: int = 7) -> None:
    """Raise unless the block writer gives exactly what create_record gives,
    and the records pass the audit check."""
    built, _ = build_records(n, seed=seed)
    with tempfile.TemporaryDirectory(prefix="jigsaw-layout-") as tmp:
        fast, slow = Path(tmp) / "fast", Path(tmp) / "slow"
        write_archive(fast, built)
        # Opening seals the written blocks and builds their ledger, as it does
        # for a store made before the ledger: then they must match byte for byte.
        TinyDBStore(fast).close()
        store = TinyDBStore(slow)
        try:
            for record in built:
                stored = store.create_record({**record, "id": None})
                if stored["id"] != record["id"]:
                    raise AssertionError(f"create_record gave {stored['id']}, "
                                         f"expected {record['id']}")
        finally:
            store.close()
        fast_files = sorted(p.relative_to(fast) for p in (fast / "records").rglob("*.json"))
        slow_files = sorted(p.relative_to(slow) for p in (slow / "records").rglob("*.json"))
        if fast_files != slow_files:
            raise AssertionError(f"block files differ: {fast_files} vs {slow_files}")
        for rel in fast_files:
            if (fast / rel).read_bytes() != (slow / rel).read_bytes():
                raise AssertionError(f"{rel} differs from what create_record writes")
        reopened = TinyDBStore(fast)
        try:
            for record in reopened.iter_records():
                problems = records.verify(record)
                if problems:
                    raise AssertionError(problems[0])
        finally:
            reopened.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate",
                                     description="Write a store of realistic records.")
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--out", required=True, help="data directory to create")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hot-sessions", action="store_true",
                        help="also keep each record's submitted session in hot.json")
    parser.add_argument("--check", action="store_true",
                        help="first prove the block writer matches create_record")
    opts = parser.parse_args(argv)
    if opts.check:
        check_layout()
        print("layout check passed")
    key = Environment.read().data_key
    result = generate(Path(opts.out), opts.records, seed=opts.seed,
                      hot_sessions=opts.hot_sessions, key=key.encode() if key else None)
    print(f"{result.records} records in {result.blocks} blocks, {result.seconds:.1f} s "
          f"(build {result.build_seconds:.1f} s, write {result.write_seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
