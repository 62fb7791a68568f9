"""A data directory made before the ledger existed still loads, is sealed
once on start-up, loses nothing, and verifies.

``fixtures/store_before_ledger`` was written by the previous release of the
code: seven records (two of them from 2000, purged by the old retention
command, whose log lived in hot.json), reviews, a refusal, a delivered
record, a paused decision and an urgent alert not yet delivered.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot import record as records
from bot.config import Settings
from bot.deliveries import has_pending_event
from bot.service import DecisionService
from storage import TinyDBStore, generate_audit_key
from tests import scenarios as sc
from tests.harness.live import decide_in_process, subprocess_env

FIXTURE = Path(__file__).parent / "fixtures" / "store_before_ledger"
KEY = generate_audit_key()


def bot(data: Path, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    env = {"JIGSAW_AUDIT_KEY": key} if key else {}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          input="", env=subprocess_env(data, **env), cwd=data.parent,
                          timeout=60)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(FIXTURE, copy)
    return copy


def unsealed(record: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(record))
    for entry in copy.get("audit", []):
        entry.pop("mac", None)
    return copy


def old_records() -> dict[str, dict[str, Any]]:
    block = FIXTURE / "records" / "2026" / "block-0000.json"
    return json.loads(block.read_text(encoding="utf-8"))["records"]


def test_an_old_store_is_sealed_on_start_up_and_nothing_is_lost(data: Path) -> None:
    before_hot = json.loads((data / "hot.json").read_text(encoding="utf-8"))
    run = bot(data, "verify")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 records checked, 0 problem(s)" in run.stdout
    assert "ISD-2000" not in run.stdout  # the old purge log was carried over
    store = TinyDBStore(data, audit_key=KEY.encode())
    stored = {r["id"]: r for r in store.iter_records()}
    assert {k: unsealed(v) for k, v in stored.items()} == old_records()
    for record in stored.values():
        assert records.verify(record) == []
        assert all(len(e["mac"]) == 64 for e in record["audit"])
    # The hot store is untouched: the paused decision and the held alert are there.
    assert json.loads((data / "hot.json").read_text(encoding="utf-8"))["sessions"] == \
        before_hot["sessions"]
    assert len([s for s in store.all_sessions() if has_pending_event(s)]) == 2
    assert store.issued() == {2000: 2, 2026: 5}
    first = json.loads((data / "ledger.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["op"] == "begin" and first["why"] == "migrated" and first["keyed"] is True
    store.close()
    assert bot(data, "verify").returncode == 0
    # ...and the app starts on it.
    assert bot(data, "console").returncode == 0


def test_ids_from_the_old_store_are_not_given_out_again(data: Path) -> None:
    store = TinyDBStore(data, audit_key=KEY.encode())
    app = DecisionService(Settings(dsl_channel="CDSL"), store)
    made = decide_in_process(app, sc.ALLEGATION, user="U900")
    year = made["id"][4:8]
    store.close()
    assert made["id"] == (f"ISD-{year}-0006" if year == "2026" else f"ISD-{year}-0001")
    assert bot(data, "verify").returncode == 0


def test_a_record_lost_before_the_upgrade_is_still_reported(data: Path) -> None:
    block = data / "records" / "2026" / "block-0000.json"
    doc = json.loads(block.read_text(encoding="utf-8"))
    del doc["records"]["ISD-2026-0003"]
    block.write_text(json.dumps(doc), encoding="utf-8")
    run = bot(data, "verify")
    assert run.returncode == 1
    assert "ISD-2026-0003: missing, and no purge recorded" in run.stdout


def test_an_unkeyed_store_is_sealed_again_when_a_key_is_set(data: Path) -> None:
    unkeyed = bot(data, "verify", key=None)
    assert unkeyed.returncode == 0, unkeyed.stdout
    assert "no audit key is set" in unkeyed.stdout
    keyed = bot(data, "verify")
    assert keyed.returncode == 0, keyed.stdout + keyed.stderr
    assert "no audit key" not in keyed.stdout
    first = json.loads((data / "ledger.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["why"] == "rekeyed" and first["keyed"] is True
    # From now on the key is required, and only that key.
    assert "set JIGSAW_AUDIT_KEY" in bot(data, "verify", key=None).stderr
    assert "wrong JIGSAW_AUDIT_KEY" in bot(data, "verify", key=generate_audit_key()).stderr


def test_a_tampered_unkeyed_store_is_not_blessed_by_a_new_key(data: Path) -> None:
    assert bot(data, "verify", key=None).returncode == 0
    block = data / "records" / "2026" / "block-0000.json"
    doc = json.loads(block.read_text(encoding="utf-8"))
    doc["records"]["ISD-2026-0002"]["delivery"]["state"] = "posted"
    block.write_text(json.dumps(doc), encoding="utf-8")
    run = bot(data, "verify")
    assert run.returncode == 2 and "cannot seal this data directory" in run.stderr


# -- blocks of the layout before TinyDB ---------------------------------------

OLD_BLOCKS = Path(__file__).parent / "fixtures" / "store_before_tinydb_blocks"


@pytest.fixture
def old_blocks(tmp_path: Path) -> Path:
    """``fixtures/store_before_tinydb_blocks``, written by the release before
    records were TinyDB databases (no audit key): four records, one purged,
    one acknowledged, one posted, and an urgent alert not yet delivered."""
    copy = tmp_path / "blocks"
    shutil.copytree(OLD_BLOCKS, copy)
    return copy


def test_old_blocks_become_tinydb_databases_on_start_up_and_nothing_is_lost(
        old_blocks: Path) -> None:
    path = old_blocks / "records" / "2026" / "block-0000.json"
    before = json.loads(path.read_text(encoding="utf-8"))
    assert set(before) == {"high", "records"}
    ledger_before = (old_blocks / "ledger.jsonl").read_text(encoding="utf-8")
    store = TinyDBStore(old_blocks)
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after == {"records": before["records"]}  # TinyDB's own layout, records as they were
    assert not (old_blocks / "records" / "generation").exists()
    ledger_after = (old_blocks / "ledger.jsonl").read_text(encoding="utf-8")
    assert ledger_after.startswith(ledger_before)  # appended to, never rewritten
    assert json.loads(ledger_after.splitlines()[-1])["op"] == "format"
    assert {s["id"] for s in store.list_records()} == {"ISD-2026-0001", "ISD-2026-0002",
                                                      "ISD-2026-0004"}
    for record_id, record in before["records"].items():
        assert store.get_record(record_id) == record
    assert store.issued() == {2026: 4}
    assert store.get_record("ISD-2026-0003") is None
    assert len([s for s in store.all_sessions() if has_pending_event(s)]) == 1
    # The ids given out stay given out; the store goes on from there.
    app = DecisionService(Settings(dsl_channel="CDSL"), store)
    assert decide_in_process(app, sc.ALLEGATION)["id"] == "ISD-2026-0005"
    report = store.verify_integrity(records.verify)
    assert report.problems == []
    store.close()
    TinyDBStore(old_blocks).close()  # once only: a second start changes nothing
    assert (old_blocks / "ledger.jsonl").read_text(encoding="utf-8").count('"op":"format"') == 1
    checked = bot(old_blocks, "verify", key=None)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_migration_cut_short_is_finished_on_the_next_start(old_blocks: Path) -> None:
    """A crash after some blocks were rewritten (here: all of them) but
    before the ledger was told: the next start finishes, losing nothing."""
    path = old_blocks / "records" / "2026" / "block-0000.json"
    before = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({"records": before["records"]}), encoding="utf-8")
    store = TinyDBStore(old_blocks)
    assert store.count_records() == 3
    assert store.verify_integrity(records.verify).problems == []
    store.close()
