"""Private, crash-safe files: the only place that writes bytes to disk.

Every write goes to a temporary file in the same directory, is fsynced, then
renamed over the target and the directory is fsynced. A crash at any moment
leaves either the old or the new file, never a torn one.

Files are created 0600 and directories 0700 whatever the umask, because the
data is about children and safeguarding concerns.

:class:`Snapshot` records which version of a file a cache holds, so readers
can tell cheaply (one ``stat``) whether another thread or process replaced it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
TEMP_SUFFIX = ".tmp"

# File timestamps come from a coarse clock (one kernel tick, or seconds on
# some network file systems), so two writes close together can share an
# mtime. A stamp younger than this is not trusted on its own: the file is
# kept open, which stops its inode number being reused, so a replacement is
# always seen as a different inode. Git calls this the "racy" case.
RACY_NS = 2_000_000_000

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)

# Closing a descriptor twice could close an unrelated file that reused the
# number in the meantime, so handing it over is serialised.
_release_lock = threading.Lock()


class Snapshot:
    """Identity of one version of a file, as seen when it was read or written.

    ``matches(os.stat(path))`` is True while the path still holds that
    version. Writers always replace files (never edit in place), so the
    version is pinned by inode plus size and timestamps.
    """

    __slots__ = ("key", "_fd", "_trusted_after")

    def __init__(self, fd: int, st: os.stat_result) -> None:
        """Take ownership of ``fd`` (an open descriptor of this version)."""
        self._fd: int | None = None
        self.key = _stat_key(st)
        newest = max(st.st_mtime_ns, st.st_ctime_ns)
        self._trusted_after = newest + RACY_NS
        if time.time_ns() < self._trusted_after:
            self._fd = fd
        else:
            os.close(fd)

    def matches(self, st: os.stat_result) -> bool:
        """True if ``st`` (a fresh stat of the path) is still this version."""
        if _stat_key(st) != self.key:
            return False
        if self._fd is not None and time.time_ns() >= self._trusted_after:
            # Any later write now gets a later timestamp: stop pinning.
            self.release()
        return True

    def release(self) -> None:
        """Close the pinned descriptor, if any (once, even under races)."""
        if self._fd is None:
            return
        with _release_lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __del__(self) -> None:
        self.release()


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700.

    Directories that already exist are left alone, but a data directory that
    other users can read is logged, since it may hold personal data.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue
        # mkdir's mode is filtered by the umask; chmod is not.
        os.chmod(directory, DIR_MODE)
    if not missing:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            log.warning("data directory %s is accessible to other users (mode %o)", path, mode)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_file(path: Path) -> tuple[bytes, Snapshot] | None:
    """The bytes of ``path`` and the version they came from; None if absent.

    Content and snapshot come from the same open descriptor, so they always
    agree even if the file is replaced while we read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        chunks: list[bytes] = []
        remaining = st.st_size
        while True:
            chunk = os.read(fd, max(remaining, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except BaseException:
        os.close(fd)
        raise
    return b"".join(chunks), Snapshot(fd, st)


def write_atomic(path: Path, data: bytes) -> Snapshot:
    """Replace ``path`` with ``data`` durably; returns the new version.

    The temporary name carries the pid and thread so concurrent writers
    never share a temporary file.
    """
    directory = path.parent
    tmp = directory / (
        f".{path.name}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    )
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC | _O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.replace(tmp, path)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        fsync_dir(directory)
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    return Snapshot(fd, st)


def sweep_temp_files(directory: Path, *, older_than: float = 3600.0) -> int:
    """Remove temporary files left by a crashed writer; returns how many.

    Only old ones: a young temporary file may belong to a live writer in
    another process that is about to rename it.
    """
    removed = 0
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
