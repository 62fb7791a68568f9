"""The record store under a failing disk and a crash between a ledger line
and its block: the real app process, the operating system's own faults.

A nearly full disk is the process's file-size limit set just above the
ledger's size (``prlimit``): the ledger line and the write-ahead copy fit,
the block, holding 30 earlier records, does not. A failed write must leave
the store as it was, every retry must use the same number, and verify must
be clean once the disk has space again.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import DecisionService
from bot.slack.delivery import RECORD_EVENT
from storage import TinyDBStore, generate_audit_key
from storage.locking import lock_for
from tests import scenarios as sc
from tests.harness.faults import WatchedSlack
from tests.harness.live import decide_in_process, subprocess_env
from tests.harness.process import AppProcess
from tests.harness.process_staff import click, dsl_posts, say, submitted
from tests.harness.slack_driver import question_step

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="prlimit on another process is Linux only")

STAFF = "UFULL"
SEEDED = 30
FAILED = "the record will be made when it can be saved"


@pytest.fixture
def slack() -> Iterator[WatchedSlack]:
    with WatchedSlack() as fake:
        yield fake


def seed(data: Path, count: int) -> None:
    """Records made earlier, so the year's block is large."""
    store = TinyDBStore(data)
    app = DecisionService(Settings(dsl_channel="CDSL"), store)
    for _ in range(count):
        decide_in_process(app, sc.NO_PURPOSE, user="USEED")
    store.close()


def verify(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "verify"], capture_output=True,
                          text=True, env=subprocess_env(data), cwd=data.parent, timeout=120)


