"""Child process for the multi-process tests.

Usage: store_worker.py DATA_DIR|DATABASE_URL PREFIX COUNT [--wait] [--shared]

Opens the store (key from JIGSAW_DATA_KEY), prints "ready", optionally waits
for a line on stdin, then creates COUNT records (0: until killed). For each
one it also saves the session PREFIX with the loop counter (and with
--shared bumps the counter in session "shared"), then prints
"<record id> <i>", flushed, only after every write has returned.
"""

from __future__ import annotations

import sys

from bot.config import Environment
from storage import open_store


def main(argv: list[str]) -> None:
    data_dir, prefix, count = argv[1], argv[2], int(argv[3])
    environment = Environment.read()
    if data_dir.startswith("postgresql://"):
        store = open_store(".", key=environment.data_key, database_url=data_dir,
                           school=environment.school)
    else:
        store = open_store(data_dir, key=environment.data_key)
    print("ready", flush=True)
    if "--wait" in argv:
        sys.stdin.readline()
    i = 0
    while count == 0 or i < count:
        store.save_session({"id": prefix, "user": "worker", "status": "open", "n": i})
        if "--shared" in argv:
            store.update_session("shared", lambda s: s.update(n=s["n"] + 1))
        record = store.create_record(
            {
                "session_id": f"{prefix}-{i}",
                "created_at": "2026-11-25T13:40:00Z",
                "recorded_by": prefix,
                "answers": {"padding": "x" * 1000},
            }
        )
        print(record["id"], i, flush=True)
        i += 1


if __name__ == "__main__":
    main(sys.argv)
