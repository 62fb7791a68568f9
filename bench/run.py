"""Latency, memory and start-up of the Slack app, against a bare Bolt app.

Run from the repository root::

    .venv/bin/python -m bench.run                 # full run (a few minutes)
    .venv/bin/python -m bench.run --quick         # fewer samples
    .venv/bin/python -m bench.run --sizes 0,10000,50000 --out bench/results/latest.json
    .venv/bin/python -m bench.run --postgres      # PostgreSQL: 500 schools, 1,000,000 records
    .venv/bin/python -m bench.run --postgres --quick   # the same, smaller

What happens:

* a fake Slack Web API (:mod:`bench.fake`) runs in this process; the real app
  (``python -m bot http``) and a bare Bolt app whose listeners only ack
  (:mod:`bench.bare_app`) each run in their own process, pointed at it;
* for each store size a store of realistic records is generated once
  (:mod:`bench.generate`) and copied fresh for the app, which is started on
  it (start-up time is to the first healthy ``/health``, and to the first
  signed request);
* simulated people start decisions with ``/infoshare`` and walk real
  sessions through the scripted scenarios, clicking the buttons the app
  posted or typing answers: the DSL team's sharing decisions by members of
  the DSL channel (as a school adds its deputies), staff worries by staff
  (only the DSL team is offered "I am the DSL"); the DSL, a configured id
  (``JIGSAW_DSL_USERS``), acknowledges each record in the channel and opens
  the App Home. Requests go one at a time (after a short pause,
  and once the app's ``/health`` says no listener is still ``working``, so
  each sample sees an idle app), each timed to its HTTP response and to the
  first Web API call it caused;
* each timed request, once the app is done with it, goes to the bare app
  too (re-signed), so both are timed on the same requests, interleaved, under
  the same conditions;
* 20 staff then complete decisions at once; every record must be stored;
* peak RSS comes from ``/proc/<pid>/status`` (VmHWM) of each app;
* with ``--postgres`` the same is done with the app serving a PostgreSQL
  database as a trust runs it (every school from one process, each request
  routed by its workspace): empty, then holding 1,000,000 records of 500
  schools loaded with COPY (:mod:`bench.pgload`), 50,000 of them the served
  school's; TinyDB is measured at 50,000 in the same run, and the three are
  compared.
* then the Teams front end (``jigsaw teams``) against a bare Teams SDK app
  that only acknowledges, both checking tokens against a fake Bot Connector's
  signing keys, at the smallest and largest store size (:mod:`bench.teams`).

Results are printed as tables with the targets of issue 5 checked, and
written as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import procs
from bench import teams as teams_bench
from bench.driver import (
    CLICK,
    DSL,
    HOME,
    KINDS,
    SIGNING_SECRET,
    SUBMIT,
    TEXT,
    BenchError,
    Mirror,
    Sample,
    Sender,
    Staff,
)
from bench.fake import BenchFake
from bench.generate import Generated, build_records, generate
from bot import record as records
from bot.flow.engine import iso
from storage import Store, TinyDBStore, generate_key, open_store
from tests import scenarios
from tests.harness.slackreq import BOT_USER_ID, TEAM_ID

# The DSL team's sharing decisions, and the short paths of staff who are not
# on it (a worry passed to the DSL, an allegation, an emergency).
FULL = ("POLICE_PREJUDICE", "NO_PURPOSE", "EARLY_HELP_CONSENT", "EARLY_HELP_REFUSED",
        "REFUSED_SIGNIFICANT", "NOT_SURE")
SHORT = ("ALLEGATION", "IMMEDIATE_DANGER", "STAFF_CONCERN")
DSL_USER = "UDSL1"  # the DSL, a configured id (JIGSAW_DSL_USERS): reviews every record
DSL_CHANNEL = "CDSL"
TOKEN = "xoxb-bench"

# Targets from issue 5.
VS_BARE = 1.5
GROWTH = 1.2
STORE_MS = 100.0
HOME_MS = 200.0
DISK_BYTES = 2000  # the record archive's bytes a record (issue: 50,000 records)
CONCURRENT_STAFF = 20

# The PostgreSQL run (issue 15): a trust's database, served as a trust runs it.
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_RECORDS, PG_SCHOOLS, PG_SCHOOL_RECORDS = 1_000_000, 500, 50_000
PG_QUICK = (20_000, 20, 2_000)
CLIENT_ID, CLIENT_SECRET = "1111.2222", "bench-client-secret"

CONFIG = """\
[school]
name = "Hillside Primary School"
nation = "england"
type = "maintained"

