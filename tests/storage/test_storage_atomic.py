"""AtomicJSONStorage under TinyDB, and the file helpers beneath it."""

from __future__ import annotations

import json
import os
import resource
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tinydb import TinyDB

import storage.jsonfile as jsonfile
from storage.atomic import AtomicJSONStorage
from storage.files import sweep_temp_files


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    storage = AtomicJSONStorage(tmp_path / "db.json")
    assert storage.read() is None
    assert not (tmp_path / "db.json").exists()
    db = TinyDB(tmp_path / "db.json", storage=AtomicJSONStorage)
    assert db.all() == []


def test_round_trip_with_tinydb(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "db.json"
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.insert({"a": 1})
    db.table("other").insert({"b": [1, 2]})
    assert json.loads(path.read_text()) == {
        "_default": {"1": {"a": 1}},
        "other": {"1": {"b": [1, 2]}},
    }
    again = TinyDB(path, storage=AtomicJSONStorage)
    assert again.table("other").all() == [{"b": [1, 2]}]


def test_unchanged_file_is_parsed_once(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "db.json"
    path.write_text(json.dumps({"t": {"1": {"a": 1}}}))
    before = jsonfile.JSONFile.parses
    storage = AtomicJSONStorage(path)
    assert storage.read() == {"t": {"1": {"a": 1}}}
    assert storage.read() == {"t": {"1": {"a": 1}}}
    assert jsonfile.JSONFile.parses - before == 1
    # Our own write is cached too.
    storage.write({"t": {"1": {"a": 2}}})
    assert storage.read() == {"t": {"1": {"a": 2}}}
    assert jsonfile.JSONFile.parses - before == 1


def test_reads_are_private_copies(tmp_path: Path) -> None:
    storage = AtomicJSONStorage(tmp_path / "db.json")
    storage.write({"t": {"1": {"a": [1]}}})
    first = storage.read()
    first["t"]["1"]["a"].append(2)
    assert storage.read() == {"t": {"1": {"a": [1]}}}


def test_sees_writes_from_another_instance(tmp_path: Path) -> None:
    """Even same-size writes within one timestamp tick are noticed."""
    path = tmp_path / "db.json"
    reader = AtomicJSONStorage(path)
    writer = AtomicJSONStorage(path)
    for n in range(20):
        writer.write({"t": {"1": {"n": n % 10}}})
        assert reader.read() == {"t": {"1": {"n": n % 10}}}


def test_sees_a_file_removed(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    storage = AtomicJSONStorage(path)
    storage.write({"t": {}})
    path.unlink()
    assert storage.read() is None


@contextmanager
def disk_full() -> Iterator[None]:
    """Every file write by this process fails, as on a full disk (the file
    size limit at 0; the signal it raises ignored, so the write errors)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_failed_write_keeps_old_file_and_cache(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    storage = AtomicJSONStorage(path)
    storage.write({"t": {"1": {"v": "old"}}})

    with disk_full(), pytest.raises(OSError):
        storage.write({"t": {"1": {"v": "new"}}})
    assert storage.read() == {"t": {"1": {"v": "old"}}}
    assert json.loads(path.read_text()) == {"t": {"1": {"v": "old"}}}
    assert [p.name for p in tmp_path.iterdir()] == ["db.json"]


def test_failed_tinydb_update_leaves_cache_alone(tmp_path: Path) -> None:
    db = TinyDB(tmp_path / "db.json", storage=AtomicJSONStorage)
    doc_id = db.insert({"items": [1]})

    def transform(doc: dict) -> None:
        doc["items"].append(2)
        raise RuntimeError("half way")

    with pytest.raises(RuntimeError):
        db.update(transform, doc_ids=[doc_id])
    assert db.get(doc_id=doc_id) == {"items": [1]}


def test_invalid_json_is_a_store_error(tmp_path: Path) -> None:
    from storage import StoreError

    path = tmp_path / "db.json"
    path.write_text('{"t": ')
    with pytest.raises(StoreError, match="not valid JSON"):
        AtomicJSONStorage(path).read()


def test_sweep_removes_only_old_temp_files(tmp_path: Path) -> None:
    old = tmp_path / ".db.json.1.2.abcd.tmp"
    young = tmp_path / ".db.json.3.4.ef01.tmp"
    keep = tmp_path / "db.json"
    for p in (old, young, keep):
        p.write_text("x")
    an_hour_ago = time.time() - 7200
    os.utime(old, (an_hour_ago, an_hour_ago))
    os.utime(keep, (an_hour_ago, an_hour_ago))
    assert sweep_temp_files(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([young.name, keep.name])
