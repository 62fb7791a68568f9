"""Shared fixtures for the storage tests."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage import TinyDBStore

_counter = itertools.count(1)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[TinyDBStore]:
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
