"""File permissions and encryption at rest."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from tinydb import TinyDB

from bot.config import Environment
from storage import StoreError, TinyDBStore, generate_key, open_store
from storage.atomic import AtomicJSONStorage
from storage.crypto import Cipher

SECRET = "Jessica-Secret-Childname"


def _fill(store: TinyDBStore, make_record) -> dict:
    store.save_session({"id": "S1", "user": "U1", "status": "open", "note": SECRET})
    store.claim("evt")
    store.set_meta("m", SECRET)
    return store.create_record(make_record(child_ref=SECRET))


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _fingerprint(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in _all_files(root)
    }


# -- permissions -----------------------------------------------------------


def test_files_0600_and_dirs_0700(tmp_path: Path, umask_022, make_record) -> None:
    data_dir = tmp_path / "nested" / "data"
    store = TinyDBStore(data_dir)
    _fill(store, make_record)
    store.create_record(make_record(created_at="2027-02-01T00:00:00Z"))
    store.list_records()
    dirs = [data_dir, data_dir.parent, *(p for p in data_dir.rglob("*") if p.is_dir())]
    assert len(dirs) >= 5
    for d in dirs:
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    files = _all_files(data_dir)
    assert {p.name for p in files} >= {
        "hot.json",
        "hot.json.lock",
        "records.lock",
        "block-0000.json",
    }
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_atomic_storage_file_mode(tmp_path: Path, umask_022) -> None:
    path = tmp_path / "d" / "db.json"
    TinyDB(path, storage=AtomicJSONStorage).insert({"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


# -- encryption ------------------------------------------------------------


def test_encrypted_round_trip(data_dir: Path, make_record) -> None:
    key = generate_key()
    store = TinyDBStore(data_dir, key=key)
    created = _fill(store, make_record)
    store.close()
    for path in _all_files(data_dir):
        raw = path.read_bytes()
        assert SECRET.encode() not in raw, path
        assert b"session_id" not in raw, path
    reopened = TinyDBStore(data_dir, key=key.encode())
    assert reopened.get_record(created["id"]) == created
    assert reopened.list_records()[0]["child_ref"] == SECRET
    assert reopened.get_session("S1")["note"] == SECRET
    assert reopened.get_meta("m") == SECRET
    assert reopened.claim("evt") is False


def test_wrong_key_fails_clearly_and_writes_nothing(data_dir: Path, make_record) -> None:
    store = TinyDBStore(data_dir, key=generate_key())
    _fill(store, make_record)
    store.close()
    before = _fingerprint(data_dir)
    with pytest.raises(StoreError, match=r"cannot decrypt .*wrong JIGSAW_DATA_KEY\?"):
        TinyDBStore(data_dir, key=generate_key())
    assert _fingerprint(data_dir) == before


def test_wrong_key_on_archive_alone(data_dir: Path, make_record) -> None:
    key = generate_key()
    store = TinyDBStore(data_dir, key=key)
    store.create_record(make_record())
    store.close()
    (data_dir / "hot.json").unlink(missing_ok=True)
    before = _fingerprint(data_dir)
    with pytest.raises(StoreError, match="wrong JIGSAW_DATA_KEY"):
        TinyDBStore(data_dir, key=generate_key())
    assert _fingerprint(data_dir) == before


def test_wrong_key_never_overwrites_through_tinydb(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    TinyDB(path, storage=AtomicJSONStorage, cipher=Cipher(generate_key())).insert({"a": 1})
    before = path.read_bytes()
    other = TinyDB(path, storage=AtomicJSONStorage, cipher=Cipher(generate_key()))
    with pytest.raises(StoreError, match="cannot decrypt"):
        other.insert({"a": 2})
    with pytest.raises(StoreError, match="cannot decrypt"):
        other.truncate()
    assert path.read_bytes() == before


def test_corrupt_ciphertext(data_dir: Path, make_record) -> None:
    key = generate_key()
    store = TinyDBStore(data_dir, key=key)
    created = store.create_record(make_record())
    store.close()
    block = data_dir / "records" / "2026" / "block-0000.json"
    raw = bytearray(block.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    block.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="cannot decrypt"):
        TinyDBStore(data_dir, key=key)
    assert block.read_bytes() == bytes(raw)
    assert created["id"] == "ISD-2026-0001"


def test_plaintext_with_key_and_ciphertext_without(data_dir: Path, make_record) -> None:
    plain = TinyDBStore(data_dir)
    _fill(plain, make_record)
    plain.close()
    with pytest.raises(StoreError, match="not encrypted but JIGSAW_DATA_KEY is set"):
        TinyDBStore(data_dir, key=generate_key())

    other_dir = data_dir.parent / "enc"
    TinyDBStore(other_dir, key=generate_key()).save_session({"id": "S1"})
    with pytest.raises(StoreError, match="encrypted: set JIGSAW_DATA_KEY"):
        TinyDBStore(other_dir)


def test_malformed_key(data_dir: Path) -> None:
    with pytest.raises(StoreError, match="not a valid key"):
        TinyDBStore(data_dir, key=b"too short")


def test_open_store_takes_the_environment_key(tmp_path: Path, make_record) -> None:
    environment = Environment.read({"JIGSAW_DATA_DIR": str(tmp_path / "from-env"),
                                    "JIGSAW_DATA_KEY": generate_key()})
    store = open_store(environment.data_dir, key=environment.data_key)
    assert store.data_dir == tmp_path / "from-env"
    assert store.encrypted
    store.create_record(make_record())
    store.close()
    with pytest.raises(StoreError, match="encrypted: set JIGSAW_DATA_KEY"):
        open_store(environment.data_dir)


def test_open_store_refuses_an_audit_key_file_inside_the_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "audit.key").write_text("k" * 64)
    with pytest.raises(StoreError, match="inside the data directory"):
        open_store(data, audit_key_file=str(data / "audit.key"))


def test_generated_keys_differ_and_work() -> None:
    a, b = generate_key(), generate_key()
    assert a != b and isinstance(a, str)
    assert Cipher(a).decrypt(Cipher(a).encrypt(b"x"), "p") == b"x"
