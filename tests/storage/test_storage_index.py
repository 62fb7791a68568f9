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
