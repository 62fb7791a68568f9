"""One process per data directory: a second app on the same directory is
refused at start-up with a clear message; admin commands still run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.harness.live import subprocess_env


def test_a_second_app_on_the_same_data_directory_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = subprocess_env(data, SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s",
                         SLACK_API_URL="http://127.0.0.1:9/api/")
    first = subprocess.Popen([sys.executable, "-m", "bot", "console"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             cwd=tmp_path)
    try:
        assert first.stdout is not None
        assert first.stdout.readline()  # the first question: it is serving
        for args in (["console"], ["http", "--port", "0"], ["socket"]):
            second = subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True,
                                    text=True, input="", env=env, cwd=tmp_path, timeout=60)
            assert second.returncode == 2, (args, second.stderr)
            assert f"another Jigsaw process (pid {first.pid}) is already using" in second.stderr
            assert "Traceback" not in second.stderr
        checked = subprocess.run([sys.executable, "-m", "bot", "verify"], capture_output=True,
                                 text=True, env=env, cwd=tmp_path, timeout=60)
        assert checked.returncode == 0, checked.stdout
    finally:
        first.communicate("pause\n", timeout=30)
    assert first.returncode == 0
    # Once the first has gone, the next one starts.
    again = subprocess.run([sys.executable, "-m", "bot", "console"], capture_output=True,
                           text=True, input="", env=env, cwd=tmp_path, timeout=60)
    assert again.returncode == 0, again.stderr
