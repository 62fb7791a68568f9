"""The real PostgreSQL server the tests use, one fresh schema per test.

``JIGSAW_TEST_DATABASE_URL`` (default: the machine's server at
127.0.0.1:5432, database ``test``, trust auth). Without a server the tests
that need one are skipped, saying why; under CI (``CI`` set) they fail
instead. Each test gets its own schema (``jigsaw_t_<random>``, dropped
afterwards), so test runs sharing the server never see each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any
from urllib.parse import quote

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


@cache
def _reachable(url: str) -> str | None:
    """None if the server answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def server_url() -> str:
    """The server's URL; skips (fails under CI) if it cannot be reached."""
    url = os.environ.get("JIGSAW_TEST_DATABASE_URL", DEFAULT_URL)
    why = _reachable(url)
    if why is not None:
        message = f"no PostgreSQL server at {url.rsplit('@', 1)[-1]}: {why}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: the PostgreSQL tests must run)")
        pytest.skip(message)
    return url


def with_schema(url: str, schema: str) -> str:
    """``url`` with every connection's search_path set to ``schema``."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema(*, migrated: bool = True) -> Iterator[str]:
    """A URL whose connections use a new, empty schema (migrated unless not)."""
    import psycopg

    base = server_url()
    schema = f"jigsaw_t_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = with_schema(base, schema)
    try:
        if migrated:
            from storage.migrate import migrate

            migrate(url)
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


class Proxy:
    """A loopback TCP relay in front of the server, so a test can take the
    database away from an app (every connection dropped, new ones refused)
    and give it back, as a network fault or a fail-over would."""

    def __init__(self, url: str) -> None:
        import socket
        import threading
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        user = f"{parts.username}@" if parts.username else ""
        self.url = parts._replace(netloc=f"{user}127.0.0.1:{self.port}").geturl()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.down = False
        threading.Thread(target=self._accept, daemon=True, name="pg-proxy").start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self.down:
                    client.close()
                    continue
                try:
                    server = socket.create_connection(self._target, timeout=5)
                except OSError:
                    client.close()
                    continue
                server.settimeout(None)
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: Any, dst: Any) -> None:
        import socket

        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            # Shut down before closing: a close alone leaves the other pipe's
            # thread blocked in recv holding the socket, so the server never
            # hears the connection end and its open transaction holds locks.
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        import socket

        with self._lock:
            self.down = True
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()
            self._open.clear()

    def restore(self) -> None:
        with self._lock:
            self.down = False

    def close(self) -> None:
        self.cut()
        self._listener.close()
