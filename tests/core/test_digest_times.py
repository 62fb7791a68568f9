"""The digest's response times: raised to taken on, and to decided."""

from __future__ import annotations

from bot import digest


def test_response_minutes_from_the_audit_trail() -> None:
    record = {"created_at": "2026-12-01T10:00:00+00:00", "audit": [
        {"action": "submitted", "at": "2026-12-01T10:00:00+00:00"},
        {"action": "taken_on", "at": "2026-12-01T10:45:00+00:00"},
        {"action": "decision_made", "at": "2026-12-01T12:30:00+00:00"}]}
    assert digest.response_minutes(record) == (45.0, 150.0)
    assert digest.response_minutes({"created_at": "2026-12-01T10:00:00+00:00"}) == (None, None)
    assert digest._median([10.0, 30.0, 20.0]) == 20 and digest._median([]) is None
