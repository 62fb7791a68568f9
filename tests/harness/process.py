"""Run the real app (``python -m bot http``) in a child process that a test
can SIGKILL and start again on the same data directory.

The child talks to a FakeSlack in the test process over loopback. Readiness
is the app's own "serving" log line followed by one ``GET /health``.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

from tests.harness.faults import SECRET, WAIT, post
from tests.harness.slackreq import AckResponse, HttpTransport, SlackRequest

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "serving Slack events"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppProcess:
    """The app in HTTP mode in a child process (see module docstring).

    Also the ``Link`` a :class:`tests.harness.staff.Staff` drives: its
    epoch changes on every kill, and :meth:`wait_up` blocks while it is down.
    """

    def __init__(self, data_dir: Path, api_url: str, *, cwd: Path,
                 extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SLACK_", "JIGSAW_"))}
        self.env.update({
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api_url,
            "JIGSAW_DSL_CHANNEL": "CDSL",
            "JIGSAW_DSL_USERS": "UDSL1",
            "JIGSAW_DATA_DIR": str(data_dir),
            "JIGSAW_SLACK_TIMEOUT": "5",
            **(extra_env or {}),
        })
        self.transport = HttpTransport(f"http://127.0.0.1:{self.port}/slack/events", SECRET,
                                       timeout=WAIT)
        self.proc: subprocess.Popen[str] | None = None
        self.log: collections.deque[str] = collections.deque(maxlen=200)
        self.starts = 0
        self.kills = 0
        self._epoch = 0
        self._up = False
        self._cond = threading.Condition()

    # -- life cycle ---------------------------------------------------------------
    def start(self) -> None:
        ready = threading.Event()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "http", "--host", "127.0.0.1", "--port",
             str(self.port)],
            cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, args=(proc, ready), daemon=True,
                         name="app-stderr").start()
        if not ready.wait(WAIT) or proc.poll() is not None:
            proc.kill()
            proc.wait()
            raise AssertionError(f"app did not start: {self.tail()}")
        health = self.health()
        assert health.get("ok") is True, health
        self.proc = proc
        self.starts += 1
        with self._cond:
            self._up = True
            self._cond.notify_all()

    def _read(self, proc: subprocess.Popen[str], ready: threading.Event) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.log.append(line.rstrip())
            if READY_LINE in line:
                ready.set()
        ready.set()  # it exited: start() sees poll() and reports the log

    def health(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/health"
        with urllib.request.urlopen(url, timeout=WAIT) as resp:
            return dict(json.loads(resp.read()))

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs in the app."""
        assert self.proc is not None
        with self._cond:
            self._up = False
            self._epoch += 1
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self.kills += 1

    def stop(self) -> int:
        """SIGTERM, as a service manager would; the exit code."""
        if self.proc is None:
            return 0
        with self._cond:
            self._up = False
            self._epoch += 1
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=WAIT)
        self.proc = None
        return code

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def tail(self, lines: int = 20) -> str:
        return "\n".join(list(self.log)[-lines:])

    # -- Link -------------------------------------------------------------------
    def send(self, request: SlackRequest, **kwargs: Any) -> AckResponse:
        return post(self.transport, request, **kwargs)

    def epoch(self) -> int:
        return self._epoch  # read without the lock: waiters call this under the fake's

    def wait_up(self) -> int:
        with self._cond:
            if not self._cond.wait_for(lambda: self._up, WAIT * 2):
                raise AssertionError("the app did not come back")
            return self._epoch
