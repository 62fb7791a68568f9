"""Many threads, and several processes, writing the same store at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from storage import TinyDBStore, generate_key
from storage.crypto import Cipher
from storage.jsonfile import JSONFile

WORKER = Path(__file__).with_name("store_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def _spawn(data_dir: Path | str, prefix: str, count: int, *flags: str, key: str | None = None,
           school: str = "hillside"):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JIGSAW_SCHOOL": school}
    env.pop("JIGSAW_DATA_KEY", None)
    if key:
        env["JIGSAW_DATA_KEY"] = key
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(data_dir), prefix, str(count), *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_threads_create_and_update_concurrently(store, backend, make_record) -> None:
    threads_n, per_thread = 24, 5
    store.save_session({"id": "shared", "user": "U", "status": "open", "n": 0})
    barrier = threading.Barrier(threads_n)
    created: list[str] = []
    claimed: list[str] = []
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                created.append(store.create_record(make_record(session_id=f"T{t}-{i}"))["id"])
                store.update_session("shared", lambda s: s.update(n=s["n"] + 1))
                # Every thread tries every key: each must be won exactly once.
                if store.claim(f"evt-{i}"):
                    claimed.append(f"evt-{i}")
                if i == 0:
                    store.list_records(limit=5)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = threads_n * per_thread
    assert len(created) == len(set(created)) == total
    assert store.count_records() == total
    assert store.get_session("shared")["n"] == total
    assert sorted(claimed) == [f"evt-{i}" for i in range(per_thread)]
    expected = {f"ISD-2026-{n:04d}" for n in range(1, total + 1)}
    assert set(created) == expected
    for path in backend.data_dir.rglob("*.json"):
        json.loads(path.read_text())
    fresh = backend.open()
    assert {s["id"] for s in fresh.list_records()} == expected


def test_same_session_from_many_threads_gives_one_record(store, make_record) -> None:
    barrier = threading.Barrier(16)
    results: list[str] = []

    def work() -> None:
        barrier.wait()
        results.append(store.create_record(make_record(session_id="double-click"))["id"])

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) == {"ISD-2026-0001"}
    assert store.count_records() == 1


def test_two_processes_create_at_once(store, backend) -> None:
    per_process = 40
    store.save_session({"id": "shared", "user": "U", "status": "open", "n": 0})
    procs = [_spawn(backend.location, p, per_process, "--wait", "--shared")
             for p in ("A", "B")]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    ids = [line.split()[0] for out in outputs for line in out.splitlines()]
    assert len(ids) == len(set(ids)) == 2 * per_process
    assert set(ids) == {f"ISD-2026-{n:04d}" for n in range(1, 2 * per_process + 1)}
    # This store's index follows the other processes' writes.
    assert store.count_records() == 2 * per_process
    assert {s["id"] for s in store.list_records()} == set(ids)
    assert store.get_session("shared")["n"] == 2 * per_process
    for prefix in ("A", "B"):
        assert len(store.list_records(recorded_by=prefix)) == per_process


@pytest.mark.parametrize(
    ("encrypted", "kill_after"),
    [(False, [1, 2, 5, 9, 14, 23]), (True, [3, 11])],
    ids=["plain", "encrypted"],
)
def test_sigkill_never_loses_acknowledged_writes(
    tmp_path: Path, encrypted: bool, kill_after: list[int]
) -> None:
    data_dir = tmp_path / "data"
    key = generate_key() if encrypted else None
    acknowledged: dict[str, str] = {}
    last_counter: dict[str, int] = {}
    for round_no, lines in enumerate(kill_after):
        prefix = f"r{round_no}"
        proc = _spawn(data_dir, prefix, 0, key=key)
        for _ in range(lines):
            record_id, i = proc.stdout.readline().split()
            acknowledged[record_id] = f"{prefix}-{i}"
            last_counter[prefix] = int(i)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stdin.close()

    cipher = Cipher(key) if key else None
    for path in data_dir.rglob("*.json"):
        assert JSONFile(path, cipher).load() is not None, path
        if not encrypted:
            json.loads(path.read_text())

    store = TinyDBStore(data_dir, key=key)
    for record_id, session_id in acknowledged.items():
        record = store.get_record(record_id)
        assert record is not None, record_id
        assert record["session_id"] == session_id
        assert record["answers"] == {"padding": "x" * 1000}
        assert store.record_for_session(session_id)["id"] == record_id
    for prefix, counter in last_counter.items():
        assert store.get_session(prefix)["n"] >= counter
    stored = [r["id"] for r in store.iter_records()]
    assert len(stored) == len(set(stored)) == store.count_records()
    assert set(acknowledged) <= set(stored)
    highest = max(int(rid.rsplit("-", 1)[1]) for rid in stored)
    new = store.create_record({"session_id": "after", "created_at": "2026-12-01T00:00:00Z"})
    assert int(new["id"].rsplit("-", 1)[1]) > highest
