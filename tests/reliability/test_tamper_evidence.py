"""Tamper evidence against someone who can write the data directory.

Each attack below edits the files directly, as a person with the disk would,
and most leave every SHA-256 hash consistent (the plain chain used to pass
them). ``jigsaw verify``, run as an admin runs it with the audit key, must
report each one; the ledger and the keyed seal are what catch them. The key
is kept outside the data directory, so the attacker does not have it.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import record as records
from bot.config import Settings
from bot.service import AccessDenied, DecisionService
from storage import TinyDBStore, generate_audit_key
from storage.records import _text
from storage.seal import Sealer, canonical, digest
from tests import scenarios as sc
from tests.harness.live import decide_in_process, subprocess_env

KEY = generate_audit_key()
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
YEAR = NOW.year


def rid(n: int) -> str:
    return f"ISD-{YEAR}-{n:04d}"


def bot(data: Path, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    env = {"JIGSAW_AUDIT_KEY": key} if key else {}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=subprocess_env(data, **env), cwd=data.parent, timeout=60)


def head_of(output: str) -> str:
    """The ``N:MAC`` verify prints for the ledger head."""
    [line] = [x for x in output.splitlines() if x.startswith("ledger head: ")]
    return line.removeprefix("ledger head: ")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Six records with review histories, made through the service with the
    audit key; and a copy of the whole directory from earlier that day."""
    root = tmp_path_factory.mktemp("sealed")
    data, earlier = root / "data", root / "earlier"
    store = TinyDBStore(data, audit_key=KEY.encode())
    ticks = itertools.count()
    app = DecisionService(Settings(dsl_channel="CDSL"), store,
                 clock=lambda: NOW + timedelta(seconds=next(ticks)))
    for script in (sc.POLICE_PREJUDICE, sc.NO_PURPOSE, sc.ALLEGATION, sc.EARLY_HELP_CONSENT,
                   sc.IMMEDIATE_DANGER):
        decide_in_process(app, script)
    shutil.copytree(data, earlier)  # a backup, or an attacker's copy
    decide_in_process(app, sc.NOT_SURE)
    app.reviews.review(rid(1), "acknowledge", by="UDSL1", allowed=True)
    app.reviews.review(rid(1), "note", by="UDSL1", allowed=True, note="Police called back")
    app.reviews.review(rid(2), "follow_up", by="UDSL2", allowed=True, note="Check with DPO",
               due="2026-12-01")
    app.reviews.review(rid(4), "viewed", by="UDSL2", allowed=True)
    with pytest.raises(AccessDenied):
        app.reviews.review(rid(5), "viewed", by="U999", allowed=False)
    app.reviews.review(rid(6), "acknowledge", by="UDSL1", allowed=True)
    store.update_record(rid(3), lambda r: r["delivery"].update(state="posted", ts="1.2"))
    store.close()
    return data, earlier


