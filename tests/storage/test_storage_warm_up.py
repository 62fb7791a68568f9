"""A store opened with years of records serves at once: the records the
outbox has to post come from ``records/undelivered.json`` and the blocks
changed since, while the whole index is built in the background; list
queries then answer exactly as an index built before serving."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage import TinyDBStore
from storage.locking import lock_for

SETTLED = ("posted", "held")
STATES = ["posted", "pending", "held", "failed", "posted", None, "posted"]


def _fill(data_dir: Path, make_record: Callable[..., dict[str, Any]], n: int) -> list[str]:
    store = TinyDBStore(data_dir)
    try:
        ids = []
        for i in range(n):
            state = STATES[i % len(STATES)]
            ids.append(store.create_record(make_record(
                delivery=None if state is None else {"state": state},
                created_at=f"2026-11-{1 + i % 28:02d}T13:40:00Z",
                recorded_by=f"U{i % 3}", review_status=["pending", "done"][i % 2]))["id"])
        return ids
    finally:
        store.close()


def _before_the_index(data_dir: Path) -> tuple[TinyDBStore, list[Any], bool]:
    """Open, warm up with the background build held back, and ask the
    outbox's question: (store, answer, whether the index was built)."""
    store = TinyDBStore(data_dir)
    with lock_for(store.records_root).held():  # the build waits for this
        store.warm_up()
        answer = store.list_records(delivery_state_not_in=SETTLED)
        built = store.index_built()
    return store, answer, built


def test_undelivered_records_are_answered_before_the_index_is_built(
        data_dir: Path, make_record: Callable[..., dict[str, Any]]) -> None:
    _fill(data_dir, make_record, 300)  # two blocks
    store, answer, built = _before_the_index(data_dir)
    try:
        assert not built
        assert answer and {s["delivery"]["state"] if s["delivery"] else None
                           for s in answer} == {"pending", "failed", None}
        store.count_records()
        assert store.index_built()
        assert store.list_records(delivery_state_not_in=SETTLED) == answer
    finally:
        store.close()


def test_a_write_the_undelivered_file_missed_is_still_delivered(
        data_dir: Path, make_record: Callable[..., dict[str, Any]]) -> None:
    ids = _fill(data_dir, make_record, 300)
    root = data_dir / "records"
    kept = {name: (root / name).read_bytes() for name in ("index.json", "undelivered.json")}
    store = TinyDBStore(data_dir)
    try:
        posted = [rid for rid in ids if store.get_record(rid)["delivery"] == {"state": "posted"}]
        store.update_record(posted[0], lambda d: d.update(delivery={"state": "failed"}))
        store.update_record(posted[-1], lambda d: d.update(delivery={"state": "pending"}))
        waiting = [rid for rid in ids if rid not in posted]
        store.update_record(waiting[0], lambda d: d.update(delivery={"state": "posted"}))
        expected = store.list_records(delivery_state_not_in=SETTLED)
    finally:
        store.close()
    for name, data in kept.items():  # as if killed before saving them
        (root / name).write_bytes(data)
    store, answer, built = _before_the_index(data_dir)
    try:
        assert not built
        assert answer == expected
        assert {posted[0], posted[-1]} <= {s["id"] for s in answer}
        assert waiting[0] not in {s["id"] for s in answer}
    finally:
        store.close()


def test_the_index_built_in_the_background_lists_as_one_built_at_once(
        data_dir: Path, make_record: Callable[..., dict[str, Any]]) -> None:
    _fill(data_dir, make_record, 300)
    queries: list[dict[str, Any]] = [
        {}, {"limit": 10}, {"recorded_by": "U1"}, {"review_status": "pending", "limit": 20},
        {"recorded_by": "U2", "review_status": "done"},
        {"delivery_state_not_in": SETTLED}, {"delivery_state_not_in": ("posted",)}]
    eager = TinyDBStore(data_dir)
    try:
        eager.count_records()
        expected = [eager.list_records(**q) for q in queries]
    finally:
        eager.close()
    lazy = TinyDBStore(data_dir)
    try:
        lazy.warm_up()
        assert [lazy.list_records(**q) for q in queries] == expected
        assert lazy.index_built()
    finally:
        lazy.close()


def test_without_the_undelivered_file_the_outbox_waits_for_the_index(
        data_dir: Path, make_record: Callable[..., dict[str, Any]]) -> None:
    _fill(data_dir, make_record, 20)
    (data_dir / "records" / "undelivered.json").unlink()
    store = TinyDBStore(data_dir)
    try:
        store.warm_up()
        answer = store.list_records(delivery_state_not_in=SETTLED)
        assert store.index_built()
        assert len(answer) == sum(1 for i in range(20) if STATES[i % len(STATES)] not in SETTLED)
    finally:
        store.close()
    assert (data_dir / "records" / "undelivered.json").is_file()
