"""Starting, watching and stopping the apps under test as separate processes.

Each app gets its own interpreter so its CPU time, GIL and memory are its
own: peak RSS is the kernel's high-water mark (``VmHWM``) for that process.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.harness.slackreq import SlackRequest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _url_verification() -> SlackRequest:
    payload = {"token": "bench", "challenge": "bench-challenge", "type": "url_verification"}
    return SlackRequest("events_api", payload, json.dumps(payload), "application/json")


@dataclass
class Started:
    """A running app and how long it took to come up (seconds from spawn)."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    stderr_path: Path
    to_health: float
    to_first_request: float

    def memory_kb(self) -> dict[str, int]:
        """VmHWM (peak RSS) and VmRSS in kB, from /proc."""
        found: dict[str, int] = {}
        with open(f"/proc/{self.popen.pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    found[key] = int(rest.split()[0])
        return found

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far."""
        with open(f"/proc/{self.popen.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def stop(self, timeout: float = 30.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                return self.popen.wait()
        return int(self.popen.returncode)

    def stderr_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def errors_logged(self) -> list[str]:
        """Lines the app logged at error level (its logs are JSON lines)."""
        found = []
        for line in self.stderr_path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                if "Traceback" in line or "Error" in line:
                    found.append(line)
                continue
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                found.append(line)
        return found


def start(name: str, args: list[str], env: dict[str, str], secret: str, log_dir: Path, *,
          first_request: Callable[[int], None] | None = None) -> Started:
    """Spawn ``python <args> --port P`` and wait until it answers; time it.
    ``first_request(port)`` makes the first authenticated request (raising
    if refused); by default a signed Slack URL check."""
    port = free_port()
    stderr_path = log_dir / f"{name}.stderr.log"
    stderr = open(stderr_path, "wb")  # noqa: SIM115 - the child keeps it open
    spawned = time.monotonic()
    popen = subprocess.Popen([sys.executable, *args, "--port", str(port), "--host", "127.0.0.1"],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    stderr.close()
    started = Started(name, popen, port, stderr_path, 0.0, 0.0)
    started.to_health = _wait_healthy(started, spawned)
    if first_request is None:
        started.to_first_request = _first_request(started, spawned, secret)
    else:
        first_request(port)
        started.to_first_request = time.monotonic() - spawned
    return started


def _wait_healthy(started: Started, spawned: float) -> float:
    deadline = spawned + START_TIMEOUT
    while time.monotonic() < deadline:
        if started.popen.poll() is not None:
            raise RuntimeError(f"{started.name} exited with {started.popen.returncode}:\n"
                               f"{started.stderr_tail()}")
        conn = http.client.HTTPConnection("127.0.0.1", started.port, timeout=START_TIMEOUT)
        try:
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return time.monotonic() - spawned
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.005)
    started.stop()
    raise RuntimeError(f"{started.name} was not healthy within {START_TIMEOUT:.0f} s")


def _first_request(started: Started, spawned: float, secret: str) -> float:
    """A signed request through Bolt's whole dispatch (Slack's URL check)."""
    request = _url_verification()
    conn = http.client.HTTPConnection("127.0.0.1", started.port, timeout=START_TIMEOUT)
    try:
        conn.request("POST", "/slack/events", body=request.body.encode(),
                     headers=request.headers(secret))
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200 or b"bench-challenge" not in body:
        raise RuntimeError(f"{started.name} refused a signed request: {response.status} {body!r}")
    return time.monotonic() - spawned
