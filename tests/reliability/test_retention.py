"""Retention: records past the school's retention period are listed, and
deleted only when asked; a purge is recorded so ``verify`` can tell it from
a record going missing.
"""

from __future__ import annotations

import getpass
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.admin import operator, retention
from bot.config import Environment, load_settings
from bot.service import DecisionService
from storage import TinyDBStore
from tests import scenarios as sc
from tests.harness.live import decide_in_process, fingerprint, subprocess_env

YEARS = 2
TOML = f"""
[school]
name = "Hillside Primary"

[records]
retention_years = {YEARS}
"""


def bot(data: Path, config: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    extra = {"JIGSAW_CONFIG": str(config)} if config else {}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=subprocess_env(data, **extra), cwd=data.parent, timeout=60)


@pytest.fixture
def school(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A store with records made at different times, and the school's
    settings file. Returns (data dir, settings file, {label: record id})."""
    config = tmp_path / "etc" / "jigsaw.toml"  # not in the working directory
    config.parent.mkdir()
    config.write_text(TOML, encoding="utf-8")
    settings = load_settings(config)
    assert settings.retention_years == YEARS
    now = datetime.now(UTC).replace(microsecond=0)
    cutoff = now - timedelta(days=365 * YEARS)
    midnight = cutoff.replace(hour=0, minute=0, second=0)
    when = {
        "ancient": now - timedelta(days=365 * 10),
        "year_start": datetime(cutoff.year, 1, 1, 0, 0, 1, tzinfo=UTC),
        "just_expired": midnight - timedelta(hours=1),
        "just_kept": cutoff + timedelta(hours=1),
        "recent": now - timedelta(days=30),
    }
    data = tmp_path / "data"
    store = TinyDBStore(data)
    ids: dict[str, str] = {}
    for label, moment in when.items():  # oldest first, as they would have been made
        app = DecisionService(settings, store, clock=lambda moment=moment: moment)
        ids[label] = decide_in_process(app, sc.EARLY_HELP_CONSENT)["id"]
        app.reviews.review(ids[label], "acknowledge", by="UDSL1", allowed=True)
    assert ids["year_start"][:8] == ids["just_kept"][:8], "the cutoff splits one year's ids"
    store.close()
    return data, config, ids


EXPIRED = ("ancient", "year_start", "just_expired")


def cutoff_date() -> str:
    """The retention cut-off as a date, as an admin would type it."""
    return (datetime.now(UTC) - timedelta(days=365 * YEARS)).date().isoformat()
KEPT = ("just_kept", "recent")


def test_dry_run_lists_expired_records_and_changes_nothing(
        school: tuple[Path, Path, dict[str, str]]) -> None:
    data, config, ids = school
    before = fingerprint(data)
    run = bot(data, config, "retention")
    assert run.returncode == 0, run.stderr
    listed = [line.split()[0] for line in run.stdout.splitlines() if line.startswith("ISD-")]
    assert sorted(listed) == sorted(ids[k] for k in EXPIRED)
    assert f"3 record(s) past {YEARS} years. Dry run: nothing deleted" in run.stdout
    assert "EF" not in run.stdout and "hungry" not in run.stdout  # ids and dates only
    assert fingerprint(data) == before
    # The school's setting is what decides: with the default 25 years, nothing is due.
    default = bot(data, None, "retention")
    assert default.returncode == 0 and "0 record(s) past 25 years" in default.stdout
    assert fingerprint(data) == before


def test_purge_deletes_records_logs_it_and_verify_still_passes(
        school: tuple[Path, Path, dict[str, str]]) -> None:
    data, config, ids = school
    run = bot(data, config, "retention", "--purge", "--before", cutoff_date())
    assert run.returncode == 0, run.stderr
    assert "Purged 3 record(s)." in run.stdout
    store = TinyDBStore(data)
    assert sorted(r["id"] for r in store.list_records()) == sorted(ids[k] for k in KEPT)
    for label in KEPT:
        record = store.get_record(ids[label])
        assert record is not None and record["review_status"] == "acknowledged"
    [entry] = store.purges()
    assert entry["by"] == operator(Environment.read()) and f"({getpass.getuser()})" in entry["by"]
    assert entry["count"] == 3 and entry["retention_years"] == YEARS
    assert entry["before"] == cutoff_date()
    logged = {f"ISD-{year}-{n:04d}" for year, first, last in entry["ids"]
              for n in range(int(first), int(last) + 1)}
    assert logged == {ids[k] for k in EXPIRED}
    assert "EF" not in json.dumps(entry)  # the log holds ids, not children
    store.close()
    checked = bot(data, config, "verify")
    assert checked.returncode == 0, checked.stdout
    assert "2 records checked, 0 problem(s)" in checked.stdout
    # Nothing more is due: a second run deletes nothing and logs nothing.
    again = bot(data, config, "retention", "--purge", "--before", cutoff_date())
    assert again.returncode == 0 and "Purged 0 record(s)." in again.stdout
    store = TinyDBStore(data)
    assert len(store.purges()) == 1
    # Ids are never reused: a new record in a purged year takes the next number.
    year = int(ids["just_expired"][4:8])
    app = DecisionService(load_settings(config), store,
                 clock=lambda: datetime(year, 12, 31, 23, 0, tzinfo=UTC))
    fresh = decide_in_process(app, sc.ALLEGATION)["id"]
    assert fresh not in ids.values()
    store.close()
    assert bot(data, config, "verify").returncode == 0


def test_a_record_lost_after_a_purge_is_still_reported(
        school: tuple[Path, Path, dict[str, str]]) -> None:
    data, config, ids = school
    assert bot(data, config, "retention", "--purge", "--before", cutoff_date()).returncode == 0
    lost = ids["just_kept"]
    path = data / "records" / lost[4:8] / "block-0000.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    del doc["records"][lost]
    path.write_text(json.dumps(doc), encoding="utf-8")
    checked = bot(data, config, "verify")
    assert checked.returncode == 1
    assert f"{lost}: missing, and no purge recorded" in checked.stdout
    purged = {ids[k] for k in EXPIRED}
    assert not any(line.startswith(tuple(purged)) for line in checked.stdout.splitlines())


@pytest.mark.parametrize(("value", "says"), [("0", "retention_years"), ('"ten"', "retention_years"),
                                             ("-5", "retention_years"), ("2.5", "retention_years")])
def test_a_bad_retention_setting_stops_before_anything_is_deleted(
        school: tuple[Path, Path, dict[str, str]], value: str, says: str) -> None:
    data, config, _ = school
    config.write_text(TOML.replace(f"retention_years = {YEARS}", f"retention_years = {value}"),
                      encoding="utf-8")
    before = fingerprint(data)
    run = bot(data, config, "retention", "--purge", "--before", cutoff_date())
    assert run.returncode == 2 and says in run.stderr
    assert fingerprint(data) == before


# -- a purge needs an explicit cut-off, and a clock that agrees with the data ------

def test_a_purge_without_a_cut_off_date_is_refused(
        school: tuple[Path, Path, dict[str, str]]) -> None:
    data, config, _ = school
    before = fingerprint(data)
    run = bot(data, config, "retention", "--purge")
    assert run.returncode == 2 and "--before YYYY-MM-DD" in run.stderr
    assert fingerprint(data) == before


@pytest.mark.parametrize("days_short", [1, 200])
def test_a_cut_off_inside_the_retention_period_is_refused(
        school: tuple[Path, Path, dict[str, str]], days_short: int) -> None:
    data, config, _ = school
    before = fingerprint(data)
    too_late = (datetime.now(UTC) - timedelta(days=365 * YEARS - days_short)).date()
    run = bot(data, config, "retention", "--purge", "--before", too_late.isoformat())
    assert run.returncode == 2, run.stdout
    assert f"younger than {YEARS} years by the records' own dates" in run.stderr
    assert fingerprint(data) == before


@pytest.mark.parametrize(("skew", "says"), [(timedelta(days=365 * 26), "far ahead"),
                                            (timedelta(days=-365 * 3), "behind")])
def test_a_clock_that_disagrees_with_the_data_stops_a_purge(
        school: tuple[Path, Path, dict[str, str]], skew: timedelta, says: str) -> None:
    """26 years fast, the old command purged every record; now the clock is
    checked against the newest record and ledger line first."""
    data, config, ids = school
    before = fingerprint(data)
    wrong_now = datetime.now(UTC) + skew
    cut_off = (wrong_now - timedelta(days=365 * YEARS)).date().isoformat()
    store = TinyDBStore(data)
    out, err = io.StringIO(), io.StringIO()
    code = retention(store, load_settings(config), wrong_now, out, purge=True,
                     by=operator(Environment.read()), before=cut_off, err=err)
    assert code == 2 and says in err.getvalue() and "fix the clock" in err.getvalue()
    assert store.count_records() == len(ids)
    store.close()
    assert fingerprint(data) == before
    assert bot(data, config, "verify").returncode == 0