[slack]
dsl_channel = "CDSL"
"""


# -- statistics -----------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(values: list[float]) -> dict[str, float] | None:
    """p50/p90/p99/mean/max in milliseconds."""
    if not values:
        return None
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50": round(percentile(ms, 50), 3), "p90": round(percentile(ms, 90), 3),
            "p99": round(percentile(ms, 99), 3), "mean": round(statistics.fmean(ms), 3),
            "max": round(max(ms), 3)}


def by_kind(samples: list[Sample]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        mine = [s for s in samples if s.kind == kind]
        if not mine:
            continue
        extras: dict[str, list[float]] = {}
        for s in mine:
            for name, value in s.extra.items():
                extras.setdefault(name, []).append(value)
        firsts = [s.first_call for s in mine if s.first_call is not None]
        out[kind] = {
            "http": summarise([s.http for s in mine]),
            "first_call": summarise(firsts),
            **{name: summarise(values) for name, values in extras.items()},
        }
    return out


# -- the run ----------------------------------------------------------------
@dataclass
class Options:
    sizes: list[int]
    samples: int
    think: float
    staff: int
    out: Path
    hot_sessions: bool
    encrypt: bool
    keep: bool
    quiet: bool
    app: list[str]
    postgres: str | None = None
    pg_records: int = PG_RECORDS
    pg_schools: int = PG_SCHOOLS
    pg_school_records: int = PG_SCHOOL_RECORDS
    fronts: tuple[str, ...] = ("slack", "teams")
    teams_sizes: list[int] = field(default_factory=list)


@dataclass
class Run:
    opts: Options
    tmp: Path
    fake: BenchFake
    key: str | None
    stores: dict[int, tuple[Path, Generated]] = field(default_factory=dict)

    def say(self, text: str) -> None:
        if not self.opts.quiet:
            print(text, file=sys.stderr, flush=True)

    def env(self, data_dir: Path | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "JIGSAW_"))}
        config = self.tmp / "jigsaw.toml"
        config.write_text(CONFIG, encoding="utf-8")
        env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                   SLACK_API_URL=self.fake.base_url, JIGSAW_DSL_CHANNEL=DSL_CHANNEL,
                   JIGSAW_DSL_USERS=DSL_USER,
                   JIGSAW_CONFIG=str(config), PYTHONUNBUFFERED="1")
        if data_dir is not None:
            env["JIGSAW_DATA_DIR"] = str(data_dir)
        if self.key:
            env["JIGSAW_DATA_KEY"] = self.key
        return env

    def store_for(self, size: int) -> tuple[Path, Generated]:
        """The pristine generated store for ``size`` (made once per run)."""
        if size not in self.stores:
            path = self.tmp / "stores" / str(size)
            self.say(f"generating {size:,} records ...")
            made = generate(path, size, hot_sessions=self.opts.hot_sessions,
                            key=self.key.encode() if self.key else None)
            self.say(f"  {size:,} records in {made.seconds:.1f} s")
            self.stores[size] = (path, made)
        return self.stores[size]

    def pause(self, sender: Sender) -> None:
        """Between timed requests: the think time, then until the app is idle."""
        time.sleep(self.opts.think)
        sender.idle()


@dataclass(frozen=True)
class Walk:
    """A scripted decision and who plays it. ``dsl``: the script says "I am
    the DSL", which Slack and Teams offer only to the DSL team, so a member
    of it plays it."""

    name: str
    answers: list[str]
    dsl: bool


def walk_of(name: str) -> Walk:
    script = list(getattr(scenarios, name))
    return Walk(name, script, scenarios.says_dsl(script))


def scenario_for(i: int) -> Walk:
    """Every fifth person is on the DSL team and walks a full sharing
    decision; the rest are staff on a short path (allegation, emergency,
    or a worry passed to the DSL): every walk ends in a submission."""
    return walk_of(FULL[i // 5 % len(FULL)] if i % 5 == 0 else SHORT[i % len(SHORT)])


def crowd_for(i: int) -> Walk:
    """The people deciding at once: DSL-team decisions and staff worries, alternately."""
    return walk_of(FULL[i // 2 % len(FULL)] if i % 2 == 0 else "STAFF_CONCERN")


def dsl_team(opts: Options) -> list[str]:
    """The DSL channel's members for a run: the bot, the DSL and the seeded
    deputy, and every account that walks a DSL script (a deputy added to the
    channel, as a school adds one)."""
    walkers = ["UWARM0"]
    walkers += [f"UB{i:05d}" for i in range(opts.samples) if scenario_for(i).dsl]
    walkers += [f"UC{i:05d}" for i in range(opts.staff) if crowd_for(i).dsl]
    return [BOT_USER_ID, DSL_USER, "UDSL2", *walkers]


def warm_up(run: Run, sender: Sender, bare: Sender) -> None:
    """One of everything first (to both apps), so templates are compiled and
    Bolt has looked up its bot user before anything is timed."""
    fake = run.fake
    mirror = Mirror(bare)
    staff = Staff("UWARM0", sender, fake, mirror=mirror)  # a deputy, in the DSL channel
    staff.start()
    staff.walk(walk_of("POLICE_PREJUDICE").answers)
    dsl = DSL(DSL_USER, sender, fake, DSL_CHANNEL, mirror=mirror)
    dsl.acknowledge(staff.record_id or "", staff.record_ts or "", staff.user)
    for _ in range(3):
        dsl.open_home()
    short = Staff("UWARM1", sender, fake, mirror=mirror)
    short.start()
    short.walk(walk_of("IMMEDIATE_DANGER").answers)


def sequential(run: Run, port: int, bare_port: int, progress: str
               ) -> tuple[list[Sample], list[Sample]]:
    """The latency samples, the app's and the bare app's: one request at a
    time, each finding both apps idle."""
    fake, n = run.fake, run.opts.samples
    sender, bare = Sender(port), Sender(bare_port)
    mirror = Mirror(bare)
    samples: list[Sample] = []
    try:
        warm_up(run, sender, bare)
        fake.forget()
        # One decision at a time, start to submission: a school has a handful
        # of decisions open at once, not hundreds, and every open session is
        # in the file each click rewrites.
        people = [Staff(f"UB{i:05d}", sender, fake, mirror=mirror) for i in range(n)]
        for i, person in enumerate(people):
            samples.append(person.start())
            run.pause(sender)
            answers = scenario_for(i).answers
            for j, raw in enumerate(answers):
                samples.append(person.answer(raw, last=j == len(answers) - 1))
                run.pause(sender)
            if i % 20 == 19:
                run.say(f"  {progress}: {i + 1}/{n} decisions walked")
                fake.forget()
        fake.forget()
        dsl = DSL(DSL_USER, sender, fake, DSL_CHANNEL, mirror=mirror)
        for person in people:
            samples.append(dsl.acknowledge(person.record_id or "", person.record_ts or "",
                                           person.user))
            run.pause(sender)
        fake.forget()
        for _ in range(n):
            samples.append(dsl.open_home())
            run.pause(sender)
        fake.forget()
    finally:
        sender.close()
        bare.close()
    return samples, mirror.samples


def concurrent(run: Run, port: int) -> dict[str, Any]:
    """``opts.staff`` people complete full decisions at the same time."""
    fake, count = run.fake, run.opts.staff
    fake.forget()
    barrier = threading.Barrier(count + 1)
    samples: list[Sample] = []
    errors: list[str] = []
    done: dict[str, tuple[str, str]] = {}
    lock = threading.Lock()

    def person(i: int) -> None:
        sender = Sender(port)
        staff = Staff(f"UC{i:05d}", sender, fake)
        answers = crowd_for(i).answers
        mine: list[Sample] = []
        barrier.wait()
        try:
            mine.append(staff.start(shared=True))
            mine.extend(staff.walk(answers, shared=True))
        except (BenchError, TimeoutError, OSError) as exc:
            with lock:
                errors.append(f"{staff.user}: {type(exc).__name__}: {exc}")
        finally:
            sender.close()
        with lock:
            samples.extend(mine)
            if staff.record_id and staff.session_id:
                done[staff.user] = (staff.session_id, staff.record_id)

    threads = [threading.Thread(target=person, args=(i,), name=f"staff-{i}")
               for i in range(count)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.monotonic()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    non_200 = [s for s in samples if s.status != 200]
    result = {
        "staff": count,
        "requests": len(samples),
        "wall_s": round(wall, 3),
        "errors": errors + [f"HTTP {s.status} on {s.kind}" for s in non_200],
        "records_posted": len(done),
        "records": done,
        "http": summarise([s.http for s in samples]),
        "first_call": summarise([s.first_call for s in samples if s.first_call is not None]),
        "by_kind": by_kind(samples),
    }
    fake.forget()
    return result


def check_stored(opener: Callable[[], Store], expected: dict[str, tuple[str, str]]
                 ) -> list[str]:
    """Problems with the records the concurrent staff submitted, read back
    from the store after the app has stopped."""
    problems: list[str] = []
    store = opener()
    try:
        for user, (session_id, record_id) in sorted(expected.items()):
            record = store.get_record(record_id)
            if record is None:
                problems.append(f"{record_id} ({user}) is not stored")
                continue
            if record.get("recorded_by") != user or record.get("session_id") != session_id:
                problems.append(f"{record_id} is not {user}'s record of session {session_id}")
            found = store.record_for_session(session_id)
            if found is None or found.get("id") != record_id:
                problems.append(f"session {session_id} does not lead to {record_id}")
            problems.extend(records.verify(record))
            left = store.get_session(session_id)
            if left is not None and left.get("status") != "submitted":
                problems.append(f"{user}'s session is still {left.get('status')}")
    finally:
        store.close()
    return problems


def store_timings(opener: Callable[[], Store], rounds: int) -> dict[str, Any]:
    """The store calls behind each interaction, timed in this process on the
    app's data after it stopped: where the time goes as the archive grows."""
    times: dict[str, list[float]] = {}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        result = call()
        times.setdefault(name, []).append(time.perf_counter() - began)
        return result

    store = opener()
    try:
        timed("open + index (first count)", store.count_records)
        fresh, sessions = build_records(rounds, seed=99, now=datetime.now(UTC))
        session_id = sessions[0]["id"]
        store.save_session({**sessions[0], "status": "in_progress", "record_id": None})
        created = []
        for i, record in enumerate(fresh):
            doc = {**record, "id": None, "created_at": iso(datetime.now(UTC)),
                   "delivery": {"state": "pending"}}
            created.append(timed("create_record", lambda d=doc: store.create_record(d))["id"])
            timed("update_session (a click)",
                  lambda i=i: store.update_session(session_id, lambda d: {**d, "n": i}))
            timed("claim (each event)", lambda i=i: store.claim(f"bench:{time.time()}:{i}"))
            timed("sessions_for_user", lambda: store.sessions_for_user(DSL_USER))
            timed("list_records(recorded_by, 10)",
                  lambda: store.list_records(recorded_by=DSL_USER, limit=10))
            timed("list_records(pending, 20)",
                  lambda: store.list_records(review_status="pending", limit=20))
            timed("list_records(undelivered)", lambda: store.list_records(
                delivery_state_not_in=("posted", "held")))
        for record_id in created:
            timed("get_record", lambda r=record_id: store.get_record(r))
            timed("update_record (review)",
                  lambda r=record_id: store.update_record(
                      r, lambda d: records.acknowledge(d, by=DSL_USER, at=datetime.now(UTC))))
    finally:
        store.close()
    return {name: summarise(values) for name, values in times.items()}


