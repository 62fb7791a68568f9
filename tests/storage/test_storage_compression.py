"""Closed record blocks are stored compressed (zlib, then encrypted if a key
is set); the open block is not. Reading, verify and the audit seal treat
both forms alike, and a data directory written before compression reads as
it is and has its closed blocks compressed once at start-up."""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storage import TinyDBStore, generate_key
from storage.backup import backup_directory, restore_directory
from storage.crypto import Cipher
from storage.integrity import BLOCKS_FORMAT
from storage.jsonfile import JSONFile
from storage.ledger import BLOCK_SIZE
from storage.locking import lock_for
from storage.rotate import rotate_directory

WORDS = ("the", "child", "said", "that", "her", "mother's", "partner", "shouts", "at",
         "night", "and", "she", "is", "scared", "to", "go", "home", "after", "school;",
         "teacher", "noticed", "bruising", "on", "the", "arm", "and", "a", "change", "in",
         "behaviour", "since", "half", "term,", "attendance", "has", "dropped")
# Two closed blocks and an open one.
COUNT = 2 * BLOCK_SIZE + 10


def _records(make_record: Callable[..., dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Records with an account of a few hundred words, as real ones have."""
    rng = random.Random(5)
    return [make_record(session_id=f"c{i}", account=" ".join(rng.choices(WORDS, k=250)))
            for i in range(n)]


def _fill(store: TinyDBStore, make_record: Callable[..., dict[str, Any]],
          n: int = COUNT) -> list[dict[str, Any]]:
    return [store.create_record(r) for r in _records(make_record, n)]


def _block(data_dir: Path, number: int) -> Path:
    return data_dir / "records" / "2026" / f"block-{number:04d}.json"


def _plain(path: Path, key: str | None = None) -> bytes:
    raw = path.read_bytes()
    return raw if key is None else Cipher(key).decrypt(raw, path)


@pytest.mark.parametrize("key", [None, generate_key()], ids=["plain", "encrypted"])
def test_closed_blocks_are_compressed_and_read_back(data_dir: Path, make_record,
                                                     key: str | None) -> None:
    store = TinyDBStore(data_dir, key=key)
    created = _fill(store, make_record)
    store.close()
    for number in (0, 1):
        text = _plain(_block(data_dir, number), key)
        assert text[:1] == b"x"
        inflated = zlib.decompress(text)
        assert len(json.loads(inflated)["records"]) == BLOCK_SIZE
        assert len(text) * 4 < len(inflated)
    # The open block, rewritten by every new record, is left as JSON.
    assert _plain(_block(data_dir, 2), key)[:1] == b"{"
    archive = sum(p.stat().st_size for p in (data_dir / "records").rglob("block-*.json"))
    assert archive / len(created) < 1000

    reopened = TinyDBStore(data_dir, key=key)
    try:
        assert [reopened.get_record(r["id"]) for r in created] == created
        assert list(reopened.iter_records()) == created
        report = reopened.verify_integrity()
        assert report.problems == []
        assert report.checked == COUNT
    finally:
        reopened.close()


def test_a_record_updated_in_a_closed_block_stays_compressed(tiny: TinyDBStore,
                                                             make_record) -> None:
    created = _fill(tiny, make_record, BLOCK_SIZE + 1)
    first = created[0]["id"]
    updated = tiny.update_record(first, lambda d: d.update(review_status="acknowledged"))
    assert _block(tiny.data_dir, 0).read_bytes()[:1] == b"x"
    tiny.delete_records([created[1]["id"]], note={"by": "UDSL1", "why": "retention"})
    assert _block(tiny.data_dir, 0).read_bytes()[:1] == b"x"
    reopened = TinyDBStore(tiny.data_dir)
    try:
        assert reopened.get_record(first) == updated
        assert reopened.get_record(created[1]["id"]) is None
        assert reopened.verify_integrity().problems == []
    finally:
        reopened.close()


@pytest.mark.parametrize("key", [None, generate_key()], ids=["plain", "encrypted"])
@pytest.mark.parametrize("where", [0.0, 0.5, 1.0], ids=["header", "middle", "checksum"])
def test_a_flipped_byte_in_a_compressed_block_is_reported(data_dir: Path, make_record,
                                                          key: str | None,
                                                          where: float) -> None:
    store = TinyDBStore(data_dir, key=key)
    try:
        _fill(store, make_record, BLOCK_SIZE + 1)
        block = _block(data_dir, 0)
        raw = bytearray(block.read_bytes())
        at = min(int(len(raw) * where), len(raw) - 1)
        raw[at] ^= 0x01
        block.write_bytes(bytes(raw))
        problems = store.verify_integrity().problems
    finally:
        store.close()
    assert any(p.startswith("records/2026/block-0000.json:") for p in problems), problems


def _uncompress(store: TinyDBStore, key: str | None) -> None:
    """Rewrite every block as JSON and mark the ledger with the format
    before compression: a data directory as the previous version left it."""
    for path, _, _ in store.blocks_on_disk():
        file = JSONFile(path, Cipher(key) if key else None)
        file.save(file.load())
    with lock_for(store.records_root).held():
        store._ledger.append("format", blocks=2, meta=True)


@pytest.mark.parametrize("key", [None, generate_key()], ids=["plain", "encrypted"])
def test_an_uncompressed_data_directory_reads_and_is_compressed_once(
        data_dir: Path, make_record, key: str | None) -> None:
    store = TinyDBStore(data_dir, key=key)
    created = _fill(store, make_record)
    _uncompress(store, key)
    store.close()
    assert all(_plain(_block(data_dir, n), key)[:1] == b"{" for n in (0, 1, 2))
    # A crash part way through the compression leaves some blocks in each form.
    half = JSONFile(_block(data_dir, 1), Cipher(key) if key else None)
    half.save(half.load(), compress=True)

    reopened = TinyDBStore(data_dir, key=key)
    try:
        assert reopened._ledger.state.blocks == BLOCKS_FORMAT
        assert [_plain(_block(data_dir, n), key)[:1] for n in (0, 1, 2)] == [b"x", b"x", b"{"]
        assert [reopened.get_record(r["id"]) for r in created] == created
        assert reopened.verify_integrity().problems == []
    finally:
        reopened.close()
    before = _block(data_dir, 0).stat().st_mtime_ns
    TinyDBStore(data_dir, key=key).close()
    assert _block(data_dir, 0).stat().st_mtime_ns == before  # once only


def test_an_uncompressed_closed_block_reads_without_migrating(tiny: TinyDBStore,
                                                              make_record) -> None:
    """A closed block put back as JSON (say, from an old backup of that one
    file) is read as it is."""
    created = _fill(tiny, make_record, BLOCK_SIZE + 1)
    tiny.close()
    file = JSONFile(_block(tiny.data_dir, 0))
    file.save(file.load())
    reopened = TinyDBStore(tiny.data_dir)
    try:
        assert _block(tiny.data_dir, 0).read_bytes()[:1] == b"{"
        assert [reopened.get_record(r["id"]) for r in created] == created
        assert reopened.verify_integrity().problems == []
    finally:
        reopened.close()


def test_compressed_blocks_round_trip_backup_restore_and_key_rotation(
        tmp_path: Path, make_record) -> None:
    data, key, new_key = tmp_path / "data", generate_key(), generate_key()
    audit = b"audit-key-0123456789abcdef-0123456789"
    store = TinyDBStore(data, key=key, audit_key=audit)
    created = _fill(store, make_record, BLOCK_SIZE + 1)
    store.close()
    backup_directory(data, tmp_path / "backup.tar.gz")
    restored = tmp_path / "restored"
    restore_directory(tmp_path / "backup.tar.gz", restored, key=key, audit_key=audit)
    assert _block(restored, 0).read_bytes() == _block(data, 0).read_bytes()

    # Rotating to no data key and back: the compressed text is carried as it is.
    for step, (old, new) in enumerate(((key, None), (None, new_key))):
        rotate_directory(restored, key=old, new_key=new, audit_key=audit, new_audit_key=audit,
                         stamp=str(step))
        assert _plain(_block(restored, 0), new)[:1] == b"x"
    reopened = TinyDBStore(restored, key=new_key, audit_key=audit)
    try:
        assert [reopened.get_record(r["id"]) for r in created] == created
        assert reopened.verify_integrity().problems == []
    finally:
        reopened.close()


def test_a_block_kept_parsed_holds_one_copy_of_a_guidance_value_many_records_share(
        data_dir: Path, make_record: Callable[..., dict[str, Any]]) -> None:
    """Structural: records of a cached block share one object for an
    identical large value, never for one only equal (another key order,
    ``True`` for ``1``), and what is read and written back is unchanged."""
    pack = {"nation": "england", "version": "2026.1", "terms": {"a": "x", "b": "y"}}
    reordered = {"version": "2026.1", "nation": "england", "terms": {"a": "x", "b": "y"}}
    cited = [{"id": "KCSIE-1", "quoted": True}, {"id": "WT-2", "quoted": False}]
    as_number = [{"id": "KCSIE-1", "quoted": 1}, {"id": "WT-2", "quoted": False}]
    fields = [(pack, cited), (pack, cited), (reordered, as_number), (pack, cited)]
    store = TinyDBStore(data_dir)
    ids = [store.create_record(make_record(pack=p, guidance_cited=c))["id"] for p, c in fields]
    store.close()
    store = TinyDBStore(data_dir)
    try:
        records = store.get_records(ids)
        assert [(r["pack"], r["guidance_cited"]) for r in records] == fields
        assert list(records[2]["pack"]) == ["version", "nation", "terms"]
        assert records[2]["guidance_cited"][0]["quoted"] == 1
        assert records[2]["guidance_cited"][0]["quoted"] is not True
        cached = store._block(store.block_path(2026, 1)).storage.shared()["records"]
        first, second, other, fourth = (cached[rid] for rid in ids)
        assert first["pack"] is second["pack"] is fourth["pack"]
        assert first["guidance_cited"] is second["guidance_cited"]
        assert other["pack"] is not first["pack"]
        assert other["guidance_cited"] is not first["guidance_cited"]
        # What leaves the store is a copy: changing it changes no other record.
        records[0]["pack"]["nation"] = "wales"
        assert store.get_record(ids[1])["pack"] == pack
        store.update_record(ids[1], lambda d: d.update(review_status="done"))
        assert store.verify_integrity().problems == []
        assert [store.get_record(rid)["pack"] for rid in ids] == [p for p, _ in fields]
    finally:
        store.close()
