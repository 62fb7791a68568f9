"""What the store could not take yet, kept in memory until it can.

A full or read-only disk must not cost anyone their answers, or hold back
the 999 notice and the DSL alert. When a session write fails, its newest
version is kept here; every later write of that session, and the outbox
worker, tries to save it again. A finished decision whose record could not
be made is remembered too, so the record is made (and posted) once the
store takes writes again.

Plain data over dicts: nothing here knows the store or Slack.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

Doc = dict[str, Any]


class Unsaved:
    def __init__(self) -> None:
        self._docs: dict[str, Doc] = {}
        self._unfinished: set[str] = set()
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Doc | None:
        with self._lock:
            doc = self._docs.get(session_id)
            return copy.deepcopy(doc) if doc is not None else None

    def keep(self, doc: Doc) -> None:
        with self._lock:
            self._docs[doc["id"]] = copy.deepcopy(doc)

    def saved(self, doc: Doc) -> None:
        """``doc`` reached the store: forget it unless it changed since."""
        with self._lock:
            if self._docs.get(doc["id"]) == doc:
                del self._docs[doc["id"]]

    def docs(self) -> list[Doc]:
        with self._lock:
            return [copy.deepcopy(d) for d in self._docs.values()]

    def for_user(self, user: str) -> list[Doc]:
        return [d for d in self.docs() if d.get("user") == user]

    def unfinished(self, session_id: str, *, done: bool = False) -> None:
        """A complete decision whose record could not be made yet (or, with
        ``done``, now has been)."""
        with self._lock:
            (self._unfinished.discard if done else self._unfinished.add)(session_id)

    def waiting(self) -> list[str]:
        with self._lock:
            return sorted(self._unfinished)

    def __len__(self) -> int:
        with self._lock:
            return len(self._docs) + len(self._unfinished)

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            return session_id in self._docs