def file_sizes(data_dir: Path) -> dict[str, int]:
    """Bytes of hot.json, of the record archive (``records/``: blocks and
    their index) and of the whole data directory (the ledger too)."""
    hot = data_dir / "hot.json"
    archive = sum(p.stat().st_size for p in (data_dir / "records").rglob("*.json"))
    everything = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
    return {"hot_json_bytes": hot.stat().st_size if hot.exists() else 0,
            "archive_bytes": archive, "data_dir_bytes": everything}


def per_record(result: dict[str, Any], name: str) -> float | None:
    """``files_at_end[name]`` over the records pre-filled (the few the run
    adds are left out), or None for an empty store."""
    size = result["files_at_end"].get(name)
    return None if size is None or not result["records"] else size / result["records"]


def _measure(run: Run, label: str, env: dict[str, str], opener: Callable[[], Store],
             bare_port: int) -> dict[str, Any]:
    """Start the app with ``env``, time it, stop it, and read back what it
    stored through ``opener``."""
    run.fake.reset()
    run.fake.forget()
    run.fake.set_members(DSL_CHANNEL, dsl_team(run.opts))
    run.say(f"{label}: starting the app ...")
    app = procs.start(f"app-{label.replace(' ', '-')}", run.opts.app, env, SIGNING_SECRET,
                      run.tmp)
    try:
        run.say(f"  healthy after {app.to_health:.2f} s; timing requests one at a time ...")
        cpu_before = app.cpu_seconds()
        samples, bare_samples = sequential(run, app.port, bare_port, label)
        cpu = app.cpu_seconds() - cpu_before
        run.say(f"  {len(samples)} samples; {run.opts.staff} staff at once ...")
        crowd = concurrent(run, app.port)
        memory = app.memory_kb()
        errors = app.errors_logged()
    finally:
        code = app.stop()
    crowd["stored_problems"] = check_stored(opener, crowd.pop("records"))
    crowd["ok"] = (not crowd["errors"] and not crowd["stored_problems"]
                   and crowd["records_posted"] == run.opts.staff)
    run.say("  timing store calls directly ...")
    store = store_timings(opener, min(100, run.opts.samples))
    return {
        "startup": {"to_health_s": round(app.to_health, 3),
                    "to_first_request_s": round(app.to_first_request, 3)},
        "peak_rss_mb": round(memory.get("VmHWM", 0) / 1024, 1),
        "rss_at_end_mb": round(memory.get("VmRSS", 0) / 1024, 1),
        "cpu_ms_per_request": round(cpu * 1000 / max(1, len(samples)), 3),
        "exit_code": code,
        "errors_logged": errors[:20],
        "interactions": by_kind(samples),
        "bare": {"interactions": by_kind(bare_samples),
                 "non_200": sum(1 for s in bare_samples if s.status != 200)},
        "concurrent": crowd,
        "store_calls_ms": store,
    }


