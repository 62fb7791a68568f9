"""The Slack front end's behaviour, as plain methods listeners call.

Listeners only unpack Slack payloads and call these; everything here is easy
to drive from a test. Each concern has its module: the conversation in the
DM (:mod:`chat`), the DSL's review (:mod:`review`), chronology and exports
(:mod:`exports`) and the App Home (:mod:`home`); getting records into the
DSL channel is :mod:`delivery`.
"""

from __future__ import annotations

from bot.slack.exports import SlackExports
from bot.slack.review import SlackReview


class SlackFront(SlackReview, SlackExports):
    """Everything the listeners call."""
