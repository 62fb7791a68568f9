"""The record index stays fresh when another store object (or process)
writes, and re-reads only the blocks the ledger says changed."""

from __future__ import annotations

import pytest

import storage.jsonfile as jsonfile
from storage import TinyDBStore


@pytest.fixture
def other(backend):
    """A second store on the same data, standing in for another process."""
    opened = backend.open()
    yield opened
    opened.close()


@pytest.fixture
def tiny_other(data_dir):
    opened = TinyDBStore(data_dir)
    yield opened
    opened.close()


def test_sees_creates_updates_and_deletes_by_another_store(store, other, make_record) -> None:
    assert store.list_records() == []
    created = other.create_record(make_record(session_id="from-other"))
    assert [s["id"] for s in store.list_records()] == [created["id"]]
    assert store.record_for_session("from-other") == created

    # Same-size edits in quick succession (likely within one timestamp tick).
    for status in ["waiting", "pending", "waiting", "pending", "waiting"]:
        other.update_record(created["id"], lambda d, s=status: d.update(review_status=s))
        assert [s["review_status"] for s in store.list_records()] == [status]
        assert store.get_record(created["id"])["review_status"] == status

    other.delete_records([created["id"]])
    assert store.list_records() == []
    assert store.count_records() == 0
    assert store.record_for_session("from-other") is None


def test_next_id_accounts_for_another_stores_writes(store, other, make_record) -> None:
    assert store.create_record(make_record())["id"] == "ISD-2026-0001"
    assert other.create_record(make_record())["id"] == "ISD-2026-0002"
    assert store.create_record(make_record())["id"] == "ISD-2026-0003"
    session = make_record(session_id="dup")
    other.create_record(session)
    assert store.create_record(session)["id"] == "ISD-2026-0004"
    assert store.count_records() == other.count_records() == 4


def test_sees_a_block_file_removed_by_another_store(tiny, tiny_other, make_record) -> None:
    store, other = tiny, tiny_other
    created = [store.create_record(make_record()) for _ in range(258)]
    assert store.count_records() == 258
    other.delete_records([r["id"] for r in created[:256]])
    assert store.count_records() == 2
    assert [s["id"] for s in store.list_records()] == [created[257]["id"], created[256]["id"]]


def test_only_changed_blocks_are_read_again(tiny, tiny_other, make_record, monkeypatch
                                            ) -> None:
    store, other = tiny, tiny_other
    for i in range(600):  # three blocks
        store.create_record(make_record(created_at=f"2026-01-01T00:00:{i % 60:02d}Z"))
    fresh = TinyDBStore(store.data_dir)
    def parses() -> int:
        return jsonfile.JSONFile.parses - before

    before = jsonfile.JSONFile.parses
    fresh.list_records(limit=1)
    assert parses() == 3  # cold build reads each block once
    fresh.list_records(review_status="pending", limit=20)
    fresh.count_records()
    assert parses() == 3
    other.update_record("ISD-2026-0300", lambda d: d.update(review_status="done"))
    before = jsonfile.JSONFile.parses
    assert [s["id"] for s in fresh.list_records(review_status="done")] == ["ISD-2026-0300"]
    assert parses() == 1  # the one block the ledger's new line names


def _ids(store) -> list[str]:
    return [s["id"] for s in store.list_records()]


def test_a_reopened_store_lists_from_its_index_file(tiny, make_record) -> None:
    for i in range(600):  # three blocks
        tiny.create_record(make_record(created_at=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z"))
    listed = tiny.list_records()
    tiny.close()
    assert (tiny.records_root / "index.json").is_file()
    reopened = TinyDBStore(tiny.data_dir)
    try:
        before = jsonfile.JSONFile.parses
        assert reopened.list_records() == listed
        assert reopened.count_records() == 600
        reopened.check_counts()
        assert jsonfile.JSONFile.parses == before  # no block read to build the index
    finally:
        reopened.close()


def test_a_reopened_store_filters_records_without_a_delivery_state(tiny, make_record
                                                                    ) -> None:
    states = [None, "posted", "pending", "held", None, "posted"]
    for state in states:
        tiny.create_record(make_record(delivery=None if state is None else {"state": state}))
    settled = ("posted", "held")
    waiting = tiny.list_records(delivery_state_not_in=settled)
    tiny.close()
    reopened = TinyDBStore(tiny.data_dir)
    try:
        before = jsonfile.JSONFile.parses
        assert reopened.list_records(delivery_state_not_in=settled) == waiting
        assert jsonfile.JSONFile.parses == before  # from the index file
        assert [s["delivery"] for s in waiting] == [None, {"state": "pending"}, None]
    finally:
        reopened.close()


def test_an_out_of_date_index_file_never_hides_a_write(tiny, make_record) -> None:
    created = [tiny.create_record(make_record()) for _ in range(3)]
    tiny.close()
    kept = (tiny.records_root / "index.json").read_bytes()
    other = TinyDBStore(tiny.data_dir)
    other.update_record(created[1]["id"], lambda d: d.update(review_status="done"))
    other.create_record(make_record(session_id="later"))
    other.close()
    (tiny.records_root / "index.json").write_bytes(kept)  # as if killed before saving
    reopened = TinyDBStore(tiny.data_dir)
    try:
        assert [s["id"] for s in reopened.list_records(review_status="done")] == [
            created[1]["id"]]
        assert reopened.record_for_session("later") is not None
        assert reopened.count_records() == 4
    finally:
        reopened.close()


@pytest.mark.parametrize("damage", [b"", b"not json", b'{"mac":"x","index":{}}'])
def test_a_damaged_index_file_is_rebuilt(tiny, make_record, damage: bytes) -> None:
    created = [tiny.create_record(make_record()) for _ in range(3)]
    listed = tiny.list_records()
    tiny.close()
    (tiny.records_root / "index.json").write_bytes(damage)
    reopened = TinyDBStore(tiny.data_dir)
    try:
        assert reopened.list_records() == listed
        assert len(created) == reopened.count_records()
    finally:
        reopened.close()


def test_an_index_file_edited_by_hand_is_ignored(data_dir, make_record) -> None:
    key = b"k" * 32
    store = TinyDBStore(data_dir, audit_key=key)
    created = store.create_record(make_record(review_status="pending"))
    store.close()
    path = store.records_root / "index.json"
    path.write_bytes(path.read_bytes().replace(b'"pending"', b'"done"'))
    reopened = TinyDBStore(data_dir, audit_key=key)
    try:
        assert [s["id"] for s in reopened.list_records(review_status="pending")] == [
            created["id"]]
        assert reopened.list_records(review_status="done") == []
    finally:
        reopened.close()


def test_a_record_taken_out_of_its_block_by_hand_is_still_caught(tiny, make_record) -> None:
    import json

    from storage import StoreError

    created = [tiny.create_record(make_record()) for _ in range(3)]
    tiny.close()
    block = tiny.block_path(2026, 1)
    data = json.loads(block.read_text(encoding="utf-8"))
    del data["records"][created[1]["id"]]
    block.write_text(json.dumps(data), encoding="utf-8")
    reopened = TinyDBStore(tiny.data_dir)
    try:
        with pytest.raises(StoreError):
            reopened.check_counts()
    finally:
        reopened.close()