def measure_app(run: Run, size: int, bare_port: int) -> dict[str, Any]:
    """The app on a TinyDB data directory of ``size`` records."""
    pristine, made = run.store_for(size)
    data_dir = run.tmp / f"work-{size}"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    shutil.copytree(pristine, data_dir)
    result = _measure(run, f"{size:,}", run.env(data_dir),
                      lambda: TinyDBStore(data_dir, key=run.key), bare_port)
    sizes = file_sizes(data_dir)
    if not run.opts.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"backend": "tinydb", "records": size,
            "generated": {"seconds": round(made.seconds, 2), "blocks": made.blocks,
                          "sessions_in_hot_json": made.sessions_in_hot},
            **result, "files_at_end": sizes}


def measure_postgres(run: Run, total: int, schools: int, bare_port: int) -> dict[str, Any]:
    """The app serving every school of a PostgreSQL database holding
    ``total`` records over ``schools`` schools (see bench.pgload); the
    requests come from the workspace of the school holding
    ``opts.pg_school_records`` of them."""
    from bench import pgload

    assert run.opts.postgres
    with pgload.fresh_schema(run.opts.postgres, keep=run.opts.keep) as url:
        run.say(f"loading {total:,} records over {schools} schools into PostgreSQL ...")
        loaded = pgload.load(url, total=total, schools=schools,
                             school_records=run.opts.pg_school_records,
                             key=run.key.encode() if run.key else None, say=run.say)
        run.say(f"  loaded in {loaded.seconds:.1f} s ({loaded.database_bytes / 1e9:.2f} GB)")
        pgload.install(url, team_id=TEAM_ID, bot_token=TOKEN, bot_user_id=BOT_USER_ID,
                       client_id=CLIENT_ID)
        env = run.env(run.tmp / "unused-data-dir")
        env.update(JIGSAW_DATABASE_URL=url, JIGSAW_SLACK_CLIENT_ID=CLIENT_ID,
                   JIGSAW_SLACK_CLIENT_SECRET=CLIENT_SECRET)

        def opener() -> Store:
            return open_store(run.tmp, key=run.key or "", database_url=url,
                              school=pgload.SCHOOL)

        result = _measure(run, f"PostgreSQL {total:,}", env, opener, bare_port)
    return {"backend": "postgres", "records": total, "schools": loaded.schools,
            "school_records": loaded.school_records,
            "generated": {"seconds": round(loaded.seconds, 2),
                          "build_seconds": round(loaded.build_seconds, 2),
                          "copy_seconds": round(loaded.copy_seconds, 2)},
            **result, "files_at_end": {"database_bytes": loaded.database_bytes}}


def start_bare(run: Run) -> procs.Started:
    run.say("bare Bolt app: starting ...")
    return procs.start("bare", ["-m", "bench.bare_app"], run.env(None), SIGNING_SECRET, run.tmp)


def bare_summary(bare: procs.Started) -> dict[str, Any]:
    memory = bare.memory_kb()
    return {"startup": {"to_health_s": round(bare.to_health, 3),
                        "to_first_request_s": round(bare.to_first_request, 3)},
            "peak_rss_mb": round(memory.get("VmHWM", 0) / 1024, 1)}


