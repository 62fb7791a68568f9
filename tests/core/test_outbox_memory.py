"""The outbox keeps nothing per record once a delivery is over: a school's
years of records must not each leave a lock behind in a long-running app."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.service import DecisionService
from storage import TinyDBStore
from tests import scenarios as sc
from tests.harness.stub import StubFront


def test_delivered_records_leave_no_lock_behind(tmp_path: Path) -> None:
    settings = Settings(school_name="Hillside Primary", dsl_channel="CDSL",
                        dsl_user_ids=("UDSL1",))
    store = TinyDBStore(tmp_path / "data")
    try:
        jigsaw = DecisionService(settings, store, clock=lambda: datetime.now(UTC))
        front = StubFront(jigsaw)
        for n in range(3):
            staff = f"staff-{n}"
            front.message(staff, "hello")
            for value in sc.STAFF_CONCERN:
                front.answer_with(staff, value)
        records = store.list_records()
        assert len(records) == 3
        assert all(r["delivery"]["state"] == "posted" for r in records)
        gc.collect()
        assert dict(front.delivery._locks) == {}
    finally:
        store.close()
