"""Structured logs: one JSON object a line, and never a child's details.

Only whitelisted ``extra`` fields are written (ids, counts, error codes), so a
stray ``extra={"text": ...}`` can't leak what someone typed. Slack's libraries
log request bodies at DEBUG, so they are held at WARNING whatever the level.
"""

from __future__ import annotations

import json
import logging
import sys
import time

SAFE_FIELDS = ("record_id", "session_id", "user", "action", "payload_type", "count", "mode",
               "port", "error", "event_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for field in SAFE_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("slack_bolt", "slack_sdk", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