# -- targets and report ----------------------------------------------------------
def _p99(result: dict[str, Any], kind: str, metric: str) -> float | None:
    found = result["interactions"].get(kind, {}).get(metric)
    return None if found is None else float(found["p99"])


def check_targets(every: list[dict[str, Any]]) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []
    results = [r for r in every if r["backend"] == "tinydb"]
    if not results:
        return postgres_targets(every, targets)

    def add(name: str, value: float | None, limit: float | None, ok: bool, note: str = "",
            unit: str = "ms") -> None:
        targets.append({"target": name, "value": None if value is None else round(value, 3),
                        "limit": None if limit is None else round(limit, 3), "pass": ok,
                        "note": note, "unit": unit})

    for result in results:
        for kind in KINDS:
            app, base = _p99(result, kind, "http"), _p99(result["bare"], kind, "http")
            if app is None or base is None:
                continue
            add(f"HTTP p99 {kind} @ {result['records']:,} <= {VS_BARE} x bare ({base:.1f} ms)",
                app, VS_BARE * base, app <= VS_BARE * base, f"ratio {app / base:.2f}")
    smallest = min(results, key=lambda r: r["records"])
    largest = max(results, key=lambda r: r["records"])
    if largest is not smallest:
        for kind in (CLICK, TEXT):
            for metric, label in (("http", "HTTP"), ("first_call", "first Web API call")):
                low, high = _p99(smallest, kind, metric), _p99(largest, kind, metric)
                if low is None or high is None:
                    continue
                add(f"{label} p99 {kind} @ {largest['records']:,} <= {GROWTH} x "
                    f"@ {smallest['records']:,} ({low:.1f} ms)", high, GROWTH * low,
                    high <= GROWTH * low, f"ratio {high / low:.2f}")
    stored = _p99(largest, SUBMIT, "first_call")
    add(f"submission @ {largest['records']:,}: p99 to stored <= {STORE_MS:.0f} ms "
        "(bounded by first Web API call, which follows the store write)", stored, STORE_MS,
        stored is not None and stored <= STORE_MS)
    on_disk = per_record(largest, "archive_bytes")
    if on_disk is not None:
        add(f"archive bytes on disk a record @ {largest['records']:,} <= {DISK_BYTES:,}",
            on_disk, DISK_BYTES, on_disk <= DISK_BYTES, unit="bytes")
    home = _p99(largest, HOME, "home_published")
    add(f"DSL App Home @ {largest['records']:,}: p99 to views.publish <= {HOME_MS:.0f} ms",
        home, HOME_MS, home is not None and home <= HOME_MS)
    for result in results:
        crowd = result["concurrent"]
        add(f"{crowd['staff']} staff at once @ {result['records']:,}: no error, all stored",
            None, None, bool(crowd["ok"]),
            f"{crowd['records_posted']} posted, {len(crowd['errors'])} errors, "
            f"{len(crowd['stored_problems'])} store problems")
    return postgres_targets(every, targets)


# What issue 15 compares: PostgreSQL full (many schools) against PostgreSQL
# empty and against TinyDB, on the interactions a school feels.
PG_COMPARED = ((CLICK, "http", "answer click: HTTP"),
               (CLICK, "next_question", "answer click: next question posted"),
               (SUBMIT, "http", "final submission: HTTP"),
               (SUBMIT, "first_call", "final submission: stored (first Web API call)"),
               (SUBMIT, "posted_to_dsl", "final submission: in the DSL channel"),
               (HOME, "http", "App Home (DSL): HTTP"),
               (HOME, "home_published", "App Home (DSL): views.publish"))


def _postgres_trio(results: list[dict[str, Any]]
                   ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None] | None:
    """PostgreSQL empty, PostgreSQL full, and TinyDB at the served school's size."""
    pg = sorted((r for r in results if r["backend"] == "postgres"), key=lambda r: r["records"])
    if len(pg) < 2:
        return None
    full = pg[-1]
    tiny = next((r for r in results if r["backend"] == "tinydb"
                 and r["records"] == full["school_records"]), None)
    return pg[0], full, tiny


def postgres_report(results: list[dict[str, Any]]) -> list[str]:
    trio = _postgres_trio(results)
    if trio is None:
        return []
    empty, full, tiny = trio
    tiny_head = f"TinyDB {tiny['records']:,}" if tiny else "TinyDB n/a"
    lines = ["", f"PostgreSQL ({full['schools']} schools, {full['records']:,} records) against "
             f"PostgreSQL empty and against TinyDB, p99 ms:",
             f"  {'':<46}{'PG 0':>8}{'PG ' + format(full['records'], ','):>14}"
             f"{tiny_head:>15}{'x PG 0':>8}{'x TinyDB':>9}"]
    for kind, metric, name in PG_COMPARED:
        a, b = _p99(empty, kind, metric), _p99(full, kind, metric)
        c = _p99(tiny, kind, metric) if tiny else None
        if a is None or b is None:
            continue
        lines.append(f"  {name:<46}{_fmt(a, 8)}{_fmt(b, 14)}{_fmt(c, 15)}"
                     f"{b / a:>8.2f}" + (f"{b / c:>9.2f}" if c else f"{'n/a':>9}"))
    return lines


