"""Per-file write locks that hold across threads and across processes.

Bolt runs listeners on a thread pool, and CLI commands (verify, retention
purge) may run in another process at the same time, so each lock is two
locks in a fixed order:

1. a ``threading.RLock`` per path, from one registry shared by the whole
   process, so that two store objects on the same file still exclude each
   other;
2. a ``filelock.FileLock`` on ``<file>.lock`` (``flock``), which the kernel
   releases if the process dies.

The thread lock goes first because ``FileLock`` keeps its hold count per
thread: with the threading lock in front, only one thread of a process ever
touches the file lock at a time, whatever ``thread_local`` does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .base import StoreError
from .files import FILE_MODE

# How long to wait for another process before giving up with a clear error.
LOCK_TIMEOUT = 60.0
# flock is polled while another process holds it; keep the wait short.
POLL_INTERVAL = 0.002


class PathLock:
    """Exclusive, re-entrant lock for one path (see module docstring)."""

    def __init__(self, lock_path: str) -> None:
        self.lock_path = lock_path
        self._thread_lock = threading.RLock()
        self._file_lock = FileLock(
            lock_path, timeout=LOCK_TIMEOUT, mode=FILE_MODE, poll_interval=POLL_INTERVAL
        )

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the duration of the ``with`` block."""
        with self._thread_lock:
            try:
                self._file_lock.acquire()
            except Timeout:
                raise StoreError(
                    f"{self.lock_path} has been locked by another process for "
                    f"{LOCK_TIMEOUT:.0f} s; is a purge or another copy of the app stuck?"
                ) from None
            try:
                yield
            finally:
                self._file_lock.release()


_registry: dict[str, PathLock] = {}
_resolved: dict[str, str] = {}
_registry_guard = threading.Lock()


def lock_for(path: Path | str) -> PathLock:
    """The process-wide lock guarding writes to ``path``.

    Same path (after resolving) gives the same lock object, so every store
    in the process shares it.
    """
    raw = os.fspath(path)
    key = _resolved.get(raw)
    if key is None:
        key = _resolved[raw] = os.path.realpath(raw)
    lock = _registry.get(key)
    if lock is None:
        with _registry_guard:
            lock = _registry.get(key)
            if lock is None:
                lock = _registry[key] = PathLock(key + ".lock")
    return lock


def _reset_after_fork() -> None:
    """A forked child gets fresh locks: a thread lock held by some parent
    thread at fork time would otherwise never be released in the child."""
    global _registry_guard
    _registry.clear()
    _registry_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


APP_LOCK_NAME = "app.lock"


class DataDirInUse(StoreError):
    """Another process is already serving this data directory."""


class DataDirLock:
    """An exclusive hold on a data directory for the life of one serving
    process (Slack app or terminal runner).

    Two apps on one directory would each run an outbox and each answer the
    same people; the second is refused at start-up instead. The kernel drops
    the ``flock`` when the process dies, however it dies, so a crash never
    leaves the directory locked. Admin commands (verify, export, retention)
    do not take it: they share the per-file locks with the running app.
    """

    def __init__(self, data_dir: Path | str) -> None:
        self.path = Path(data_dir).absolute() / APP_LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`DataDirInUse` naming the holder."""
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise DataDirInUse(
                f"another Jigsaw process (pid {holder}) is already using {self.path.parent}; "
                "stop it first (only one process may serve a data directory)"
            ) from None
        os.fchmod(fd, FILE_MODE)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
