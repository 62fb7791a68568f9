"""Red team, round two: bad input. Settings files and data directories that
are not what they should be get a clear message (never a traceback); a
school's reference pattern that could take minutes to check is refused when
read; characters that show nothing never reach the DSL's channel in a
child's reference. The app runs as its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.slack.delivery import RECORD_EVENT
from tests import scenarios
from tests.harness.fakeslack import DSL_CHANNEL_ID
from tests.harness.faults import WatchedSlack
from tests.harness.process import ROOT, AppProcess
from tests.harness.staff import Staff

INVISIBLE = "\u200b\u200f\u061c\u0336\u2060\ufeff"


def _jigsaw(tmp: Path, *args: str, data: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIGSAW_"))}
    env.update(PYTHONPATH=str(ROOT), JIGSAW_DATA_DIR=str(data or tmp / "data"))
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=env, cwd=tmp, timeout=60)


def _settings(tmp: Path, kind: str) -> Path:
    path = tmp / "jigsaw.toml"
    if kind == "not_utf8":
        path.write_bytes(b'[school]\nname = "Hillside \xff\xfe Primary"\n')
    elif kind == "nested":
        path.write_text("a = " + "[" * 20_000 + "]" * 20_000 + "\n")
    elif kind == "directory":
        path.mkdir()
    elif kind == "redos":
        path.write_text('[records]\nchild_ref_pattern = "(a+)+$"\n')
    return path


@pytest.mark.parametrize(("kind", "said"), [
    ("not_utf8", "is not UTF-8"), ("nested", "nested too deeply"),
    ("directory", "is not a file"), ("redos", "could take minutes"),
])
def test_a_bad_settings_file_gets_a_message_not_a_traceback(
        tmp_path: Path, kind: str, said: str) -> None:
    path = _settings(tmp_path, kind)
    started = time.monotonic()
    for command in (["verify"], ["http", "--port", "0"]):
        done = _jigsaw(tmp_path, "--config", str(path), *command)
        assert done.returncode == 2, done
        assert said in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert time.monotonic() - started < 30


def test_a_ledger_that_is_a_directory_gets_a_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = _jigsaw(tmp_path, "verify", data=data)  # a fresh, empty store
    assert made.returncode == 0, made.stderr
    (data / "ledger.jsonl").unlink()
    (data / "ledger.jsonl").mkdir()
    for command in (["verify"], ["export", "--reason", "test", "--out", "x.json"]):
        done = _jigsaw(tmp_path, *command, data=data)
        assert done.returncode == 2, done
        assert "ledger.jsonl is a directory" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


@pytest.fixture
def slack() -> Iterator[WatchedSlack]:
    with WatchedSlack() as fake:
        yield fake


def test_invisible_characters_in_a_childs_reference_never_reach_the_dsl(
        slack: WatchedSlack, tmp_path: Path) -> None:
    app = AppProcess(tmp_path / "data", slack.base_url, cwd=tmp_path)
    app.start()
    try:
        child = "K" + INVISIBLE + "V" + INVISIBLE
        Staff("UINV1", slack, app, Settings(dsl_channel=DSL_CHANNEL_ID)).decide(
            list(scenarios.STAFF_CONCERN), child)
        [post] = [m for m in slack.messages(DSL_CHANNEL_ID)
                  if (m.get("metadata") or {}).get("event_type") == RECORD_EVENT]
        shown = repr(post)
        assert "KV" in str(post)
        assert not any(ch in str(post) for ch in INVISIBLE), shown
    finally:
        app.close()
