"""The yardstick: a Bolt app whose listeners only acknowledge.

Same Bolt settings and the same HTTP server class as Jigsaw in HTTP mode, so
the difference in latency between the two is what Jigsaw itself adds.

``python -m bench.bare_app --port P`` (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN,
SLACK_API_URL from the environment); serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import threading

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack.server import SlackHTTPServer


def create_bare_app(signing_secret: str, client: WebClient) -> App:
    app = App(client=client, signing_secret=signing_secret, token_verification_enabled=False,
              ignoring_self_events_enabled=True, logger=logging.getLogger("slack_bolt"))

    def only_ack(ack: Ack) -> None:
        ack()

    def nothing() -> None:
        return None

    app.command("/infoshare")(only_ack)
    app.action(re.compile(r".*"))(only_ack)
    app.view(re.compile(r".*"))(only_ack)
    app.event("message")(nothing)
    app.event("app_home_opened")(nothing)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    client = WebClient(token=os.environ.get("SLACK_BOT_TOKEN"),
                       base_url=os.environ.get("SLACK_API_URL") or WebClient.BASE_URL)
    app = create_bare_app(os.environ["SLACK_SIGNING_SECRET"], client)
    server = SlackHTTPServer((opts.host, opts.port), app)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="bare-http")
    thread.start()
    print(f"listening on {server.port}", flush=True)
    stop.wait()
    server.shutdown()
    thread.join()
    server.server_close()
    app.listener_runner.listener_executor.shutdown(wait=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
