"""The default :class:`~storage.base.Store`: files in one data directory.

::

    <data>/hot.json          sessions, claims, meta (TinyDB; small, per click)
    <data>/hot.json.lock
    <data>/records/<year>/block-<nnnn>.json   records, 256 a block (TinyDB each;
                                              zlib-compressed once closed)
    <data>/records.lock
    <data>/ledger.jsonl       every archive change, keyed (see storage.ledger)
    <data>/app.lock           held by the one process serving this directory

Directories are 0700 and files 0600. With a key, every data file is
encrypted with Fernet; lock files hold nothing. The ledger holds only ids,
digests and times, and is sealed with the audit key instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .base import Doc, Mutator
from .crypto import cipher_for
from .files import make_private_dirs, sweep_temp_files
from .hot import HotStore
from .integrity import Report, check_counts, open_checks, verify
from .ledger import LEDGER_NAME, Ledger
from .locking import lock_for
from .records import Records
from .seal import Sealer


class TinyDBStore(HotStore, Records):
    """Embedded store for one school or trust (implements ``Store``): the
    session, claim and meta methods come from :class:`HotStore`, the record
    methods from :class:`Records`; this class joins them to the ledger.

    Safe to share between threads, and between processes using the same
    directory (the app, and CLI commands such as verify or purge).

    ``mutate`` callbacks run while a write lock is held: keep them pure and
    never call the store from inside one (two such calls in opposite orders
    on two threads would wait for each other forever).
    """

    def __init__(self, data_dir: str | Path, *, key: bytes | str | None = None,
                 audit_key: bytes | None = None, strict: bool = True,
                 clock: Callable[[], float] = time.time, school: str = "") -> None:
        """Open (creating if needed) the store in ``data_dir``.

        ``key`` is a Fernet key (see :func:`storage.crypto.generate_key`);
        without one, files are plaintext. A wrong key, or a key that does not
        match how the files were written, raises StoreError here, before
        anything is written. ``audit_key`` seals the audit trail and the
        ledger (see :mod:`storage.seal`); a store sealed with one cannot be
        opened without it. Missing or emptied files are StoreError too,
        unless not ``strict`` (verify opens so, to report them all).
        """
        self.data_dir = Path(data_dir)
        # The school this directory is for (JIGSAW_SCHOOL), bound in the
        # sealed ledger at the first start, so a copy of another school's
        # directory sealed with the same audit key is caught.
        self.school = school
        # Absolute, so a later chdir cannot point the store elsewhere.
        root = self.data_dir.absolute()
        make_private_dirs(root)
        cipher = cipher_for(key)
        self.encrypted = cipher is not None
        sweep_temp_files(root)
        sealer = Sealer(audit_key)
        self.keyed = sealer.keyed
        HotStore.__init__(self, root / "hot.json", cipher, clock)
        Records.__init__(self, root / "records", cipher, Ledger(root / LEDGER_NAME, sealer, clock),
                         sealer)
        self.sweep_archive()
        self.check_hot()
        self.check_archive()
        open_checks(self, strict=strict)

    def __repr__(self) -> str:
        return f"TinyDBStore({str(self.data_dir)!r}, encrypted={self.encrypted})"

    def try_update_record(self, record_id: str, mutate: Mutator) -> Doc | None:
        # The records lock is held across processes while a write is made:
        # waiting for it is short, and nothing is ever skipped here.
        return self.update_record(record_id, mutate)

    # -- integrity ----------------------------------------------------------
    def _alerts_changed(self, raised: list[str], sent: list[str]) -> None:
        with lock_for(self.records_root).held():
            self._ledger.append("alert", raised=raised, sent=sent)

    def verify_integrity(self, check_record: Callable[[Doc], list[str]] | None = None,
                         anchor: tuple[int, str] | None = None) -> Report:
        """Every record against its keyed chain and the ledger, the ledger
        against its own chain and, given one, the anchor (line, MAC)."""
        return verify(self, check_record, anchor)

    def check_counts(self) -> None:
        """Refuse (StoreError) if a block holds fewer or more records than
        the ledger says; run once at start-up by the serving commands."""
        check_counts(self)

    def ledger_head(self) -> tuple[int, str, str]:
        """(number, MAC, time) of the ledger's last line: what is anchored."""
        with lock_for(self.records_root).held():
            self._ledger.catch_up()
            state = self._ledger.state
            return state.n, state.mac, state.last_at

    def note_anchor(self, head: int, where: str, when: str = "") -> None:
        """Record in the ledger that its head ``head`` was anchored outside
        the store (``where``: the message ts; ``when``: the app's time)."""
        with lock_for(self.records_root).held():
            self._ledger.append("anchor", head=head, ts=where, **({"when": when} if when else {}))

    def last_anchor(self) -> tuple[str, str]:
        """(when the head was last anchored, or "", when the ledger began),
        from the sealed ledger: a settings file cannot put anchoring off."""
        with lock_for(self.records_root).held():
            self._ledger.catch_up()
            state = self._ledger.state
            return state.anchored, state.began

    def note_escalations(self, *, raised: Iterable[str] = (),
                         done: Iterable[str] = ()) -> None:
        with lock_for(self.records_root).held():
            self._ledger.append("escalation", raised=sorted(raised), done=sorted(done))

    def pending_escalations(self) -> set[str]:
        with lock_for(self.records_root).held():
            self._ledger.catch_up()
            return set(self._ledger.state.escalations)

    def purges(self) -> list[dict[str, Any]]:
        """Every purge in the ledger, oldest first (ids as runs)."""
        return [e for e in self._ledger.entries() if e.get("op") == "purge"]

    # -- moving out (storage.move) -------------------------------------------
    def ledger_entries(self) -> Iterator[dict[str, Any]]:
        """Every ledger line, parsed, oldest first."""
        return self._ledger.entries()

    def claims(self) -> dict[str, float]:
        """Idempotency key -> when it was claimed (seconds since the epoch)."""
        return {k: float(v.get("at", 0)) for k, v in self._claims.rows().items()}

    def meta(self) -> dict[str, Any]:
        """Every small setting the app keeps, by key."""
        return {k: v.get("value") for k, v in self._meta.rows().items()}

    def close(self) -> None:
        """Every write is already durable; this only drops caches and
        descriptors."""
        self.close_hot()
        self.close_archive()


__all__ = ["TinyDBStore"]
