"""The ledger checkpoint (``ledger.checkpoint``) saves replaying the whole
ledger at start-up, and never gives a state other than the full replay."""

from __future__ import annotations

import dataclasses
import json

import pytest

from storage import StoreError, TinyDBStore
from storage.checkpoint import CHECKPOINT_NAME
from storage.ledger import Ledger, LedgerState
from storage.seal import Sealer


def _replayed(store: TinyDBStore) -> LedgerState:
    """The state a full replay of the ledger gives, ignoring any checkpoint."""
    ledger = Ledger(store._ledger.path, store._sealer)
    ledger.checkpoint_path = store.data_dir / "no-such-checkpoint"
    ledger.load(repair=False)
    return ledger.state


def _fill(store: TinyDBStore, make_record, n: int) -> list[str]:
    ids = [store.create_record(make_record(session_id=f"s{i}"))["id"] for i in range(n)]
    store.update_record(ids[0], lambda d: d.update(review_status="acknowledged"))
    store.delete_records(ids[1:3], note={"by": "UDSL1", "why": "retention"})
    return ids


def test_every_field_of_the_state_survives_a_checkpoint(tiny, make_record) -> None:
    _fill(tiny, make_record, 5)
    state = tiny._ledger.state
    state.alerts.add("alert-1")
    state.rekeyed[3] = "old-mac"
    restored = LedgerState.restored(json.loads(json.dumps(state.dump())))
    for f in dataclasses.fields(LedgerState):
        assert getattr(restored, f.name) == getattr(state, f.name), f.name


def test_a_reopened_store_starts_from_the_checkpoint(tiny, make_record) -> None:
    _fill(tiny, make_record, 300)
    tiny.close()
    assert (tiny.data_dir / CHECKPOINT_NAME).is_file()
    reopened = TinyDBStore(tiny.data_dir)
    try:
        assert reopened._ledger.replayed == 0
        assert reopened._ledger.state == _replayed(reopened)
        reopened.check_counts()
        # Lines written after the checkpoint are replayed on top of it.
        reopened.create_record(make_record(session_id="after"))
        reopened.update_record("ISD-2026-0004", lambda d: d.update(review_status="done"))
    finally:
        reopened.close()
    kept = (tiny.data_dir / CHECKPOINT_NAME).read_bytes()
    more = TinyDBStore(tiny.data_dir)
    more.create_record(make_record(session_id="later"))
    more._ledger.save_checkpoint = lambda: None  # type: ignore[method-assign]
    more.close()
    (tiny.data_dir / CHECKPOINT_NAME).write_bytes(kept)
    third = TinyDBStore(tiny.data_dir)
    try:
        assert third._ledger.replayed == 1
        assert third._ledger.state == _replayed(third)
        assert third.record_for_session("later") is not None
        assert third.count_records() == 300 - 2 + 2
    finally:
        third.close()


@pytest.mark.parametrize("damage", ["edited line", "checkpoint edited", "checkpoint torn"])
def test_a_checkpoint_that_does_not_match_is_ignored(data_dir, make_record, damage: str
                                                     ) -> None:
    store = TinyDBStore(data_dir, audit_key=b"k" * 32)
    _fill(store, make_record, 4)
    store.close()
    ledger, kept = data_dir / "ledger.jsonl", data_dir / CHECKPOINT_NAME
    if damage == "edited line":
        # An earlier line changed after the checkpoint was written.
        ledger.write_bytes(ledger.read_bytes().replace(b'"op":"create"', b'"op":"seal"', 1))
    elif damage == "checkpoint edited":
        kept.write_bytes(kept.read_bytes().replace(b'"ISD-2026-0001"', b'"ISD-2026-0009"'))
    else:
        kept.write_bytes(kept.read_bytes()[:-20])
    reopened = TinyDBStore(data_dir, audit_key=b"k" * 32)
    try:
        assert reopened._ledger.replayed > 0
        assert reopened._ledger.state == _replayed(reopened)
    finally:
        reopened.close()


def test_a_checkpoint_sealed_with_another_key_is_ignored(data_dir, make_record) -> None:
    store = TinyDBStore(data_dir, audit_key=b"k" * 32)
    _fill(store, make_record, 4)
    store.close()
    other = Ledger(data_dir / "ledger.jsonl", Sealer(b"x" * 32))
    other.load(repair=False)
    other.state.highs[2026] = 1  # what a forger would want: ids given out again
    other.save_checkpoint()
    reopened = TinyDBStore(data_dir, audit_key=b"k" * 32)
    try:
        assert reopened._ledger.replayed > 0
        assert reopened._ledger.state.high(2026) == 4
        assert reopened.create_record(make_record())["id"] == "ISD-2026-0005"
    finally:
        reopened.close()


def test_a_block_that_lost_a_record_since_the_checkpoint_is_refused(tiny, make_record) -> None:
    ids = [tiny.create_record(make_record(session_id=f"s{i}"))["id"] for i in range(3)]
    tiny.close()
    block = tiny.block_path(2026, 1)
    data = json.loads(block.read_bytes())
    del data["records"][ids[1]]
    block.write_text(json.dumps(data))
    reopened = TinyDBStore(tiny.data_dir)
    try:
        with pytest.raises(StoreError, match="holds 2 record"):
            reopened.check_counts()
    finally:
        reopened.close()
