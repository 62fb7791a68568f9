"""Missing or emptied files are corruption: the app refuses to start, says
what to restore, and never gives a record id out twice.

Each case damages a real data directory and starts the app as a school
would (``python -m bot console`` and ``python -m bot http``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import DecisionService
from storage import TinyDBStore, generate_audit_key
from tests import scenarios as sc
from tests.harness.live import decide_in_process, subprocess_env

KEY = generate_audit_key()
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
BLOCK = Path("records") / "2026" / "block-0000.json"


def start(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(data, JIGSAW_AUDIT_KEY=KEY, SLACK_BOT_TOKEN="xoxb-x",
                         SLACK_SIGNING_SECRET="s", SLACK_API_URL="http://127.0.0.1:9/api/")
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          input="", env=env, cwd=data.parent, timeout=60)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three records, and an urgent alert Slack has not had yet."""
    data = tmp_path_factory.mktemp("made") / "data"
    store = TinyDBStore(data, audit_key=KEY.encode())
    app = DecisionService(Settings(dsl_channel="CDSL"), store, clock=lambda: NOW)
    for script in (sc.ALLEGATION, sc.NO_PURPOSE, sc.EARLY_HELP_CONSENT):
        decide_in_process(app, script)
    held = app.start("U777", "slack")
    assert app.answer(held.id, "yes").result.accepted  # danger now: an alert is raised
    assert app.deliveries.sessions_with_pending_events()
    store.close()
    return data


@pytest.fixture
def data(made: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(made, copy)
    return copy


def empty(path: Path) -> None:
    path.write_bytes(b"")


def drop_newest(data: Path) -> None:
    path = data / BLOCK
    block = json.loads(path.read_text(encoding="utf-8"))
    del block["records"]["ISD-2026-0003"]
    path.write_text(json.dumps(block), encoding="utf-8")


DAMAGE: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "block_emptied": (lambda d: empty(d / BLOCK),
                      ["records/2026/block-0000.json (3 record(s)", "Restore them from backup"]),
    "block_deleted": (lambda d: (d / BLOCK).unlink(),
                      ["records/2026/block-0000.json", "missing or empty"]),
    "year_emptied": (lambda d: [p.unlink() for p in (d / BLOCK).parent.iterdir()],
                     ["records/2026/block-0000.json", "Restore them from backup"]),
    "year_deleted": (lambda d: shutil.rmtree(d / BLOCK.parent), ["records/2026/block-0000.json"]),
    "hot_emptied": (lambda d: empty(d / "hot.json"),
                    ["hot.json is empty", "urgent alerts not yet delivered",
                     "restore it from the latest backup"]),
    "hot_deleted": (lambda d: (d / "hot.json").unlink(), ["hot.json is missing"]),
    "ledger_emptied": (lambda d: empty(d / "ledger.jsonl"),
                       ["ledger.jsonl is empty", "restore it"]),
    "ledger_deleted": (lambda d: (d / "ledger.jsonl").unlink(),
                       ["ledger.jsonl is missing", "restore the ledger from backup"]),
    "newest_record_cut": (drop_newest, ["block-0000.json holds 2 record(s), the ledger says 3"]),
}


@pytest.mark.parametrize("mode", [("console",), ("http", "--port", "0")])
@pytest.mark.parametrize("case", list(DAMAGE))
def test_the_app_refuses_to_start_on_damaged_files(data: Path, case: str,
                                                   mode: tuple[str, ...]) -> None:
    damage, says = DAMAGE[case]
    damage(data)
    run = start(data, *mode)
    assert run.returncode == 2, (case, run.stdout, run.stderr)
    for phrase in says:
        assert phrase in run.stderr, (case, run.stderr)
    assert "Traceback" not in run.stderr and run.stdout == ""
    # verify lists what is wrong instead of refusing
    if case not in ("ledger_emptied", "ledger_deleted"):
        checked = start(data, "verify")
        assert checked.returncode == 1, checked.stdout + checked.stderr


def test_the_undamaged_store_starts(data: Path) -> None:
    run = start(data, "console")
    assert run.returncode == 0, run.stderr


def test_record_ids_are_never_given_out_again(data: Path) -> None:
    """The newest record deleted from its block: the next record still gets
    a new number, because the ledger says what was issued."""
    drop_newest(data)
    store = TinyDBStore(data, audit_key=KEY.encode())
    app = DecisionService(Settings(dsl_channel="CDSL"), store, clock=lambda: NOW)
    fresh = decide_in_process(app, sc.ALLEGATION, user="U888")
    assert fresh["id"] == "ISD-2026-0004"
    assert store.issued() == {2026: 4}
    store.close()
    checked = start(data, "verify")
    assert checked.returncode == 1
    assert "ISD-2026-0003: missing, and no purge recorded" in checked.stdout


def test_a_held_urgent_alert_is_never_dropped_silently(data: Path) -> None:
    """hot.json rolled back to a copy from before the alert: the alert is
    gone from the file, and the app must not start as if nothing happened."""
    (data / "hot.json").write_text(json.dumps({"sessions": {}, "claims": {}, "meta": {}}),
                                   encoding="utf-8")
    run = start(data, "console")
    assert run.returncode == 2, run.stderr
    assert "urgent alert" in run.stderr