def postgres_targets(results: list[dict[str, Any]], targets: list[dict[str, Any]]
                     ) -> list[dict[str, Any]]:
    trio = _postgres_trio(results)
    if trio is None:
        return targets
    empty, full, _ = trio
    size = f"PostgreSQL {full['records']:,}/{full['schools']} schools"
    for kind, metric, name in PG_COMPARED:
        low, high = _p99(empty, kind, metric), _p99(full, kind, metric)
        if low is None or high is None:
            continue
        targets.append({"target": f"{name} p99 @ {size} <= {GROWTH} x @ PostgreSQL 0 "
                                  f"({low:.1f} ms)", "value": round(high, 3),
                        "limit": round(GROWTH * low, 3), "pass": high <= GROWTH * low,
                        "note": f"ratio {high / low:.2f}"})
    stored = _p99(full, SUBMIT, "first_call")
    targets.append({"target": f"submission @ {size}: p99 to stored <= {STORE_MS:.0f} ms",
                    "value": stored, "limit": STORE_MS,
                    "pass": stored is not None and stored <= STORE_MS, "note": ""})
    home = _p99(full, HOME, "home_published")
    targets.append({"target": f"DSL App Home @ {size}: p99 to views.publish <= "
                              f"{HOME_MS:.0f} ms", "value": home, "limit": HOME_MS,
                    "pass": home is not None and home <= HOME_MS, "note": ""})
    for result in (empty, full):
        crowd = result["concurrent"]
        targets.append({"target": f"{crowd['staff']} staff at once @ PostgreSQL "
                                  f"{result['records']:,}: no error, all stored",
                        "value": None, "limit": None, "pass": bool(crowd["ok"]),
                        "note": f"{crowd['records_posted']} posted, {len(crowd['errors'])} "
                                f"errors, {len(crowd['stored_problems'])} store problems"})
    return targets


def teams_summary(result: dict[str, Any]) -> dict[str, Any]:
    samples, bare = result.pop("samples"), result.pop("bare_samples")
    result["interactions"] = {}
    result["bare"] = {}
    for kind in teams_bench.KINDS:
        mine = [s for s in samples if s.kind == kind]
        result["interactions"][kind] = {
            "http": summarise([s.http for s in mine]),
            "next_card": summarise([s.extra["next_card"] for s in mine])}
        result["bare"][kind] = {"http": summarise([s.http for s in bare if s.kind == kind])}
    result["non_200"] = sum(1 for s in samples + bare if s.status != 200)
    return result


def check_teams_targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    targets = []
    for result in results:
        for kind in teams_bench.KINDS:
            app = (result["interactions"][kind]["http"] or {}).get("p99")
            base = (result["bare"][kind]["http"] or {}).get("p99")
            if app is None or base is None:
                continue
            targets.append({
                "target": f"Teams HTTP p99 {kind} @ {result['records']:,} <= {VS_BARE} x "
                          f"bare Teams SDK app ({base:.1f} ms)",
                "value": round(app, 3), "limit": round(VS_BARE * base, 3),
                "pass": app <= VS_BARE * base, "note": f"ratio {app / base:.2f}"})
        targets.append({"target": f"Teams @ {result['records']:,}: every activity answered 200",
                        "value": None, "limit": None, "pass": result["non_200"] == 0,
                        "note": f"{result['non_200']} not 200"})
    return targets


def teams_report(teams: dict[str, Any]) -> list[str]:
    bare = teams["bare"]
    lines = ["", f"Teams: bare Teams SDK app start-up {bare['startup']['to_health_s']:.2f} s to "
             f"/health; peak RSS {bare['peak_rss_mb']:.0f} MB",
             f"  {'activity':<18}{'n':>5} {'HTTP p50':>9}{'p99':>7}{'bare p50':>9}{'p99':>7}"
             f"{'x p99':>7} | {'next card p50':>13}{'p99':>7}"]
    for result in teams["sizes"]:
        s = result["startup"]
        lines.append(f"  store with {result['records']:,} records: start-up "
                     f"{s['to_health_s']:.2f} s to /health; peak RSS "
                     f"{result['peak_rss_mb']:.0f} MB")
        for kind in teams_bench.KINDS:
            got, base = result["interactions"][kind], result["bare"][kind]["http"]
            http = got["http"]
            if http is None:
                continue
            ratio = f"{http['p99'] / base['p99']:>7.2f}" if base else f"{'n/a':>7}"
            lines.append(f"  {kind:<18}{http['n']:>5} {_pair(http, 9)}{_pair(base, 9)}{ratio} | "
                         f"{_pair(got['next_card'], 13)}")
        if result["errors_logged"]:
            lines.append(f"  app logged {len(result['errors_logged'])} error line(s), e.g. "
                         f"{result['errors_logged'][0][:200]}")
    return lines


def _fmt(value: float | None, width: int = 7) -> str:
    return f"{value:>{width}.1f}" if value is not None else f"{'n/a':>{width}}"


def _pair(summary: dict[str, float] | None, width: int) -> str:
    """p50 then p99, the first right-aligned in ``width``, the second in 7."""
    if summary is None:
        return _fmt(None, width) + _fmt(None)
    return _fmt(summary["p50"], width) + _fmt(summary["p99"])


