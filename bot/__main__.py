"""``python -m bot`` / ``jigsaw``: run the bot, the terminal runner, or an
admin command.

With no Slack credentials it runs the conversation in the terminal, so the
first command in the README works on any machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bot.config import ConfigError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jigsaw", description=__doc__)
    parser.add_argument("--config", help="settings file (default ./jigsaw.toml)")
    sub = parser.add_subparsers(dest="command")
    console = sub.add_parser("console", help="the conversation in this terminal")
    console.add_argument("--new", action="store_true", help="start afresh, pausing any open one")
    sub.add_parser("socket", help="run in Slack Socket Mode (SLACK_BOT_TOKEN, SLACK_APP_TOKEN)")
    http = sub.add_parser("http", help="serve Slack HTTP events at /slack/events")
    http.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    http.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    command = args.command
    if command is None:
        has_socket = os.environ.get("SLACK_BOT_TOKEN") and os.environ.get("SLACK_APP_TOKEN")
        command = "socket" if has_socket else "console"
    from storage import StoreError, open_store

    try:
        store = open_store(settings.data_dir)
    except StoreError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    from bot.service import Jigsaw

    app = Jigsaw(settings, store)
    try:
        if command == "console":
            from bot.console import Console

            return Console(app).run(new=getattr(args, "new", False))
        from bot.slack import run

        return run(command, app, args)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
