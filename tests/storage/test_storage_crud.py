"""Behaviour of every store through the Store interface (both backends), and
of the TinyDB store's own files (``tiny``)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from storage import NotFound, Store, TinyDBStore

SETTLED = ("posted", "held")


def test_is_a_store(store: Store) -> None:
    assert isinstance(store, Store)


# -- records ---------------------------------------------------------------


def test_create_assigns_sequential_ids_per_year(store, make_record) -> None:
    first = store.create_record(make_record())
    second = store.create_record(make_record())
    other_year = store.create_record(make_record(created_at="2027-01-02T09:00:00Z"))
    assert (first["id"], second["id"], other_year["id"]) == (
        "ISD-2026-0001",
        "ISD-2026-0002",
        "ISD-2027-0001",
    )
    assert store.get_record("ISD-2026-0002") == second
    assert store.count_records() == 3


def test_create_does_not_keep_the_callers_object(store, make_record) -> None:
    record = make_record()
    created = store.create_record(record)
    assert "id" not in record
    created["answers"]["q1"] = "changed"
    record["answers"]["q1"] = "changed too"
    assert store.get_record(created["id"])["answers"]["q1"] == "yes"


def test_create_is_idempotent_per_session(store, make_record) -> None:
    first = store.create_record(make_record(session_id="S-same", decision="share"))
    again = store.create_record(make_record(session_id="S-same", decision="dont_share"))
    assert again == first
    assert store.count_records() == 1
    assert store.record_for_session("S-same") == first
    assert store.record_for_session("S-other") is None


def test_create_needs_created_at(store, make_record) -> None:
    with pytest.raises(ValueError, match="created_at"):
        store.create_record(make_record(created_at=None))
    with pytest.raises(ValueError, match="created_at"):
        store.create_record(make_record(created_at="25/11/2026"))
    assert store.count_records() == 0


def test_ids_grow_past_four_digits_and_sort_numerically(tmp_path, make_record) -> None:
    """A directory of the old block layout whose counter reached 9999 (its
    records purged): the counter carries over into the ledger."""
    block = tmp_path / "data" / "records" / "2026" / "block-0039.json"
    block.parent.mkdir(parents=True)
    block.write_text(json.dumps({"high": 9999, "records": {}}))
    store = TinyDBStore(tmp_path / "data")
    created = store.create_record(make_record())
    assert created["id"] == "ISD-2026-10000"
    store.create_record(make_record(created_at="2026-01-01T00:00:00Z"))
    ids = [s["id"] for s in store.list_records()]
    assert ids == ["ISD-2026-10000", "ISD-2026-10001"]
    assert store.get_record("ISD-2026-10000")["id"] == "ISD-2026-10000"


def test_blocks_hold_256_records(tiny, data_dir, make_record) -> None:
    store = tiny
    for _ in range(257):
        store.create_record(make_record())
    year_dir = data_dir / "records" / "2026"
    assert sorted(p.name for p in year_dir.glob("*.json")) == ["block-0000.json", "block-0001.json"]
    # The full block is closed, so stored compressed.
    first = json.loads(zlib.decompress((year_dir / "block-0000.json").read_bytes()))
    assert len(first["records"]) == 256
    assert store.get_record("ISD-2026-0257")["id"] == "ISD-2026-0257"


def test_get_record_unknown(store) -> None:
    assert store.get_record("ISD-2026-0001") is None
    assert store.get_record("not an id") is None


def test_update_record(store, make_record) -> None:
    created = store.create_record(make_record())

    def review(doc: dict) -> None:
        doc["review_status"] = "done"
        doc["answers"]["q2"].append("c")

    updated = store.update_record(created["id"], review)
    assert updated["review_status"] == "done"
    assert updated["answers"]["q2"] == ["a", "b", "c"]
    assert store.get_record(created["id"]) == updated

    replaced = store.update_record(created["id"], lambda doc: {**doc, "status": "closed"})
    assert replaced["status"] == "closed"
    assert store.get_record(created["id"])["status"] == "closed"


def test_update_record_mutate_gets_a_copy(store, make_record) -> None:
    created = store.create_record(make_record())

    def fail_halfway(doc: dict) -> None:
        doc["review_status"] = "half done"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.update_record(created["id"], fail_halfway)
    assert store.get_record(created["id"]) == created
    assert store.list_records(review_status="half done") == []


def test_update_record_missing(store, make_record) -> None:
    with pytest.raises(NotFound):
        store.update_record("ISD-2026-0001", lambda doc: None)
    store.create_record(make_record())
    with pytest.raises(NotFound):
        store.update_record("ISD-2026-0002", lambda doc: None)
    with pytest.raises(NotFound):
        store.update_record("bogus", lambda doc: None)


def test_update_record_cannot_change_id(store, make_record) -> None:
    created = store.create_record(make_record())
    with pytest.raises(ValueError):
        store.update_record(created["id"], lambda doc: {**doc, "id": "ISD-2026-0099"})


def test_list_filters_and_order(store, make_record) -> None:
    a = store.create_record(make_record(created_at="2026-03-01T10:00:00Z", recorded_by="U1"))
    b = store.create_record(
        make_record(
            created_at="2026-05-01T10:00:00Z",
            recorded_by="U2",
            review_status="done",
            delivery={"state": "posted", "ts": "1.2"},
        )
    )
    c = store.create_record(make_record(created_at="2026-01-01T10:00:00Z", recorded_by="U1"))
    d = store.create_record(make_record(created_at="2026-05-01T10:00:00Z", recorded_by="U2"))

    def ids(**kw) -> list[str]:
        return [s["id"] for s in store.list_records(**kw)]

    # Newest first by created_at, then by id.
    assert ids() == [d["id"], b["id"], a["id"], c["id"]]
    assert ids(limit=2) == [d["id"], b["id"]]
    assert ids(limit=0) == []
    assert ids(recorded_by="U1") == [a["id"], c["id"]]
    assert ids(review_status="done") == [b["id"]]
    assert ids(review_status="pending", recorded_by="U2") == [d["id"]]
    assert ids(delivery_state_not_in=("posted", "held")) == [d["id"], a["id"], c["id"]]
    assert ids(delivery_state_not_in=("pending",)) == [b["id"]]
    assert ids(recorded_by="nobody") == []


def test_list_returns_summaries(store, make_record) -> None:
    record = make_record()
    del record["child_ref"]
    created = store.create_record(record)
    (summary,) = store.list_records()
    assert summary == {
        "id": created["id"],
        "session_id": created["session_id"],
        "created_at": "2026-11-25T13:40:00Z",
        "updated_at": "2026-11-25T13:40:00Z",
        "recorded_by": "U1",
        "child_ref": None,
        "decision": "share",
        "status": "submitted",
        "review_status": "pending",
        "delivery": {"state": "pending"},
    }
    summary["delivery"]["state"] = "posted"
    assert store.list_records()[0]["delivery"] == {"state": "pending"}


def test_list_follows_updates_and_deletes(store, make_record) -> None:
    created = [store.create_record(make_record()) for _ in range(3)]
    assert len(store.list_records(delivery_state_not_in=SETTLED)) == 3
    store.update_record(created[0]["id"], lambda d: d.update(delivery={"state": "posted"}))
    assert [s["id"] for s in store.list_records(delivery_state_not_in=SETTLED)] == [
        created[2]["id"],
        created[1]["id"],
    ]
    store.delete_records([created[1]["id"]])
    waiting = store.list_records(delivery_state_not_in=SETTLED)
    assert [s["id"] for s in waiting] == [created[2]["id"]]


def test_iter_records_oldest_first(store, make_record) -> None:
    late = store.create_record(make_record(created_at="2026-06-01T00:00:00Z"))
    early = store.create_record(make_record(created_at="2026-02-01T00:00:00Z"))
    next_year = store.create_record(make_record(created_at="2027-01-01T00:00:00Z"))
    assert [r["id"] for r in store.iter_records()] == [early["id"], late["id"], next_year["id"]]
    assert list(store.iter_records())[0] == early


def test_delete_records(store, make_record) -> None:
    created = [store.create_record(make_record()) for _ in range(4)]
    removed = store.delete_records([created[0]["id"], created[2]["id"], "ISD-2026-0999", "x"])
    assert removed == 2
    assert store.count_records() == 2
    assert store.get_record(created[0]["id"]) is None
    assert store.record_for_session(created[0]["session_id"]) is None
    assert store.delete_records([created[0]["id"]]) == 0


def test_ids_are_not_reused_after_purge(store, backend, make_record) -> None:
    created = [store.create_record(make_record()) for _ in range(3)]
    assert store.delete_records([r["id"] for r in created]) == 3
    assert store.count_records() == 0
    assert store.create_record(make_record())["id"] == "ISD-2026-0004"
    reopened = backend.open()
    assert reopened.create_record(make_record())["id"] == "ISD-2026-0005"
    assert sorted(reopened.issued().items()) == [(2026, 5)]


def test_purged_empty_block_is_removed_unless_it_holds_the_counter(
    tiny, data_dir, make_record
) -> None:
    store = tiny
    created = [store.create_record(make_record()) for _ in range(258)]
    year_dir = data_dir / "records" / "2026"
    store.delete_records([r["id"] for r in created[:256]])
    assert not (year_dir / "block-0000.json").exists()
    store.delete_records([r["id"] for r in created[256:]])
    assert (year_dir / "block-0001.json").exists()
    assert store.create_record(make_record())["id"] == "ISD-2026-0259"


def test_records_survive_reopen(backend, make_record) -> None:
    first = backend.open()
    created = first.create_record(make_record())
    first.close()
    second = backend.open()
    assert second.get_record(created["id"]) == created
    assert second.record_for_session(created["session_id"]) == created


# -- sessions --------------------------------------------------------------


def _session(session_id: str, **fields) -> dict:
    return {"id": session_id, "user": "U1", "status": "open", "updated_at": "2026-01-01", **fields}


def test_session_round_trip(store) -> None:
    assert store.get_session("S1") is None
    session = _session("S1", answers={"q1": "yes"})
    store.save_session(session)
    session["answers"]["q1"] = "changed by caller"
    assert store.get_session("S1") == _session("S1", answers={"q1": "yes"})
    # save replaces, it does not merge
    store.save_session(_session("S1"))
    assert "answers" not in store.get_session("S1")
    store.delete_session("S1")
    assert store.get_session("S1") is None
    store.delete_session("S1")


def test_save_session_needs_an_id(store) -> None:
    with pytest.raises(ValueError):
        store.save_session({"user": "U1"})


def test_update_session(store) -> None:
    store.save_session(_session("S1", count=0))
    updated = store.update_session("S1", lambda s: s.update(count=s["count"] + 1))
    assert updated["count"] == 1
    updated = store.update_session("S1", lambda s: {**s, "count": 5})
    assert store.get_session("S1")["count"] == 5
    updated["count"] = 99
    assert store.get_session("S1")["count"] == 5
    with pytest.raises(NotFound):
        store.update_session("nope", lambda s: None)


def test_update_session_failure_changes_nothing(store) -> None:
    store.save_session(_session("S1", items=[1]))

    def fail(s: dict) -> None:
        s["items"].append(2)
        raise RuntimeError

    with pytest.raises(RuntimeError):
        store.update_session("S1", fail)
    assert store.get_session("S1")["items"] == [1]


def test_sessions_for_user(store) -> None:
    store.save_session(_session("a", updated_at="2026-01-02"))
    store.save_session(_session("b", updated_at="2026-01-03", status="submitted"))
    store.save_session(_session("c", updated_at="2026-01-01"))
    store.save_session(_session("d", user="U2"))
    assert [s["id"] for s in store.sessions_for_user("U1")] == ["b", "a", "c"]
    assert [s["id"] for s in store.sessions_for_user("U1", statuses=("open",))] == ["a", "c"]
    assert store.sessions_for_user("U3") == []


def test_sessions_are_documents_kept_whole(store) -> None:
    """Storage keeps what it is given, nested events included, and replaces
    (never merges) a document on save."""
    store.save_session(_session("none"))
    events = [{"kind": "urgent", "delivered": True}, {"kind": "urgent", "delivered": False}]
    store.save_session(_session("pending", events=events))
    assert {s["id"]: s.get("events") for s in store.all_sessions()} == {
        "none": None, "pending": events}
    store.save_session(_session("pending"))
    assert store.get_session("pending") == _session("pending")


# -- claims and meta -------------------------------------------------------


def test_claim_once(store, backend) -> None:
    assert store.claim("evt-1") is True
    assert store.claim("evt-1") is False
    assert store.claim("evt-2") is True
    assert backend.open().claim("evt-1") is False


def test_old_claims_are_pruned(tiny) -> None:
    import storage.hot as hot

    now = [1_000_000.0]
    store = TinyDBStore(tiny.data_dir, clock=lambda: now[0])
    assert store.claim("old")
    now[0] += hot.CLAIM_TTL + hot.PRUNE_EVERY + 1
    assert store.claim("new")
    assert store.claim("old") is True


def test_update_meta(store) -> None:
    assert store.update_meta("n", lambda v: (v or 0) + 1) == 1
    assert store.update_meta("n", lambda v: v + 1) == 2
    assert store.get_meta("n") == 2


def test_non_json_values_are_refused(store) -> None:
    store.save_session(_session("S1"))
    with pytest.raises(TypeError):
        store.save_session(_session("S2", when=object()))
    with pytest.raises(ValueError):
        store.set_meta("x", float("nan"))
    assert store.get_session("S2") is None
    assert store.get_meta("x") is None


def test_try_update_record(store, make_record) -> None:
    created = store.create_record(make_record())
    updated = store.try_update_record(created["id"], lambda d: d.update(status="x"))
    assert updated is not None and updated["status"] == "x"
    with pytest.raises(NotFound):
        store.try_update_record("ISD-2026-0999", lambda d: None)


def test_meta(store) -> None:
    assert store.get_meta("missing") is None
    assert store.get_meta("missing", 3) == 3
    store.set_meta("outbox", {"attempts": 2, "ids": ("a", "b")})
    assert store.get_meta("outbox") == {"attempts": 2, "ids": ["a", "b"]}
    store.set_meta("flag", None)
    assert store.get_meta("flag", "default") is None


def test_non_json_values_are_refused_before_writing(tiny, data_dir: Path) -> None:
    store = tiny
    store.save_session(_session("S1"))
    before = (data_dir / "hot.json").read_bytes()
    with pytest.raises(TypeError):
        store.save_session(_session("S2", when=object()))
    with pytest.raises(ValueError):
        store.set_meta("x", float("nan"))
    assert (data_dir / "hot.json").read_bytes() == before


def test_settings_stay_out_of_the_file_every_click_rewrites(tiny) -> None:
    """A follow-up schedule grows with the records; hot.json must not."""
    jobs = {str(i): {"action": "x" * 60} for i in range(500)}
    tiny.set_meta("schedule", {"jobs": jobs})
    tiny.save_session({"id": "S1", "user": "U1", "status": "in_progress"})
    assert (tiny.data_dir / "hot.json").stat().st_size < 1000
    assert tiny.get_meta("schedule") == {"jobs": jobs}


def test_settings_an_earlier_version_kept_in_hot_json_move_out(tmp_path: Path) -> None:
    store = TinyDBStore(tmp_path / "data")
    store.save_session({"id": "S1", "user": "U1", "status": "in_progress"})
    store.close()
    hot = tmp_path / "data" / "hot.json"
    doc = json.loads(hot.read_text(encoding="utf-8"))
    doc["meta"] = {"schedule": {"value": {"jobs": {"a": 1}}}}
    hot.write_text(json.dumps(doc), encoding="utf-8")

    again = TinyDBStore(tmp_path / "data")
    assert again.get_meta("schedule") == {"jobs": {"a": 1}}
    assert again.get_session("S1") is not None
    assert "meta" not in json.loads(hot.read_text(encoding="utf-8"))
    again.close()


def test_update_records_is_one_write_for_many(store, make_record) -> None:
    ids = [store.create_record(make_record(session_id=f"s{n}"))["id"] for n in range(3)]
    head = store.ledger_head()[0]

    def seen(doc: dict) -> None:
        doc["audit"] = [*doc.get("audit", []), {"action": "exported"}]

    updated = store.update_records([ids[2], ids[0]], seen)
    assert [r["id"] for r in updated] == [ids[2], ids[0]]
    assert store.ledger_head()[0] == head + 1  # one ledger line for both
    assert store.get_record(ids[0])["audit"][-1]["action"] == "exported"
    assert store.get_record(ids[1]).get("audit", []) == []
    with pytest.raises(NotFound):
        store.update_records([ids[1], "ISD-2026-9999"], seen)
    assert store.get_record(ids[1]).get("audit", []) == []  # nothing written
    assert store.verify_integrity().problems == []


def test_the_ledger_knows_which_escalations_are_waiting(store, backend) -> None:
    assert store.pending_escalations() == set()
    store.note_escalations(raised=["S1:urgent", "S2:urgent"])
    store.note_escalations(done=["S1:urgent"])
    assert store.pending_escalations() == {"S2:urgent"}
    again = backend.open()  # another process reads it from the ledger
    try:
        assert again.pending_escalations() == {"S2:urgent"}
    finally:
        again.close()
    assert store.verify_integrity().problems == []
