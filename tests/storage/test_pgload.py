"""The benchmark's PostgreSQL loader writes stores the app would have
written: every school's records, ledger and counters verify, each school
holds its share, and the served school is installed for its workspace."""

from __future__ import annotations

from bench import pgload
from bot import record as records
from storage.postgres import Database
from tests.harness.pg import fresh_schema


def test_loaded_schools_verify_each_apart() -> None:
    with fresh_schema() as url:
        loaded = pgload.load(url, total=300, schools=3, school_records=120,
                             say=lambda _text: None)
        pgload.install(url, team_id="T0001", bot_token="xoxb-b", bot_user_id="UBOT",
                       client_id="1.2")
        db = Database(url)
        try:
            assert [s["id"] for s in db.schools()] == ["bench", "school-001", "school-002"]
            counts = {}
            for school in ("bench", "school-001", "school-002"):
                store = db.store(school, create=False)
                store.check_counts()
                report = store.verify_integrity(records.verify)
                assert report.problems == [], (school, report.problems[:3])
                counts[school] = report.checked
            assert counts == {"bench": 120, "school-001": 90, "school-002": 90}
            assert loaded.records == 300 and loaded.database_bytes > 0
            assert db.school_for(team_id="T0001", enterprise_id=None) == "bench"
            # Another school's copies are numbered afresh, year by year, from 1.
            ids = [r["id"] for r in db.store("school-001").iter_records()]
            by_year: dict[str, list[int]] = {}
            for record_id in ids:
                _, year, seq = record_id.split("-")
                by_year.setdefault(year, []).append(int(seq))
            assert all(sorted(s) == list(range(1, len(s) + 1)) for s in by_year.values())
        finally:
            db.close()