@pytest.fixture
def data(made: tuple[Path, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(made[0], copy)
    return copy


@pytest.fixture
def earlier(made: tuple[Path, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "earlier"
    shutil.copytree(made[1], copy)
    return copy


def block_path(data: Path) -> Path:
    return data / "records" / str(YEAR) / "block-0000.json"


def edit_block(data: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = block_path(data)
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def rehash(record: dict[str, Any]) -> None:
    """Recompute every SHA-256 in a record's chain, as a careful attacker
    would: each entry's content state, hash and link to the one before."""
    prev = ""
    audit = record["audit"]
    for i, entry in enumerate(audit):
        entry["seq"] = i + 1
        entry["prev"] = prev
        if i == len(audit) - 1:
            entry["state"] = records.content_hash(record)
        entry["hash"] = records._sha({k: v for k, v in entry.items()
                                      if k not in ("hash", "mac")})
        prev = entry["hash"]
    record["updated_at"] = audit[-1]["at"]


def drop_last_entry(record: dict[str, Any]) -> None:
    """Cut the newest audit entry and make the record look as it did before."""
    record["audit"].pop()
    record["updated_at"] = record["audit"][-1]["at"]


def verify_fails(data: Path, *expected: str, anchor: str | None = None) -> str:
    args = ("verify", "--anchor", anchor) if anchor else ("verify",)
    run = bot(data, *args)
    assert run.returncode == 1, run.stdout + run.stderr
    for phrase in expected:
        assert phrase in run.stdout, (phrase, run.stdout)
    assert "Bruise" not in run.stdout and "AB-1234" not in run.stdout  # ids, not content
    return run.stdout


def test_verify_passes_on_the_untouched_store(data: Path) -> None:
    run = bot(data, "verify")
    assert run.returncode == 0, run.stdout
    assert "6 records checked, 0 problem(s)" in run.stdout
    assert "no audit key" not in run.stdout


# -- the thirteen edits of the red-team report, and more -------------------------

def test_removing_the_last_audit_entry_a_view(data: Path) -> None:
    edit_block(data, lambda b: drop_last_entry(b["records"][rid(4)]))
    assert records.verify(json.loads(block_path(data).read_text())["records"][rid(4)]) == []
    verify_fails(data, f"{rid(4)}: differs from its last recorded write")


def test_removing_the_last_audit_entry_a_refusal(data: Path) -> None:
    edit_block(data, lambda b: drop_last_entry(b["records"][rid(5)]))
    verify_fails(data, f"{rid(5)}: differs from its last recorded write")


def test_unacknowledging_a_record(data: Path) -> None:
    def unack(block: dict[str, Any]) -> None:
        record = block["records"][rid(6)]
        drop_last_entry(record)
        record.update(review_status="pending", status="submitted", review=None)
    edit_block(data, unack)
    assert records.verify(json.loads(block_path(data).read_text())["records"][rid(6)]) == []
    verify_fails(data, f"{rid(6)}: differs from its last recorded write")


def test_deleting_the_newest_record_and_lowering_the_counter(data: Path) -> None:
    def delete(block: dict[str, Any]) -> None:
        del block["records"][rid(6)]
        block["high"] = 5  # a counter as blocks of the old layout kept
    edit_block(data, delete)
    verify_fails(data, f"{rid(6)}: missing, and no purge recorded")


def test_deleting_a_record_and_adding_a_fake_purge_entry(data: Path) -> None:
    edit_block(data, lambda b: b["records"].pop(rid(3)))
    hot = data / "hot.json"
    doc = json.loads(hot.read_text(encoding="utf-8"))
    doc.setdefault("meta", {})["purge_log"] = {"value": [
        {"at": "2026-11-25T10:00:00Z", "by": "admin:x", "ranges": [[str(YEAR), 3, 3]],
         "count": 1}]}
    hot.write_text(json.dumps(doc), encoding="utf-8")
    # ...and a purge line in the ledger, sealed with the only key the attacker has.
    n = forge_ledger_line(data, Sealer(None), op="purge", ids=[[YEAR, 3, 3]], count=1,
                          by="admin:x")
    verify_fails(data, f"ledger: entry {n} is not sealed with the audit key")


def test_deleting_a_block_file(data: Path) -> None:
    block_path(data).unlink()
    out = verify_fails(data, *(f"{rid(n)}: missing, and no purge recorded" for n in range(1, 7)))
    assert "0 records checked" in out


def test_deleting_a_whole_year_directory(data: Path) -> None:
    shutil.rmtree(data / "records" / str(YEAR))
    verify_fails(data, *(f"{rid(n)}: missing, and no purge recorded" for n in range(1, 7)))


def test_swapping_two_records(data: Path) -> None:
    def swap(block: dict[str, Any]) -> None:
        recs = block["records"]
        a, b = recs[rid(2)], recs[rid(3)]
        a["id"], b["id"] = rid(3), rid(2)
        recs[rid(2)], recs[rid(3)] = b, a
    edit_block(data, swap)
    verify_fails(data, f"{rid(2)}: audit entry 1 is not sealed with the audit key",
                 f"{rid(3)}: audit entry 1 is not sealed with the audit key",
                 f"{rid(2)}: differs from its last recorded write")


def test_editing_delivery_state(data: Path) -> None:
    # "posted" hides a record from the DSL's outbox; "pending" would post it again.
    edit_block(data, lambda b: b["records"][rid(5)]["delivery"].update(state="posted",
                                                                       ts="9.9"))
    verify_fails(data, f"{rid(5)}: differs from its last recorded write")


def test_rolling_a_block_back_to_an_older_copy(data: Path, earlier: Path) -> None:
    shutil.copy2(block_path(earlier), block_path(data))
    verify_fails(data, f"{rid(6)}: missing, and no purge recorded",
                 f"{rid(1)}: differs from its last recorded write")


def test_a_consistent_rewrite_without_the_key(data: Path) -> None:
    """Facts changed and every hash, the seal (with the public unkeyed
    constant, the only key the attacker has) and a ledger line for the new
    state all redone."""
    forger = Sealer(None)
    assert forger.key_id != Sealer(KEY.encode()).key_id

    def rewrite(block: dict[str, Any]) -> None:
        record = block["records"][rid(1)]
        record["facts"] = "Nothing was seen."
        rehash(record)
        forger.seal_audit(rid(1), record["audit"], start=0)
    edit_block(data, rewrite)
    record = json.loads(block_path(data).read_text())["records"][rid(1)]
    assert records.verify(record) == []
    forge_ledger_line(data, forger, op="update", id=rid(1), d=digest(_text(record)))
    out = verify_fails(data, f"{rid(1)}: audit entry 1 is not sealed with the audit key")
    assert "is not sealed with the audit key (forged or altered)" in out


def forge_ledger_line(data: Path, forger: Sealer, **fields: Any) -> int:
    """Append a ledger line sealed with ``forger``; returns its number."""
    ledger = data / "ledger.jsonl"
    last = json.loads(ledger.read_text(encoding="utf-8").splitlines()[-1])
    fake = {"n": last["n"] + 1, "at": "2026-11-25T10:00:00Z", **fields, "prev": last["mac"]}
    fake["mac"] = forger.mac("ledger", fake)
    with ledger.open("ab") as f:
        f.write(canonical(fake) + b"\n")
    return int(fake["n"])


def test_editing_content_and_rehashing(data: Path) -> None:
    def edit(block: dict[str, Any]) -> None:
        record = block["records"][rid(2)]
        record["decision"] = "share"
        rehash(record)
    edit_block(data, edit)
    verify_fails(data, f"{rid(2)}: audit entry 2 is not sealed with the audit key",
                 f"{rid(2)}: differs from its last recorded write")


def test_moving_an_audit_entry_to_another_record(data: Path) -> None:
    def move(block: dict[str, Any]) -> None:
        recs = block["records"]
        entry = recs[rid(1)]["audit"].pop()  # the note, sealed for ISD-...-0001
        drop = recs[rid(3)]
        entry["prev"] = drop["audit"][-1]["hash"]
        entry["seq"] = len(drop["audit"]) + 1
        drop["audit"].append(entry)
        rehash(drop)
        recs[rid(1)]["updated_at"] = recs[rid(1)]["audit"][-1]["at"]
    edit_block(data, move)
    verify_fails(data, f"{rid(3)}: audit entry 2 is not sealed with the audit key",
                 f"{rid(1)}: differs from its last recorded write")


def test_adding_a_record_by_hand(data: Path) -> None:
    def add(block: dict[str, Any]) -> None:
        copy = json.loads(json.dumps(block["records"][rid(2)]))
        copy["id"] = rid(7)
        block["records"][rid(7)] = copy
        block["high"] = 7
    edit_block(data, add)
    verify_fails(data, f"{rid(7)}: not in the ledger", "a block counts 7 ids, the ledger only 6")


def test_deleting_a_line_from_the_middle_of_the_ledger(data: Path) -> None:
    ledger = data / "ledger.jsonl"
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    del lines[3]
    ledger.write_text("".join(lines), encoding="utf-8")
    verify_fails(data, "ledger: line 4 is numbered 4", "does not follow entry")


def test_cutting_the_end_off_the_ledger_and_the_block(data: Path, earlier: Path) -> None:
    """The newest record deleted everywhere, ledger lines included: only the
    anchor, kept outside the store, can show it."""
    anchor = head_of(bot(data, "verify").stdout)
    shutil.copy2(block_path(earlier), block_path(data))
    shutil.copy2(earlier / "ledger.jsonl", data / "ledger.jsonl")
    shutil.copy2(earlier / "hot.json", data / "hot.json")
    out = verify_fails(data, "was anchored outside the store: the ledger was cut or rolled "
                             "back", anchor=anchor)
    assert f"ends at entry {head_of(out).split(':')[0]}" in out


def test_rolling_the_whole_directory_back(data: Path, earlier: Path) -> None:
    anchor = head_of(bot(data, "verify").stdout)
    # On its own the older copy is self-consistent: it is a real older state.
    assert bot(earlier, "verify").returncode == 0
    verify_fails(earlier, "the ledger was cut or rolled back", anchor=anchor)


def test_a_rewritten_ledger_differs_from_its_anchor(data: Path) -> None:
    anchor = head_of(bot(data, "verify").stdout)
    n = int(anchor.split(":")[0])
    forged = f"{n}:{'0' * 64}"
    verify_fails(data, f"ledger: entry {n} differs from its anchor", anchor=forged)


def test_the_wrong_key_or_no_key_is_refused(data: Path) -> None:
    for key, says in ((generate_audit_key(), "wrong JIGSAW_AUDIT_KEY"),
                      (None, "sealed with an audit key: set JIGSAW_AUDIT_KEY")):
        run = bot(data, "verify", key=key)
        assert run.returncode == 2 and says in run.stderr, run.stderr
        assert "Traceback" not in run.stderr


def test_a_key_file_inside_the_data_directory_is_refused(data: Path) -> None:
    inside = data / "audit.key"
    inside.write_text(KEY, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "bot", "verify"], capture_output=True,
                         text=True, cwd=data.parent, timeout=60,
                         env=subprocess_env(data, JIGSAW_AUDIT_KEY_FILE=str(inside)))
    assert run.returncode == 2 and "inside the data directory" in run.stderr
    outside = data.parent / "audit.key"
    outside.write_text(KEY + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "bot", "verify"], capture_output=True,
                         text=True, cwd=data.parent, timeout=60,
                         env=subprocess_env(data, JIGSAW_AUDIT_KEY_FILE=str(outside)))
    assert run.returncode == 0, run.stdout + run.stderr