def file_limit(app: AppProcess, limit: int | None) -> None:
    assert app.proc is not None
    _, hard = resource.prlimit(app.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(app.proc.pid, resource.RLIMIT_FSIZE,
                     (hard if limit is None else limit, hard))


def wait_logged(app: AppProcess, text: str, times: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while sum(text in line for line in list(app.log)) < times:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not logged {times} times: {app.tail()}")
        time.sleep(0.05)


def test_a_block_write_failing_after_its_ledger_line_leaves_the_store_as_it_was(
        slack: WatchedSlack, tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed(data, SEEDED)
    app = AppProcess(data, slack.base_url, cwd=tmp_path)
    app.start()
    try:
        q = say(app, slack, STAFF, "hello")
        for answer in sc.STAFF_CONCERN[:-1]:
            q = say(app, slack, STAFF, answer)
        assert question_step(q) == "urgent"  # its answer sends the worry
        ledger = data / "ledger.jsonl"
        block = data / "records" / str(time.gmtime().tm_year) / "block-0000.json"
        with lock_for(data / "records").held():  # no write of the outbox's in between
            before = ledger.read_bytes()
            limit = len(before) + 2048
            assert block.stat().st_size > limit  # the block cannot be written, the line can
            file_limit(app, limit)
        click(app, q, sc.STAFF_CONCERN[-1], STAFF)
        wait_logged(app, FAILED, 3)  # the held Submit retried, and failed, three times
        # Each failed write took its line back: the ledger and block are as
        # they were (looked at between two retries, under the archive lock).
        with lock_for(data / "records").held():
            assert ledger.read_bytes() == before
            assert not (data / "records" / "write-ahead.json").exists()
        checked = verify(data)
        assert checked.returncode == 0, checked.stdout + checked.stderr

        mark = slack.mark()
        file_limit(app, None)
        told = submitted(slack, mark, STAFF)
        assert told is not None
        # The number every retry had: the one after the seeded records.
        record_id = f"ISD-{time.gmtime().tm_year}-{SEEDED + 1:04d}"
        assert record_id in str(told.args["text"])
    finally:
        app.stop()
    posted = [p["metadata"]["event_payload"]["record_id"] for p in dsl_posts(slack, RECORD_EVENT)]
    assert posted.count(record_id) == 1 and len(set(posted)) == len(posted)
    checked = verify(data)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "cut short" not in checked.stdout


# -- a crash between a ledger line and its block -------------------------------

WORKER = Path(__file__).resolve().parents[1] / "storage" / "store_worker.py"


def in_the_window(data: Path) -> str | None:
    """The record id if the store is as a crash between the ledger line and
    the block leaves it: the last line names a write its block lacks."""
    *_, last = (json.loads(x) for x in (data / "ledger.jsonl").read_bytes().splitlines())
    if last.get("op") != "create":
        return None
    year = last["id"].split("-")[1]
    block = json.loads((data / "records" / year / "block-0000.json").read_text())
    return None if last["id"] in block["_default" if "_default" in block else "records"] \
        else str(last["id"])


def test_a_write_a_sigkill_cut_short_is_completed_at_the_next_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    TinyDBStore(data).close()
    caught: list[str] = []
    for attempt in range(120):
        worker = subprocess.Popen([sys.executable, str(WORKER), str(data), f"w{attempt}", "0"],
                                  stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                                  env=subprocess_env(data))
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
        worker.stdout.readline()
        started = time.monotonic()
        worker.stdout.readline()
        one_write = time.monotonic() - started
        # Killed at a random point of the next write (where, not when, matters).
        time.sleep(random.uniform(0.3, 1.0) * one_write)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        cut = in_the_window(data)
        store = TinyDBStore(data)  # start-up: completes it, or refuses
        try:
            if cut is not None:
                caught.append(cut)
                assert store.get_record(cut) is not None, cut  # completed, not dropped
            report = store.verify_integrity()
            assert report.problems == [], report.problems
            assert not [n for n in report.notes if "cut short" in n], report.notes
        finally:
            store.close()
        if len(caught) >= 2:
            break
    assert caught, "no kill landed between a ledger line and its block"


# -- the newest write undone by hand is not a crash -------------------------------

AUDIT_KEY = generate_audit_key()


def jigsaw(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=subprocess_env(data, JIGSAW_AUDIT_KEY=AUDIT_KEY),
                          cwd=data.parent, timeout=120)


@pytest.fixture
def acknowledged(tmp_path: Path) -> tuple[Path, bytes]:
    """Two records; the newest write is the DSL's acknowledgement of the
    first. Also the block's bytes from just before it."""
    data = tmp_path / "data"
    store = TinyDBStore(data, audit_key=AUDIT_KEY.encode())
    app = DecisionService(Settings(dsl_channel="CDSL"), store)
    first = decide_in_process(app, sc.POLICE_PREJUDICE)
    decide_in_process(app, sc.NO_PURPOSE)
    block = next((data / "records").rglob("block-0000.json"))
    before = block.read_bytes()
    app.reviews.review(first["id"], "acknowledge", by="UDSL1", allowed=True)
    store.close()
    return data, before


def refused_and_reported(data: Path) -> None:
    checked = jigsaw(data, "verify")
    assert checked.returncode == 1, checked.stdout
    assert "differs from its last recorded write" in checked.stdout, checked.stdout
    assert "cut short by a crash" not in checked.stdout
    started = jigsaw(data, "retention")  # opens the store as the app does
    assert started.returncode == 2, started.stdout + started.stderr
    assert "no write-ahead copy" in started.stderr and "Restore from backup" in started.stderr


def test_a_block_put_back_one_write_is_caught(acknowledged: tuple[Path, bytes]) -> None:
    data, before = acknowledged
    next((data / "records").rglob("block-0000.json")).write_bytes(before)
    refused_and_reported(data)


def test_erasing_the_newest_audit_entry_is_not_taken_for_a_crash(
        acknowledged: tuple[Path, bytes]) -> None:
    data, _ = acknowledged
    block = next((data / "records").rglob("block-0000.json"))
    doc = json.loads(block.read_text(encoding="utf-8"))
    [record] = [r for r in doc["records"].values() if r.get("review_status") != "pending"]
    record["audit"].pop()
    record.update(review_status="pending", review=None,
                  updated_at=record["audit"][-1]["at"])
    block.write_text(json.dumps(doc), encoding="utf-8")
    refused_and_reported(data)


# -- exports: one audited write, and no formula slips through ------------------

def test_a_csv_export_of_many_records_is_audited_in_one_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = TinyDBStore(data, audit_key=AUDIT_KEY.encode())
    app = DecisionService(Settings(dsl_channel="CDSL"), store)
    first = decide_in_process(app, sc.NO_PURPOSE)
    first["child_ref"] = "＝1+1"  # full-width: a formula to some spreadsheets
    for n in range(259):  # two blocks
        copy = {k: v for k, v in first.items() if k != "id"}
        store.create_record({**copy, "session_id": f"copy-{n}"})
    store.close()
    ledger = data / "ledger.jsonl"
    lines = len(ledger.read_bytes().splitlines())
    day = first["created_at"][:10]
    out = tmp_path / "records.csv"
    started = time.monotonic()
    run = jigsaw(data, "export", "--csv", day, day, "--reason", "termly report",
                 "--out", str(out))
    took = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(ledger.read_bytes().splitlines()) == lines + 1, "one ledger line for the export"
    rows = out.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 261
    assert "＝1+1" in rows[1] and "'＝1+1" in rows[1]  # kept as typed, but as text
    checked = jigsaw(data, "verify")
    assert checked.returncode == 0, checked.stdout
    assert "260 records checked" in checked.stdout
    store = TinyDBStore(data, audit_key=AUDIT_KEY.encode())
    try:
        assert all(r["audit"][-1]["action"] == "exported" for r in store.iter_records())
    finally:
        store.close()
    print(f"CSV export of 260 records: {took:.1f} s")


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_meta_json_deleted_or_emptied_is_refused(acknowledged: tuple[Path, bytes],
                                                 how: str) -> None:
    data, _ = acknowledged
    meta = data / "meta.json"
    assert meta.exists()
    if how == "deleted":
        meta.unlink()
    else:
        meta.write_bytes(b"")
    checked = jigsaw(data, "verify")
    assert checked.returncode == 1, checked.stdout
    assert f"meta.json is {'missing' if how == 'deleted' else 'empty'}" in checked.stdout
    started = jigsaw(data, "retention")
    assert started.returncode == 2 and "restore it from the latest backup" in started.stderr


# -- told, whatever the chat did before a crash -------------------------------------

def test_a_person_whose_submitted_message_failed_before_a_sigkill_is_told_after(
        slack: WatchedSlack, tmp_path: Path) -> None:
    app = AppProcess(tmp_path / "data", slack.base_url, cwd=tmp_path)
    app.start()
    try:
        q = say(app, slack, STAFF, "hello")
        for answer in sc.STAFF_CONCERN[:-1]:
            q = say(app, slack, STAFF, answer)
        # Slack refuses the "Submitted" message; then the app is killed.
        slack.fail_while("chat.postMessage", lambda c: str(c.args.get("text", "")).startswith(
            "Submitted"), status=500)
        mark = slack.mark()
        click(app, q, sc.STAFF_CONCERN[-1], STAFF)
        slack.wait_new(mark, lambda c: c if str(c.args.get("text", "")).startswith(
            "Submitted") else None)
        app.kill()
        slack.clear_faults()
        app.start()
        mark = slack.mark()
        say(app, slack, STAFF, "hello")  # as they would, not knowing it was saved
        told = submitted(slack, mark, STAFF)
        assert told is not None, app.tail()
        year = time.gmtime().tm_year
        assert f"ISD-{year}-0001" in str(told.args["text"])
        # Told once: nothing is left that would tell them again.
        hot = json.loads((tmp_path / "data" / "hot.json").read_text(encoding="utf-8"))
        assert not [x for x in hot["sessions"].values() if x.get("told") is False]
    finally:
        app.stop()


# -- the write-ahead copy is written atomically ------------------------------------------

def test_the_write_ahead_copy_is_replaced_never_written_through(
        slack: WatchedSlack, tmp_path: Path) -> None:
    """Someone who can write the data directory leaves a link where the
    write-ahead copy goes, pointing at a file of theirs choosing (here the
    ledger, whose loss would hide every record): the copy is written to a
    temporary file and renamed over the link, so the file linked to is
    untouched and the record is made."""
    data = tmp_path / "data"
    app = AppProcess(data, slack.base_url, cwd=tmp_path)
    app.start()
    try:
        q = say(app, slack, STAFF, "hello")
        for answer in sc.STAFF_CONCERN[:-1]:
            q = say(app, slack, STAFF, answer)
        victim = tmp_path / "elsewhere.txt"
        victim.write_text("not the app's to write\n", encoding="utf-8")
        ahead = data / "records" / "write-ahead.json"
        ahead.parent.mkdir(parents=True, exist_ok=True)
        ahead.symlink_to(victim)
        mark = slack.mark()
        click(app, q, sc.STAFF_CONCERN[-1], STAFF)
        assert submitted(slack, mark, STAFF) is not None, app.tail()
        assert victim.read_text(encoding="utf-8") == "not the app's to write\n"
        assert not ahead.is_symlink()
        assert not ahead.exists()  # cleared once the block held the record
    finally:
        app.stop()
    checked = verify(data)
    assert checked.returncode == 0, checked.stdout
    assert "1 records checked" in checked.stdout


# -- a data directory bound to its school --------------------------------------------

def test_a_data_directory_copied_from_another_school_is_caught(tmp_path: Path) -> None:
    """Two schools of one trust, one audit key: Oakfield's directory
    replaced by a copy of Hillside's is caught by verify and refused at
    start-up; each school's own directory passes."""
    import shutil

    def school_dir(name: str) -> Path:
        data = tmp_path / name
        store = TinyDBStore(data, audit_key=AUDIT_KEY.encode(), school=name)
        decide_in_process(DecisionService(Settings(dsl_channel="CDSL"), store), sc.NO_PURPOSE)
        store.close()
        return data

    def as_school(name: str, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120,
                              env=subprocess_env(data, JIGSAW_AUDIT_KEY=AUDIT_KEY,
                                                 JIGSAW_SCHOOL=name))

    hillside, oakfield = school_dir("hillside"), school_dir("oakfield")
    for name, data in (("hillside", hillside), ("oakfield", oakfield)):
        checked = as_school(name, data, "verify", "--offline")
        assert checked.returncode == 0, checked.stdout
    shutil.rmtree(oakfield)
    shutil.copytree(hillside, oakfield)
    checked = as_school("oakfield", oakfield, "verify", "--offline")
    assert checked.returncode == 1, checked.stdout
    assert "bound to school 'hillside', not 'oakfield'" in checked.stdout, checked.stdout
    started = as_school("oakfield", oakfield, "retention")
    assert started.returncode == 2, started.stdout + started.stderr
    assert "copied from another school" in started.stderr
