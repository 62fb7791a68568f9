"""The data on disk: private, optionally encrypted, and tamper-evident.

Everything here goes through ``python -m bot`` as an admin would run it,
so the checks cover the real start-up path (settings, key, store).
"""

from __future__ import annotations

import getpass
import itertools
import json
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.service import AccessDenied, DecisionService
from storage import TinyDBStore
from tests import scenarios as sc
from tests.harness.live import decide_in_process, fingerprint, subprocess_env

# What the POLICE_PREJUDICE script puts in the record: none of it may be
# readable in an encrypted store.
CHILD_DATA = ["AB-1234", "Bruise on left cheek", "dad hit him", "DC Patel",
              "Child Abuse Investigation Team", "telling the father could put the child"]
PARTIAL = ["no", "own_concern", "ZQ-9876",
           "Child says uncle visits at night and she hides"]


def bot(data: Path, *args: str, stdin: str = "", umask: int = -1,
        **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` with a clean environment and the given extras."""
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin,
                          capture_output=True, text=True, env=subprocess_env(data, **env),
                          cwd=next(p for p in data.parents if p.exists()), timeout=60,
                          umask=umask)


def script(answers: list[str]) -> str:
    return "\n".join(answers) + "\n"


def keygen(data: Path) -> str:
    made = bot(data, "keygen")
    assert made.returncode == 0
    key = made.stdout.strip()
    assert len(key) == 44
    return key


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Content and modification time of every file: equal means untouched."""
    hashes = fingerprint(root)
    return {name: (digest, (root / name).stat().st_mtime_ns) for name, digest in hashes.items()}


# -- permissions --------------------------------------------------------------------

def test_files_are_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    data = tmp_path / "school" / "jigsaw" / "data"
    run = bot(data, "console", stdin=script(sc.POLICE_PREJUDICE), umask=0o022)
    assert run.returncode == 0, run.stderr
    paused = bot(data, "console", "--new", stdin=script(PARTIAL), umask=0o022)
    assert paused.returncode == 0, paused.stderr
    export = ("export", "--reason", "umask check", "--out", str(tmp_path / "copy.json"))
    for args in (("verify",), ("retention",), export):
        assert bot(data, *args, umask=0o022).returncode == 0
    assert stat.S_IMODE((tmp_path / "copy.json").stat().st_mode) == 0o600
    dirs = [data, data.parent, data.parent.parent, *(p for p in data.rglob("*") if p.is_dir())]
    files = [p for p in data.rglob("*") if p.is_file()]
    assert len(dirs) >= 5 and len(files) >= 4
    for d in dirs:
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    store = TinyDBStore(data)
    assert store.count_records() == 1 and store.get_meta("purge_log") is None
    store.close()


# -- encryption -----------------------------------------------------------------------

@pytest.fixture
def encrypted(tmp_path: Path) -> tuple[Path, str]:
    """A store written with a key: one record and one paused decision."""
    data = tmp_path / "data"
    key = keygen(data)
    done = bot(data, "console", stdin=script(sc.POLICE_PREJUDICE), JIGSAW_DATA_KEY=key)
    assert done.returncode == 0, done.stderr
    paused = bot(data, "console", "--new", stdin=script(PARTIAL), JIGSAW_DATA_KEY=key)
    assert paused.returncode == 0, paused.stderr
    return data, key


def test_encrypted_store_shows_no_child_data_in_any_file(encrypted: tuple[Path, str]) -> None:
    data, key = encrypted
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"hot.json", "block-0000.json"}
    secrets = [*CHILD_DATA, *PARTIAL[3:], "child_ref", "facts", "rationale", "recorded_by"]
    for path in files:
        raw = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in raw, (path.name, secret)
        if path.name in ("generation", "app.lock"):  # a write counter, a pid: digits only
            assert raw.isdigit(), raw
        elif path.name == "ledger.jsonl":  # ids, digests and times, sealed not encrypted
            assert all(json.loads(line)["mac"] for line in raw.splitlines())
        elif path.name == "ledger.checkpoint":  # the ledger's replayed state: a MAC, then ids
            mac, _, payload = raw.partition(b"\n")
            assert len(mac) == 64 and set(mac) <= set(b"0123456789abcdef"), mac
            assert json.loads(payload)["v"] == 1
        elif raw:
            assert raw.startswith(b"gAAAAA"), path.name  # a Fernet token, all of it
    # ...and yet it is all there for someone holding the key.
    copy = data.parent / "export.json"
    exported = bot(data, "export", "--reason", "SAR 12", "--out", str(copy),
                   JIGSAW_DATA_KEY=key)
    assert exported.returncode == 0, exported.stderr
    [record] = json.loads(copy.read_text(encoding="utf-8"))
    assert record["child_ref"] == "AB-1234" and "Bruise on left cheek" in record["facts"]
    checked = bot(data, "verify", JIGSAW_DATA_KEY=key)
    assert checked.returncode == 0 and "1 records checked, 0 problem(s)" in checked.stdout
    store = TinyDBStore(data, key=key)
    [paused] = store.sessions_for_user(f"console:{getpass.getuser()}", statuses=("paused",))
    assert paused["answers"]["child_ref"] == "ZQ-9876"
    store.close()


KEY_PROBLEMS: dict[str, tuple[Callable[[str], dict[str, str]], list[str]]] = {
    "wrong_key": (lambda other: {"JIGSAW_DATA_KEY": other}, ["wrong JIGSAW_DATA_KEY"]),
    "no_key": (lambda other: {}, ["encrypted", "set JIGSAW_DATA_KEY"]),
    "malformed_key": (lambda other: {"JIGSAW_DATA_KEY": "not-a-key"},
                      ["JIGSAW_DATA_KEY is not a valid key"]),
    "truncated_key": (lambda other: {"JIGSAW_DATA_KEY": other[:-4]},
                      ["JIGSAW_DATA_KEY is not a valid key"]),
}
COMMANDS: list[tuple[str, ...]] = [(), ("console",), ("console", "--new"), ("verify",),
                                   ("retention",), ("retention", "--purge"),
                                   ("export", "--reason", "r", "--out", "/dev/null"),
                                   ("http", "--port", "0"), ("socket",)]


@pytest.mark.parametrize("problem", sorted(KEY_PROBLEMS))
def test_a_key_problem_is_a_clear_error_and_writes_nothing(encrypted: tuple[Path, str],
                                                           problem: str) -> None:
    data, key = encrypted
    other = keygen(data)
    assert other != key
    env, phrases = KEY_PROBLEMS[problem]
    before = snapshot(data)
    for args in COMMANDS if problem == "wrong_key" else [("console",), ("verify",)]:
        run = bot(data, *args, stdin=script(["no", "own_concern"]), **env(other),
                  SLACK_BOT_TOKEN="xoxb-x", SLACK_APP_TOKEN="xapp-x",
                  SLACK_SIGNING_SECRET="s", SLACK_API_URL="http://127.0.0.1:9/api/")
        assert run.returncode == 2, (args, run.returncode, run.stderr)
        for phrase in phrases:
            assert phrase in run.stderr, (args, run.stderr)
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
        assert run.stdout == "", args
    assert snapshot(data) == before, "a refused start changed the data files"
    assert bot(data, "verify", JIGSAW_DATA_KEY=key).returncode == 0


def test_a_key_on_a_plaintext_store_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert bot(data, "console", stdin=script(sc.ALLEGATION)).returncode == 0
    before = snapshot(data)
    run = bot(data, "verify", JIGSAW_DATA_KEY=keygen(data))
    assert run.returncode == 2 and "not encrypted but JIGSAW_DATA_KEY is set" in run.stderr
    assert snapshot(data) == before


# -- tamper evidence ------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
YEAR = NOW.year


def rid(n: int) -> str:
    return f"ISD-{YEAR}-{n:04d}"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six records, some with a review history, written through the service."""
    data = tmp_path_factory.mktemp("pristine") / "data"
    store = TinyDBStore(data)
    ticks = itertools.count()  # a second passes between any two steps, as in real use
    app = DecisionService(Settings(dsl_channel="CDSL"), store,
                 clock=lambda: NOW + timedelta(seconds=next(ticks)))
    for script_ in (sc.POLICE_PREJUDICE, sc.NO_PURPOSE, sc.ALLEGATION, sc.EARLY_HELP_CONSENT,
                    sc.IMMEDIATE_DANGER, sc.NOT_SURE):
        decide_in_process(app, script_)
    app.reviews.review(rid(1), "acknowledge", by="UDSL1", allowed=True)
    app.reviews.review(rid(1), "note", by="UDSL1", allowed=True, note="Police called back")
    app.reviews.review(rid(1), "viewed", by="UDSL2", allowed=True)
    app.reviews.review(rid(1), "close", by="UDSL1", allowed=True)
    app.reviews.review(rid(2), "follow_up", by="UDSL2", allowed=True, note="Check with DPO",
               due="2026-12-01")
    app.reviews.review(rid(3), "confirm_basis", by="UDSL1", allowed=True, article6="6(1)(e)",
               article9="9(2)(g)")
    app.reviews.review(rid(4), "viewed", by="UDSL2", allowed=True)
    with pytest.raises(AccessDenied):
        app.reviews.review(rid(5), "viewed", by="U999", allowed=False)
    store.close()
    return data


@pytest.fixture
def data(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(pristine, copy)
    return copy


def block(data: Path) -> Path:
    return data / "records" / str(YEAR) / "block-0000.json"


def tamper(data: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the archive file directly, as someone with the disk would."""
    path = block(data)
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc["records"])
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def test_verify_passes_on_an_intact_store(data: Path) -> None:
    run = bot(data, "verify")
    assert run.returncode == 0, run.stdout
    assert run.stdout.strip().endswith("6 records checked, 0 problem(s)")


def _set(path: list[str | int], new: Any) -> Callable[[dict[str, Any]], None]:
    def change(records: dict[str, Any]) -> None:
        target: Any = records
        for key in path[:-1]:
            target = target[key]
        assert target.get(path[-1]) != new
        target[path[-1]] = new
    return change


def _drop_audit(record: str, index: int) -> Callable[[dict[str, Any]], None]:
    def change(records: dict[str, Any]) -> None:
        del records[record]["audit"][index]
    return change


def _swap_audit(record: str) -> Callable[[dict[str, Any]], None]:
    def change(records: dict[str, Any]) -> None:
        audit = records[record]["audit"]
        audit[1], audit[2] = audit[2], audit[1]
    return change


def _delete(record: str) -> Callable[[dict[str, Any]], None]:
    def change(records: dict[str, Any]) -> None:
        del records[record]
    return change


def _forge_entry(record: str) -> Callable[[dict[str, Any]], None]:
    """Rewrite who acknowledged, fixing up that entry's own hash: the next
    entry still points at the original."""
    def change(records: dict[str, Any]) -> None:
        from bot.record import _sha

        entry = records[record]["audit"][1]
        entry["by"] = "UEVIL"
        entry["hash"] = _sha({k: v for k, v in entry.items() if k != "hash"})
    return change


TAMPERING: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    # name: (edit, record named in the report, what the report says)
    "audit_by_edited": (_set([rid(1), "audit", 1, "by"], "UEVIL"), rid(1), "was altered"),
    "audit_time_edited": (_set([rid(1), "audit", 0, "at"], "2026-01-01T00:00:00Z"), rid(1),
                          "was altered"),
    "audit_detail_edited": (_set([rid(2), "audit", 1, "detail", "note"], "nothing to do"),
                            rid(2), "was altered"),
    "audit_entry_rehashed": (_forge_entry(rid(1)), rid(1), "does not follow"),
    "audit_first_deleted": (_drop_audit(rid(1), 0), rid(1), "audit entry"),
    "audit_middle_deleted": (_drop_audit(rid(1), 2), rid(1), "audit entry"),
    "audit_last_deleted": (_drop_audit(rid(2), -1), rid(2), "content changed"),
    "audit_reordered": (_swap_audit(rid(1)), rid(1), "audit entry"),
    "audit_emptied": (_set([rid(4), "audit"], []), rid(4), "no audit trail"),
    "facts_edited": (_set([rid(1), "facts"], "Nothing seen."), rid(1), "content changed"),
    "decision_edited": (_set([rid(2), "decision"], "share"), rid(2), "content changed"),
    "child_ref_edited": (_set([rid(4), "child_ref"], "XY"), rid(4), "content changed"),
    "nested_field_edited": (_set([rid(4), "family", "consent"], "refused"), rid(4),
                            "content changed"),
    "review_edited": (_set([rid(1), "review", "by"], "UEVIL"), rid(1), "content changed"),
    "basis_edited": (_set([rid(3), "lawful_basis", "confirmed", "article6"], "6(1)(a)"),
                     rid(3), "content changed"),
    "recorder_edited": (_set([rid(5), "recorded_by"], "U000"), rid(5), "content changed"),
    "field_added": (_set([rid(5), "extra"], "smuggled"), rid(5), "content changed"),
    "viewed_entry_deleted": (_drop_audit(rid(4), -1), rid(4), "after entry 1 are missing"),
    "refusal_deleted": (_drop_audit(rid(5), -1), rid(5), "after entry 1 are missing"),
    "record_deleted": (_delete(rid(3)), rid(3), "missing, and no purge recorded"),
    "newest_record_deleted": (_delete(rid(6)), rid(6), "missing, and no purge recorded"),
    "two_records_deleted": (lambda r: (_delete(rid(2))(r), _delete(rid(4))(r)), rid(4),
                            "missing, and no purge recorded"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_verify_finds_tampering(data: Path, case: str) -> None:
    change, record_id, says = TAMPERING[case]
    tamper(data, change)
    run = bot(data, "verify")
    assert run.returncode == 1, (case, run.stdout)
    problems = [line for line in run.stdout.splitlines() if line.startswith(record_id)]
    assert problems, (case, run.stdout)
    assert any(says in line for line in problems), (case, run.stdout)
    # Only the record touched is reported.
    reported = {line.split(":")[0] for line in run.stdout.splitlines() if line.startswith("ISD")}
    assert reported <= {record_id, rid(2)}, run.stdout
    assert "Bruise" not in run.stdout and "AB-1234" not in run.stdout  # ids, not content


def test_verify_reports_every_damaged_record(data: Path) -> None:
    tamper(data, lambda r: (_set([rid(1), "facts"], "x")(r), _drop_audit(rid(6), 0)(r),
                            _delete(rid(4))(r)))
    run = bot(data, "verify")
    assert run.returncode == 1
    named = {line.split(":")[0] for line in run.stdout.splitlines() if line.startswith("ISD")}
    assert named == {rid(1), rid(4), rid(6)}
    assert "5 records checked, " in run.stdout