def report(bare: dict[str, Any] | None, results: list[dict[str, Any]],
           targets: list[dict[str, Any]], meta: dict[str, Any],
           teams: dict[str, Any] | None = None) -> str:
    lines = [f"Jigsaw benchmark  {meta['started_at']}  commit {meta['commit']}  "
             f"{meta['cpus']} CPUs  "
             f"python {meta['python']}  decisions/size {meta['samples']}  "
             f"think {meta['think_ms']} ms"
             + ("  ENCRYPTED" if meta["encrypted"] else "")
             + ("  +sessions in hot.json" if meta["hot_sessions"] else ""),
             "times in ms from sending the signed request. HTTP = to the app's HTTP response; "
             "bare = the same", "request to a Bolt app whose listeners only ack; x p99 = app p99 / "
             "bare p99; 1st API = to the first Web API", "call the request caused; done = to the "
             "call that completes it (named on the right).", ""]
    if bare is not None:
        lines.append(f"bare Bolt app: start-up {bare['startup']['to_health_s']:.2f} s to "
                     f"/health, {bare['startup']['to_first_request_s']:.2f} s to first signed "
                     f"request; peak RSS {bare['peak_rss_mb']:.0f} MB")
    head = (f"  {'interaction':<18}{'n':>5} {'HTTP p50':>9}{'p99':>7}{'bare p50':>9}{'p99':>7}"
            f"{'x p99':>7} | {'1st API p50':>11}{'p99':>7} | {'done p50':>9}{'p99':>7}  done =")
    for result in results:
        s = result["startup"]
        gen = result["generated"]
        where = (f"PostgreSQL with {result['records']:,} records over {result['schools']} "
                 f"school(s), {result['school_records']:,} in the one served (loaded with COPY "
                 f"in {gen['seconds']:.1f} s)" if result["backend"] == "postgres" else
                 f"store with {result['records']:,} records (generated in "
                 f"{gen['seconds']:.1f} s)")
        lines += ["", f"{where}: start-up "
                  f"{s['to_health_s']:.2f} s to /health, {s['to_first_request_s']:.2f} s to first "
                  f"signed request; peak RSS {result['peak_rss_mb']:.0f} MB; "
                  f"app CPU {result['cpu_ms_per_request']:.1f} ms/request", head]
        for kind in KINDS:
            got = result["interactions"].get(kind)
            if not got:
                continue
            base = result["bare"]["interactions"].get(kind, {}).get("http")
            http, first = got["http"], got["first_call"]
            done_name = next((k for k in ("next_question", "submitted_dm", "staff_told",
                                          "home_published", "question_posted") if k in got), "")
            done = got.get(done_name) if done_name else None
            ratio = f"{http['p99'] / base['p99']:>7.2f}" if base else f"{'n/a':>7}"
            lines.append(f"  {kind:<18}{http['n']:>5} {_pair(http, 9)}{_pair(base, 9)}{ratio} | "
                         f"{_pair(first, 11)} | {_pair(done, 9)}  {done_name}")
        sub = result["interactions"].get(SUBMIT)
        if sub and "posted_to_dsl" in sub:
            lines.append(f"  submission: record in the DSL channel p50/p99 "
                         f"{_pair(sub['posted_to_dsl'], 1)}")
        crowd = result["concurrent"]
        lines.append(f"  {crowd['staff']} staff at once: {crowd['requests']} requests in "
                     f"{crowd['wall_s']:.1f} s, HTTP p50 {crowd['http']['p50']:.1f} / p99 "
                     f"{crowd['http']['p99']:.1f}, records {crowd['records_posted']}/"
                     f"{crowd['staff']}, errors {len(crowd['errors'])}, store problems "
                     f"{len(crowd['stored_problems'])}")
        calls = result["store_calls_ms"]
        lines.append("  store calls (p50/p99): " + "; ".join(
            f"{name} {v['p50']:.2f}/{v['p99']:.2f}" for name, v in calls.items() if v))
        files = result["files_at_end"]
        if "database_bytes" in files:
            lines.append(f"  database: {files['database_bytes'] / 1e9:.2f} GB")
        else:
            line = (f"  files at end: hot.json {files['hot_json_bytes'] / 1024:.0f} kB, "
                    f"archive {files['archive_bytes'] / 1e6:.1f} MB")
            archive, everything = (per_record(result, "archive_bytes"),
                                   per_record(result, "data_dir_bytes"))
            if archive is not None:
                line += f" ({archive:,.0f} bytes a record"
                line += ")" if everything is None else f", data directory {everything:,.0f})"
            lines.append(line)
        if result["errors_logged"]:
            lines.append(f"  app logged {len(result['errors_logged'])} error line(s), e.g. "
                         f"{result['errors_logged'][0][:200]}")
    lines += postgres_report(results)
    if teams is not None:
        lines += teams_report(teams)
    lines += ["", "targets (issues 5, 12 and 15):"]
    for t in targets:
        value = "" if t["value"] is None else f" {t['value']:.1f} {t.get('unit', 'ms')}"
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(f"  {'PASS' if t['pass'] else 'FAIL'}  {t['target']}:{value}{note}")
    passed = sum(1 for t in targets if t["pass"])
    lines.append(f"  {passed}/{len(targets)} passed")
    return "\n".join(lines)


