"""Random operation sequences checked against a plain-dict model."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import SUMMARY_FIELDS, NotFound, Store, TinyDBStore
from tests.harness.pg import fresh_schema

creates = st.tuples(
    st.just("create"),
    st.integers(0, 6),  # session number (repeats exercise idempotency)
    st.sampled_from([2025, 2026]),
    st.integers(1, 3),  # month: ties and out-of-order created_at
    st.sampled_from(["pending", "done"]),
    st.sampled_from(["U1", "U2"]),
    st.booleans(),  # posted
)
updates = st.tuples(
    st.just("update"), st.integers(0, 20), st.sampled_from(["pending", "done", "x"])
)
deletes = st.tuples(st.just("delete"), st.lists(st.integers(0, 20), max_size=3))
saves = st.tuples(
    st.just("save_session"),
    st.integers(0, 3),
    st.sampled_from(["U1", "U2"]),
    st.sampled_from(["open", "submitted"]),
)
drops = st.tuples(st.just("delete_session"), st.integers(0, 3))
claims = st.tuples(st.just("claim"), st.integers(0, 3))
reopens = st.tuples(st.just("reopen"))
operations = st.lists(
    st.one_of(creates, updates, deletes, saves, drops, claims, reopens), max_size=30
)


def _sort_key(record: dict[str, Any]) -> tuple[str, int, int]:
    _, year, seq = record["id"].split("-")
    return (record["created_at"], int(year), int(seq))


def _summaries(records: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    newest = sorted(records.values(), key=_sort_key, reverse=True)
    return [{f: r.get(f) for f in SUMMARY_FIELDS} for r in newest]


Opener = Callable[[], Callable[[], Store]]


@pytest.fixture(scope="module", params=["tinydb", "postgres"])
def opener(request: pytest.FixtureRequest) -> Iterator[Opener]:
    """Per example: a function opening (and re-opening) one fresh store. On
    PostgreSQL each example is a new school in one schema."""
    if request.param == "tinydb":
        @contextmanager
        def tiny() -> Iterator[Callable[[], Store]]:
            with tempfile.TemporaryDirectory() as tmp:
                yield lambda: TinyDBStore(Path(tmp) / "data")

        yield tiny  # type: ignore[misc]
        return
    from storage.postgres import Database

    with fresh_schema() as url:
        db = Database(url)

        @contextmanager
        def school() -> Iterator[Callable[[], Store]]:
            name = f"model-{secrets.token_hex(4)}"
            yield lambda: db.store(name)

        yield school  # type: ignore[misc]
        db.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
def test_store_matches_model(opener: Any, ops: list[tuple]) -> None:
    with opener() as open_store:
        store = open_store()
        records: dict[str, dict[str, Any]] = {}
        by_session: dict[str, str] = {}
        counters: dict[int, int] = {}
        sessions: dict[str, dict[str, Any]] = {}
        claimed: set[str] = set()

        def pick(n: int) -> str:
            ordered = sorted(records) or ["ISD-2026-0999"]
            return ordered[n % len(ordered)]

        for clock, op in enumerate(ops):
            kind = op[0]
            if kind == "create":
                _, n, year, month, review, user, posted = op
                session_id = f"S{n}"
                record = {
                    "session_id": session_id,
                    "created_at": f"{year}-{month:02d}-01T00:00:00Z",
                    "recorded_by": user,
                    "review_status": review,
                    "delivery": {"state": "posted" if posted else "pending"},
                }
                got = store.create_record(record)
                if session_id in by_session:
                    assert got == records[by_session[session_id]]
                else:
                    counters[year] = counters.get(year, 0) + 1
                    assert got["id"] == f"ISD-{year}-{counters[year]:04d}"
                    assert got == {**record, "id": got["id"]}
                    records[got["id"]] = got
                    by_session[session_id] = got["id"]
            elif kind == "update":
                _, n, review = op
                record_id = pick(n)
                if record_id in records:
                    got = store.update_record(
                        record_id, lambda d, r=review: d.update(review_status=r)
                    )
                    records[record_id] = {**records[record_id], "review_status": review}
                    assert got == records[record_id]
                else:
                    try:
                        store.update_record(record_id, lambda d: None)
                    except NotFound:
                        pass
                    else:
                        raise AssertionError("update of a missing record succeeded")
            elif kind == "delete":
                doomed = {pick(n) for n in op[1]}
                expected = len(doomed & records.keys())
                assert store.delete_records(sorted(doomed)) == expected
                for record_id in doomed & records.keys():
                    del by_session[records.pop(record_id)["session_id"]]
            elif kind == "save_session":
                _, n, user, status = op
                session = {
                    "id": f"s{n}",
                    "user": user,
                    "status": status,
                    "updated_at": f"t{clock:04d}",
                }
                store.save_session(session)
                sessions[session["id"]] = session
            elif kind == "delete_session":
                store.delete_session(f"s{op[1]}")
                sessions.pop(f"s{op[1]}", None)
            elif kind == "claim":
                key = f"k{op[1]}"
                assert store.claim(key) is (key not in claimed)
                claimed.add(key)
            else:
                store.close()
                store = open_store()

            assert store.list_records() == _summaries(records)
            assert store.count_records() == len(records)

        summaries = _summaries(records)
        for review in ("pending", "done", "x"):
            assert (
                store.list_records(review_status=review, limit=3)
                == [s for s in summaries if s["review_status"] == review][:3]
            )
        for user in ("U1", "U2"):
            assert store.list_records(recorded_by=user) == [
                s for s in summaries if s["recorded_by"] == user
            ]
            mine = sorted(
                (s for s in sessions.values() if s["user"] == user),
                key=lambda s: s["updated_at"],
                reverse=True,
            )
            assert store.sessions_for_user(user) == mine
        assert store.list_records(delivery_state_not_in=("posted", "held")) == [
            s for s in summaries if s["delivery"]["state"] != "posted"
        ]
        assert list(store.iter_records()) == sorted(records.values(), key=_sort_key)
        for session_id, record_id in by_session.items():
            assert store.record_for_session(session_id) == records[record_id]
        store.close()
