"""``jigsaw backup`` and ``jigsaw restore`` on both backends, run as the
README says: a backup taken while the store is in use, restored into an
empty place, and ``jigsaw verify`` catching the records the restore lost."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.record import append_audit
from storage import generate_key
from storage.postgres import Database
from storage.tinydb_store import TinyDBStore
from tests.harness.pg import fresh_schema

ROOT = Path(__file__).resolve().parents[2]
AUDIT = "backup-audit-key-0123456789abcdef-0123456789"


def _jigsaw(tmp: Path, data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIGSAW_"))}
    full.update(PYTHONPATH=str(ROOT), JIGSAW_DATA_DIR=str(data), **env)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=full, cwd=tmp, timeout=120, input="")


def _record(n: int) -> dict[str, object]:
    record: dict[str, object] = {"session_id": f"S{n}", "created_at": "2026-11-25T13:40:00Z",
                                 "recorded_by": "U1", "child_ref": f"CHILD-{n}",
                                 "review_status": "pending", "delivery": {"state": "pending"}}
    append_audit(record, by="U1", action="submitted", at=datetime(2026, 11, 25, 13, 40, tzinfo=UTC))
    return record


@pytest.mark.parametrize("backend", ["tinydb", "postgres"])
def test_backup_restore_and_verify_catches_what_the_restore_lost(
        tmp_path: Path, backend: str) -> None:
    key = generate_key()
    with contextlib.ExitStack() as stack:
        urls = ([stack.enter_context(fresh_schema()), stack.enter_context(fresh_schema())]
                if backend == "postgres" else ["", ""])
        data, restored = tmp_path / "data", tmp_path / "restored"
        keys = {"JIGSAW_DATA_KEY": key, "JIGSAW_AUDIT_KEY": AUDIT}
        at = {"JIGSAW_DATABASE_URL": urls[0]} if urls[0] else {}
        there = {"JIGSAW_DATABASE_URL": urls[1]} if urls[1] else {}
        db = Database(urls[0], key=key, audit_key=AUDIT.encode()) if urls[0] else None
        store = db.store("default") if db else TinyDBStore(data, key=key,
                                                           audit_key=AUDIT.encode())
        for n in (1, 2):
            store.create_record(_record(n))
        store.save_session({"id": "S9", "user": "U9", "status": "open"})

        # Taken while the store is open and in use.
        out = tmp_path / "jigsaw.backup"
        made = _jigsaw(tmp_path, data, "backup", "--out", str(out), **keys, **at)
        assert made.returncode == 0, made.stderr
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert b"CHILD-" not in out.read_bytes()
        again = _jigsaw(tmp_path, data, "backup", "--out", str(out), **keys, **at)
        assert again.returncode == 1 and "never overwrites" in again.stderr

        # A record made after the backup, and the ledger anchored past it.
        store.create_record(_record(3))
        n, mac, _ = store.ledger_head()
        store.note_anchor(n, "1700000000.0001")
        store.close() if db is None else db.close()

        # Restored into an empty place: it verifies as the store was at the backup ...
        done = _jigsaw(tmp_path, restored, "restore", str(out), **keys, **there)
        assert done.returncode == 0, done.stderr
        assert "run `jigsaw verify` now" in done.stdout
        clean = _jigsaw(tmp_path, restored, "verify", "--offline", **keys, **there)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        # ... and verify against the newest anchor catches the record it lost.
        args = ["--school", "default"] if urls[1] else []
        caught = _jigsaw(tmp_path, restored, "verify", *args, "--anchor", f"{n}:{mac}",
                         **keys, **there)
        assert caught.returncode == 1
        assert "cut or rolled back" in caught.stdout + caught.stderr
        # Never over a store that is there.
        twice = _jigsaw(tmp_path, restored, "restore", str(out), **keys, **there)
        assert twice.returncode == 1
        assert "not empty" in twice.stderr or "already holds schools" in twice.stderr
        # The wrong key restores nothing.
        empty = tmp_path / "empty"
        if urls[1]:
            return
        wrong = _jigsaw(tmp_path, empty, "restore", str(out), JIGSAW_DATA_KEY=generate_key(),
                        JIGSAW_AUDIT_KEY=AUDIT)
        assert wrong.returncode == 1 and not empty.exists()
