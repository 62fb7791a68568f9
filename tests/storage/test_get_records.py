"""Many records at once, as the DSL's inbox reads them: in the order asked,
the missing left out, a few fields when that is all that is needed, and each
block read once however many of its records are wanted."""

from __future__ import annotations

import storage.jsonfile as jsonfile
from storage import TinyDBStore


def test_records_come_in_the_order_asked_without_the_missing(store, make_record) -> None:
    a, b, c = (store.create_record(make_record(created_at=f"2026-01-0{d}T09:00:00Z"))
               for d in (1, 2, 3))
    got = store.get_records([c["id"], "ISD-2026-9999", a["id"], "nonsense"])
    assert got == [store.get_record(c["id"]), store.get_record(a["id"])]
    assert store.get_records([]) == []
    got[0]["status"] = "changed here only"
    assert store.get_record(c["id"])["status"] != "changed here only"
    assert b["id"] not in [r["id"] for r in got]


def test_only_the_fields_asked_for(store, make_record) -> None:
    made = store.create_record(make_record())
    [got] = store.get_records([made["id"]], ("id", "review_status", "not_in_any_record"))
    assert got == {"id": made["id"], "review_status": made["review_status"]}


def test_each_block_is_read_once_however_many_records(tiny, make_record) -> None:
    for i in range(600):  # three blocks
        tiny.create_record(make_record(created_at=f"2026-01-01T00:00:{i % 60:02d}Z"))
    fresh = TinyDBStore(tiny.data_dir)
    try:
        fresh.list_records(limit=1)  # builds the index first
        before = jsonfile.JSONFile.parses
        # Interleaved across the blocks, as the inbox's statuses come.
        pairs = zip(range(1, 300), range(300, 599), strict=True)
        ids = [f"ISD-2026-{n:04d}" for pair in pairs for n in pair]
        assert [r["id"] for r in fresh.get_records(ids, ("id",))] == ids
        assert jsonfile.JSONFile.parses - before <= 3
    finally:
        fresh.close()
