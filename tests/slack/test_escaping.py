"""What a person types is shown literally wherever Jigsaw posts it.

A rationale that holds ``<!channel>`` must not ping the whole DSL channel, a
``<@U…>`` must not notify someone outside it, a ``<https://…|click>`` must
not become a disguised link, and ``*bold*`` must not change how a record
reads. The record of truth keeps the words exactly as typed.
"""

from __future__ import annotations

from typing import Any

from bot.slack.delivery import RECORD_EVENT
from bot.slack.wire import Action
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call
from tests.harness.slack import Harness
from tests.harness.slack_driver import DEPUTY, Driver, all_text
from tests.harness.slackreq import app_home_opened, text_input, view_submission

NASTY = "<!channel> <@U999> <https://evil.example|click> *bold* _it_ ~s~ `code`"
MENTIONS = ("<!channel>", "<@U999>", "<https://")
FORMATTING = ("*bold*", "_it_", "~s~", "`code`")
SHOWN_CALLS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open",
               "views.update", "views.publish")

REQUESTER = sc.POLICE_PREJUDICE.index("DC Patel, Child Abuse Investigation Team")
FACTS = sc.POLICE_PREJUDICE.index(
    "Bruise on left cheek seen 08:50 on arrival; child said dad hit him.")
RATIONALE = sc.POLICE_PREJUDICE.index(
    "Police are investigating; telling the father could put the child at risk.")


def script_with(**typed: str) -> list[str]:
    script = list(sc.POLICE_PREJUDICE)
    for name, text in typed.items():
        script[{"requester": REQUESTER, "facts": FACTS, "rationale": RATIONALE}[name]] = text
    return script


def shown(slack: Harness) -> list[Call]:
    return [c for c in slack.fake.calls() if c.method in SHOWN_CALLS]


def record_post(driver: Driver) -> Call:
    [post] = [c for c in driver.dsl_posts()
              if (c.args.get("metadata") or {}).get("event_type") == RECORD_EVENT]
    return post


def test_typed_mentions_links_and_formatting_show_literally(slack: Harness) -> None:
    driver = Driver(slack, DEPUTY)  # the DSL team answers the police
    driver.start()
    record = driver.run(script_with(requester=f"DC {NASTY}", facts=f"Seen: {NASTY}",
                                    rationale=f"Because {NASTY}"))
    assert record is not None
    # Stored exactly as typed.
    assert record["rationale"] == f"Because {NASTY}"
    assert record["requester"]["name_role"] == f"DC {NASTY}"
    assert record["facts"] == f"Seen: {NASTY}"

    # The DSL opens the full record and adds a note and a follow-up, also nasty.
    post = record_post(driver)
    dsl = Driver(slack, "UDSL1")
    dsl.click(post, action_id=Action.REVIEW_VIEW)
    dsl.click(post, action_id=Action.REVIEW_NOTE)
    view = slack.fake.last("views.open").response["view"]
    slack.send(view_submission("UDSL1", callback_id=view["callback_id"],
                               values={"note": {"value": text_input(f"Note {NASTY}")}},
                               private_metadata=view["private_metadata"]))
    dsl.click(post, action_id=Action.REVIEW_FOLLOWUP)
    view = slack.fake.last("views.open").response["view"]
    due = slack.jigsaw.clock().date().isoformat()
    slack.send(view_submission("UDSL1", callback_id=view["callback_id"], values={
        "note": {"value": text_input(f"Follow {NASTY}")},
        "due": {"value": {"type": "datepicker", "selected_date": due}}},
        private_metadata=view["private_metadata"]))
    slack.send(app_home_opened("UDSL1"))

    calls = shown(slack)
    assert {c.method for c in calls} >= {"chat.postMessage", "chat.update", "views.open",
                                         "views.publish"}
    for call in calls:
        text = all_text(call)
        for raw in MENTIONS:
            assert raw not in text, (call.method, call.args.get("channel"), raw)
    for call in calls:
        if call.method.startswith("chat."):
            text = all_text(call)
            for raw in FORMATTING:
                assert raw not in text, (call.method, call.args.get("channel"), raw)

    # ...but it is all there to read, escaped.
    channel_text = all_text(post)
    assert "&lt;!channel&gt;" in channel_text and "&lt;@U999&gt;" in channel_text
    assert "&lt;https://evil.example|click&gt;" in channel_text
    assert "bold" in channel_text and "code" in channel_text
    updated = all_text(driver.updates(str(post.response["ts"]), DSL_CHANNEL_ID)[-1])
    assert "Follow" in updated and "&lt;!channel&gt;" in updated
    told = "\n".join(all_text(c) for c in driver.dm_posts()[-2:])
    assert "Note" in told and "&lt;!channel&gt;" in told


def test_no_mention_reaches_anyone(slack: Harness) -> None:
    """Seen from Slack's side: nothing Jigsaw posted mentions U999 or the
    whole channel (what a real client would ping)."""
    driver = Driver(slack, DEPUTY)  # the DSL team answers the police
    driver.start()
    driver.run(script_with(rationale=f"Because {NASTY}"))
    for channel in (DSL_CHANNEL_ID, driver.dm):
        for message in slack.fake.messages(channel):
            text = all_text(message)
            assert "<!channel>" not in text and "<@U999>" not in text


def test_slack_encoded_characters_are_stored_as_typed_and_shown_once_escaped(
        slack: Harness) -> None:
    """Slack sends a typed ``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;`` and
    ``&gt;``. The record must hold what the person typed, and Slack must show
    it as typed, not as ``&amp;lt;``."""
    typed = "Mum said 3 < 4 & the boy's bruise was > 2cm"
    on_the_wire = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    driver = Driver(slack, DEPUTY)  # the DSL team answers the police
    driver.start()
    record = driver.run(script_with(facts=on_the_wire))

    assert record is not None and record["facts"] == typed
    assert record["summary_line"] == typed  # one sentence: the post's one line
    text = all_text(record_post(driver))
    assert on_the_wire in text
    assert "&amp;lt;" not in text and "&amp;amp;" not in text
    answered: list[Any] = [all_text(c) for c in slack.fake.calls("chat.update")]
    assert any(on_the_wire in t for t in answered)
    assert not any("&amp;lt;" in t for t in answered)
