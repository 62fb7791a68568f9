"""Reading one session from the hot store copies that session, not every
session in ``hot.json``: a long-running app reads sessions on every click,
and the file holds every session still kept."""

from __future__ import annotations

import tracemalloc
from typing import Any

from storage import TinyDBStore

KEPT = 300
ANSWER = "x" * 2000  # about what a typed account of a worry takes


def _session(n: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"S{n}", "user": f"U{n % 3}", "status": "submitted",
            "updated_at": f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z",
            "answers": {"facts": ANSWER, "n": n}, **fields}


def _peak_of(read: Any) -> tuple[Any, int]:
    """What ``read()`` returns, and the most memory it had allocated at once."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        value = read()
        return value, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_session_read_copies_only_that_session(tiny: TinyDBStore) -> None:
    for n in range(KEPT):
        tiny.save_session(_session(n))
    tiny.get_session("S0")  # the file as written, parsed once

    one, peak = _peak_of(lambda: tiny.get_session("S7"))

    assert one == _session(7)
    # Every session kept would be ~KEPT x 2 kB: a read costs one session's worth.
    assert peak < 20 * len(ANSWER), peak
    one["answers"]["facts"] = "changed by the caller"
    assert tiny.get_session("S7") == _session(7)
    assert tiny.get_session("S-missing") is None


def test_a_person_s_sessions_are_read_without_copying_everyone_s(tiny: TinyDBStore) -> None:
    for n in range(KEPT):
        tiny.save_session(_session(n, status="open" if n % 2 else "submitted"))
    tiny.get_session("S0")

    mine, peak = _peak_of(lambda: tiny.sessions_for_user("U1", statuses=("open",)))

    # U1 has every third session; half of those are open: 50 of the 300.
    expected = sorted((_session(n, status="open") for n in range(KEPT) if n % 3 == 1 and n % 2),
                      key=lambda d: d["updated_at"], reverse=True)
    assert mine == expected
    assert peak < (len(expected) + 20) * 2 * len(ANSWER), peak
    assert [d["id"] for d in tiny.sessions_for_user("U2")] == [
        f"S{n}" for n in reversed(range(KEPT)) if n % 3 == 2]
    mine[0]["answers"]["n"] = -1
    assert tiny.sessions_for_user("U1", statuses=("open",)) == expected


def test_a_session_written_by_another_process_is_read(tiny: TinyDBStore, data_dir: Any) -> None:
    tiny.save_session(_session(1))
    assert tiny.get_session("S1") == _session(1)
    other = TinyDBStore(data_dir)
    try:
        other.save_session(_session(1, status="cancelled"))
        other.save_session(_session(4))
    finally:
        other.close()
    assert tiny.get_session("S1") == _session(1, status="cancelled")
    assert [d["id"] for d in tiny.sessions_for_user("U1")] == ["S4", "S1"]
