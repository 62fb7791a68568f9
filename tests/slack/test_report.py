"""Report a concern from any message (the Slack message shortcut): a
decision starts in the person's DM with the message's text offered as the
facts, used with one click or typed again; nothing is posted where the
message was."""

from __future__ import annotations

from tests.harness.fakeslack import GENERAL_CHANNEL_ID
from tests.harness.slack import Harness
from tests.harness.slack_driver import Driver, all_text, buttons, value_of
from tests.harness.slackreq import message_shortcut

TYPED = "EF said her dad hit her last night &amp; she had a bruise <b>here</b>"
SHOWN = "EF said her dad hit her last night & she had a bruise <b>here</b>"


def test_the_message_is_offered_as_the_facts_in_the_dm(slack: Harness) -> None:
    staff = Driver(slack, "U123")
    slack.send(message_shortcut("U123", text=TYPED, channel=GENERAL_CHANNEL_ID))
    assert any("reported a concern" in all_text(c) for c in staff.dm_posts())
    for value in ("no", "own_concern", "EF"):
        staff.answer(value)
    question = staff.current()
    shown = all_text(question)
    assert "EF said her dad hit her last night &amp; she had a bruise &lt;b&gt;here" in shown
    [use] = [b for b in buttons(question) if value_of(b).value == "use_offered"]
    staff.click(question, value="use_offered")
    assert use and staff.session() is not None
    assert staff.session()["answers"]["facts"] == SHOWN
    assert not [c for c in slack.fake.calls("chat.postMessage")
                if c.args.get("channel") == GENERAL_CHANNEL_ID]
    assert not slack.fake.calls("chat.postEphemeral")
