"""Child process for the two-process delivery test.

Usage: delivery_worker.py DATA_DIR API_URL

Opens the store as the app does and builds the real Slack front end (its
``SlackDelivery``) against the fake Slack at API_URL, prints "ready", waits for
a line on stdin so both workers start together, then runs the outbox until
nothing is left to post, and prints "done".
"""

from __future__ import annotations

import sys

from slack_sdk import WebClient

from bot.config import Environment, Settings
from bot.service import DecisionService
from bot.slack.app import create_app
from storage import open_store

PASSES = 400


def main(data_dir: str, api_url: str) -> None:
    store = open_store(data_dir, key=Environment.read().data_key)
    jigsaw = DecisionService(Settings(dsl_channel="CDSL", dsl_user_ids=("UDSL1",)), store)
    client = WebClient(token="xoxb-test", base_url=api_url, timeout=5)
    _, front = create_app(jigsaw, signing_secret="s", client=client)
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(PASSES):
        front.delivery.flush(force=True)
        if not front.delivery.pending():
            break
    print("done", len(front.delivery.pending()), flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