def _commit() -> str | None:
    """HEAD, with "+changes" when the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=procs.ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()

    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "bot", "storage",
                    "prompts")
        return git("rev-parse", "--short", "HEAD") + ("+changes" if dirty else "")
    return None


@contextlib.contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="jigsaw-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split(
        "\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="40 decisions per size instead of 200 (about a minute a size)")
    parser.add_argument("--sizes",
                        help="records pre-filled in the store, comma-separated")
    parser.add_argument("--samples", type=int,
                        help="decisions walked per size (slash commands, submissions, reviews "
                             "and App Home opens each get this many; clicks and typed answers "
                             "several times more)")
    parser.add_argument("--think", type=float, default=15.0,
                        help="pause in ms between timed requests, so each finds the app idle")
    parser.add_argument("--staff", type=int, default=CONCURRENT_STAFF,
                        help="people completing decisions at once")
    parser.add_argument("--out", default="bench/results/latest.json", help="JSON results")
    parser.add_argument("--hot-sessions", action="store_true",
                        help="also leave every record's submitted session in hot.json, as the "
                             "app does today")
    parser.add_argument("--encrypt", action="store_true", help="encrypt the store (Fernet)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_PG_URL, metavar="URL",
                        help="also run on PostgreSQL (a server, default " + DEFAULT_PG_URL
                             + "): empty, then PG_RECORDS records over PG_SCHOOLS schools "
                             "loaded with COPY, against TinyDB at the served school's size")
    parser.add_argument("--pg-records", type=int,
                        help=f"records in the full database (default {PG_RECORDS:,}; "
                             f"quick {PG_QUICK[0]:,})")
    parser.add_argument("--pg-schools", type=int,
                        help=f"schools they belong to (default {PG_SCHOOLS}; quick "
                             f"{PG_QUICK[1]})")
    parser.add_argument("--pg-school-records", type=int,
                        help=f"records of the school the requests come from (default "
                             f"{PG_SCHOOL_RECORDS:,}; quick {PG_QUICK[2]:,}); TinyDB is "
                             "measured at this size unless --sizes says otherwise")
    parser.add_argument("--fronts", default="slack,teams",
                        help="front ends to measure, comma-separated (slack, teams)")
    parser.add_argument("--teams-sizes",
                        help="records for the Teams run (default: the smallest and largest "
                             "of --sizes)")
    parser.add_argument("--app", default="-m bot http",
                        help="interpreter arguments that start the app in HTTP mode (to measure "
                             "a candidate change); --port and --host are appended")
    args = parser.parse_args(argv)
    pg_records, pg_schools, pg_school = (PG_QUICK if args.quick else
                                         (PG_RECORDS, PG_SCHOOLS, PG_SCHOOL_RECORDS))
    pg_records = args.pg_records if args.pg_records is not None else pg_records
    pg_schools = args.pg_schools or pg_schools
    pg_school = min(args.pg_school_records or pg_school, pg_records)
    default_sizes = str(pg_school) if args.postgres else "0,10000,50000"
    sizes = sorted({int(s.replace("_", "")) for s in (args.sizes or default_sizes).split(",")
                    if s.strip()})
    samples = args.samples or (40 if args.quick else 200)
    fronts = tuple(f.strip() for f in args.fronts.split(",") if f.strip())
    unknown = set(fronts) - {"slack", "teams"}
    if unknown or not fronts:
        parser.error(f"--fronts: slack and/or teams, not {', '.join(sorted(unknown))}")
    teams_sizes = (sorted({int(s.replace("_", "")) for s in args.teams_sizes.split(",")
                           if s.strip()}) if args.teams_sizes
                   else sorted({min(sizes), max(sizes)}))
    return Options(sizes=sizes, samples=samples, think=args.think / 1000, staff=args.staff,
                   out=Path(args.out), hot_sessions=args.hot_sessions, encrypt=args.encrypt,
                   keep=args.keep, quiet=args.quiet, app=shlex.split(args.app),
                   postgres=args.postgres, pg_records=pg_records, pg_schools=pg_schools,
                   pg_school_records=pg_school, fronts=fronts, teams_sizes=teams_sizes)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    began = time.monotonic()
    meta = {"started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "commit": _commit(), "samples": opts.samples,
            "think_ms": round(opts.think * 1000, 1), "sizes": opts.sizes,
            "hot_sessions": opts.hot_sessions, "encrypted": opts.encrypt,
            "app": " ".join(opts.app), "postgres": bool(opts.postgres)}
    meta["fronts"] = list(opts.fronts)
    bare: dict[str, Any] | None = None
    teams: dict[str, Any] | None = None
    results: list[dict[str, Any]] = []
    with workspace(opts.keep) as tmp, BenchFake() as fake:
        run = Run(opts, tmp, fake, generate_key() if opts.encrypt else None)
        if "slack" in opts.fronts:
            bare_app = start_bare(run)
            try:
                for size in opts.sizes:
                    results.append(measure_app(run, size, bare_app.port))
                if opts.postgres:
                    results.append(measure_postgres(run, 0, 1, bare_app.port))
                    results.append(measure_postgres(run, opts.pg_records, opts.pg_schools,
                                                    bare_app.port))
                bare = bare_summary(bare_app)
            finally:
                code = bare_app.stop()
            bare["exit_code"] = code
        if "teams" in opts.fronts:
            meta["teams_sizes"] = opts.teams_sizes
            teams = teams_bench.run_all(tmp, run.store_for, opts.teams_sizes, run.key,
                                        opts.samples, scenario_for, opts.think, run.say,
                                        opts.keep)
            teams["sizes"] = [teams_summary(r) for r in teams["sizes"]]
    meta["seconds"] = round(time.monotonic() - began, 1)
    targets = (check_targets(results) if results else []) + (
        check_teams_targets(teams["sizes"]) if teams else [])
    text = report(bare, results, targets, meta, teams)
    print(text)
    print(f"\n(total {meta['seconds']:.0f} s)")
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps({"meta": meta, "bare": bare, "sizes": results,
                                    "teams": teams, "targets": targets}, indent=2) + "\n",
                        encoding="utf-8")
    print(f"JSON written to {opts.out}")
    return 0 if all(t["pass"] for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
