"""Shared fixtures for the storage tests.

``store`` is parametrised over both backends, so every contract test runs
against TinyDB and against a real PostgreSQL (see ``tests/pg.py``); tests of
one backend's own files use ``tiny`` instead.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from storage import Store, TinyDBStore
from tests.harness.pg import fresh_schema

_counter = itertools.count(1)
BACKENDS = ("tinydb", "postgres")


@dataclass
class Backend:
    """Where one test's store lives, and how to open it again there."""

    name: str
    data_dir: Path
    url: str = ""
    school: str = "hillside"
    opened: list[Any] = field(default_factory=list)

    def open(self) -> Store:
        """Another store on the same data (like a second process would)."""
        if self.name == "tinydb":
            store: Any = TinyDBStore(self.data_dir)
        else:
            from storage.postgres import Database

            db = Database(self.url)
            self.opened.append(db)
            store = db.store(self.school)
        return store

    @property
    def location(self) -> str:
        """What a worker process is given to open it."""
        return self.url or str(self.data_dir)

    def close(self) -> None:
        for db in self.opened:
            db.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Backend]:
    if request.param == "tinydb":
        made = Backend("tinydb", data_dir)
        yield made
        made.close()
        return
    with fresh_schema() as url:
        made = Backend("postgres", data_dir, url=url)
        yield made
        made.close()


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    opened = backend.open()
    yield opened
    opened.close()


@pytest.fixture
def tiny(data_dir: Path) -> Iterator[TinyDBStore]:
    """The TinyDB store, for tests of its files."""
    opened = TinyDBStore(data_dir)
    yield opened
    opened.close()


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    """A plausible decision record; keyword arguments override fields."""

    def make(**fields: Any) -> dict[str, Any]:
        n = next(_counter)
        record: dict[str, Any] = {
            "session_id": f"S{n}",
            "created_at": "2026-11-25T13:40:00Z",
            "updated_at": "2026-11-25T13:40:00Z",
            "recorded_by": "U1",
            "child_ref": f"C{n}",
            "decision": "share",
            "status": "submitted",
            "review_status": "pending",
            "delivery": {"state": "pending"},
            "answers": {"q1": "yes", "q2": ["a", "b"]},
        }
        record.update(fields)
        return record

    return make


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)
