"""The same person, doing the same things, through each front end: the
in-memory stub (the shared conversation alone), Slack (signed requests
against the fake Slack Web API) and Teams (Bot Framework activities against
the fake connector). Each driver answers the same few questions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import pytest

from bot.config import Settings
from bot.outbox import Kind
from bot.record import corrections_wanted
from bot.service import DecisionService
from bot.slack.delivery import ALERT_EVENT, RECORD_EVENT
from bot.slack.wire import Action, Modal
from bot.teams.cards import ALERT_MARK, FILE_CONSENT, RECORD_MARK
from tests.harness.fakeslack import FakeSlack
from tests.harness.faketeams import FakeTeams, card_actions
from tests.harness.slack import SECRET, build_app, wait_idle
from tests.harness.slack import Harness as SlackHarness
from tests.harness.slack_driver import Driver, all_text, buttons
from tests.harness.slackreq import (
    app_home_opened,
    block_action,
    open_transport,
    text_input,
    view_submission,
)
from tests.harness.stub import StubFront
from tests.harness.teams import Harness as TeamsHarness
from tests.harness.teams import running
from tests.harness.teams_driver import (
    CHANNEL,
    attachments,
    button,
    chat_of,
    file_consent_activity,
)

FRONTS = ("stub", "slack", "teams")
STAFF = {"stub": "staff-1", "slack": "U123", "teams": "00000000-0000-0000-0000-0000000000a1"}
DSL = {"stub": "dsl-1", "slack": "UDSL1", "teams": "00000000-0000-0000-0000-0000000000d1"}


class Front(Protocol):
    name: str
    staff: str
    jigsaw: DecisionService

    def say(self, text: str) -> None: ...
    def answer(self, value: str) -> None: ...
    def shown(self) -> str: ...  # everything shown to the member of staff
    def channel(self) -> list[tuple[Kind, str]]: ...  # what reached the DSL channel
    # The DSL's CSV of the records made on ``day``, as the file the DSL is
    # given privately: (file name, where it went, its bytes).
    def dsl_csv(self, day: str) -> tuple[str, str, bytes]: ...
    # The DSL corrects a record's category and one-line summary, with the
    # front's own form on the record's channel post.
    def dsl_correct(self, record_id: str, category: str, line: str) -> None: ...


@dataclass
class Stub:
    front: StubFront
    jigsaw: DecisionService
    name: str = "stub"
    staff: str = STAFF["stub"]

    def say(self, text: str) -> None:
        self.front.message(self.staff, text)

    def answer(self, value: str) -> None:
        self.front.answer_with(self.staff, value)

    def shown(self) -> str:
        return "\n".join(self.front.shown[self.staff])

    def channel(self) -> list[tuple[Kind, str]]:
        return [(k, i) for k, i in self.front.delivery.channel_posts
                if not i.startswith("anchor:")]

    def dsl_csv(self, day: str) -> tuple[str, str, bytes]:
        name, text = self.jigsaw.access.export_csv(date.fromisoformat(day), date.fromisoformat(day),
                                            by=DSL["stub"], allowed=True)
        return name, "private", text.encode("utf-8")

    def dsl_correct(self, record_id: str, category: str, line: str) -> None:
        record = self.jigsaw.record(record_id)
        assert record is not None
        for field, value in corrections_wanted(record, category=category,
                                               summary_line=line).items():
            self.jigsaw.reviews.review(record_id, "correct", by=DSL["stub"], allowed=True,
                               field=field, value=value)


@dataclass
class Slack:
    driver: Driver
    jigsaw: DecisionService
    name: str = "slack"
    staff: str = STAFF["slack"]

    def say(self, text: str) -> None:
        self.driver.type(text)

    def answer(self, value: str) -> None:
        self.driver.answer(value)

    def shown(self) -> str:
        return "\n".join(all_text(c) for c in self.driver.dm_posts())

    def channel(self) -> list[tuple[Kind, str]]:
        found: list[tuple[Kind, str]] = []
        for post in self.driver.dsl_posts():
            meta: dict[str, Any] = post.args.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == RECORD_EVENT:
                found.append((Kind.RECORD, payload["record_id"]))
            elif meta.get("event_type") == ALERT_EVENT:
                found.append((Kind.ALERT, payload.get("event_id", "")))
        return found

    def dsl_csv(self, day: str) -> tuple[str, str, bytes]:
        """*Export CSV* on the DSL's App Home, the dates in its modal."""
        h, dsl = self.driver.h, DSL["slack"]
        h.send(app_home_opened(dsl))
        home = h.fake.home_view(dsl)
        assert home is not None
        [button] = [b for b in buttons(home["blocks"]) if b["action_id"] == Action.DSL_CSV]
        h.send(block_action(dsl, action_id=Action.DSL_CSV, value=button.get("value"),
                            view={"id": "V1", **home}))
        form = h.fake.last("views.open").response["view"]
        picked = {"type": "datepicker", "selected_date": day}
        h.send(view_submission(dsl, callback_id=Modal.CSV_ASK, view_id=form["id"],
                               values={"from": {"value": picked}, "to": {"value": picked}}))
        wait_idle(h.executor)
        [upload] = [f for f in h.fake.files() if f["name"].endswith(".csv")]
        where = "private" if upload["channels"] == [f"D{dsl}"] else str(upload["channels"])
        return upload["name"], where, upload["content"]

    def dsl_correct(self, record_id: str, category: str, line: str) -> None:
        """*Correct category* on the channel post, then its modal saved."""
        h, dsl = self.driver.h, DSL["slack"]
        [post] = [c for c in self.driver.dsl_posts()
                  if (c.args.get("metadata") or {}).get("event_type") == RECORD_EVENT]
        Driver(h, dsl).click(post, action_id=Action.REVIEW_CORRECT)
        form = h.fake.last("views.open").response["view"]
        h.send(view_submission(dsl, callback_id=Modal.REVIEW_CORRECT, view_id=form["id"],
                               private_metadata=form["private_metadata"], values={
                                   "category": {"value": {"type": "static_select",
                                                          "selected_option": {"value": category}}},
                                   "summary_line": {"value": text_input(line)}}))
        wait_idle(h.executor)


@dataclass
class Teams:
    harness: TeamsHarness
    jigsaw: DecisionService
    name: str = "teams"
    staff: str = STAFF["teams"]

    def say(self, text: str) -> None:
        self.harness.say(self.staff, text)

    def answer(self, value: str) -> None:
        self.harness.answer(self.staff, value)

    def shown(self) -> str:
        return "\n".join(p.text for p in self.harness.chat(self.staff))

    def channel(self) -> list[tuple[Kind, str]]:
        found: list[tuple[Kind, str]] = []
        for post in self.harness.channel():
            mark = str((post.card.get("body") or [{}])[0].get("id", ""))
            if mark.startswith(RECORD_MARK):
                found.append((Kind.RECORD, mark.removeprefix(RECORD_MARK)))
            elif mark.startswith(ALERT_MARK):
                found.append((Kind.ALERT, mark.removeprefix(ALERT_MARK)))
        return found

    def dsl_csv(self, day: str) -> tuple[str, str, bytes]:
        """*Export records as CSV* on the DSL's home card: a file offered in
        their personal chat, allowed into their OneDrive."""
        h, dsl = self.harness, DSL["teams"]
        h.say(dsl, "home")
        home = h.chat(dsl)[-1]
        before = len(h.fake.posts)
        h.send(h.client.execute_activity(dsl, button(home, "Export records as CSV"),
                                         inputs={"start": day, "end": day}))
        offers = [(p, a) for p in h.fake.posts[before:] for a in attachments(p, FILE_CONSENT)]
        [(post, offer)] = offers
        where = "private" if post.conversation == chat_of(dsl) else post.conversation
        h.send(file_consent_activity(h.client, dsl, accept=True,
                                     context=offer["content"]["acceptContext"],
                                     upload_url=h.fake.upload_url("csv"), name=offer["name"]))
        return offer["name"], where, h.fake.uploads["csv"][1]

    def dsl_correct(self, record_id: str, category: str, line: str) -> None:
        """*Correct category* (as on the DSL team's own view of the channel
        card, which this member's refresh id does not fetch here), then its
        form saved."""
        h, dsl = self.harness, DSL["teams"]
        form = h.send(h.client.execute_activity(
            dsl, {"verb": "review.correct", "data": {"r": record_id}},
            conversation=CHANNEL)).body["value"]
        [save] = [a for a in card_actions(form) if a.get("verb") == "review.correct.save"]
        h.send(h.client.execute_activity(dsl, save, inputs={"category": category, "line": line},
                                         conversation=CHANNEL))


@pytest.fixture
def settings() -> Settings:
    return Settings(school_name="Hillside Primary", dsl_channel="CDSL", dsl_user_ids=("UDSL1",))


@pytest.fixture(params=FRONTS)
def front(request: pytest.FixtureRequest, jigsaw: DecisionService) -> Iterator[Front]:
    if request.param == "stub":
        yield Stub(StubFront(jigsaw), jigsaw)
    elif request.param == "slack":
        with FakeSlack() as fake:
            app, slack_front, executor = build_app(jigsaw, fake)
            with open_transport("http", app, signing_secret=SECRET) as transport:
                harness = SlackHarness(fake, transport, slack_front, jigsaw, app, executor)
                yield Slack(Driver(harness, STAFF["slack"]), jigsaw)
                wait_idle(executor)
            slack_front.delivery.stop()
            executor.shutdown(wait=True)
    else:
        with FakeTeams() as fake_teams:
            fake_teams.members[CHANNEL] = [
                {"id": "29:dsl", "aadObjectId": "00000000-0000-0000-0000-0000000000d1",
                 "name": "Dana DSL"}]
            with running(jigsaw, fake_teams) as teams_harness:
                yield Teams(teams_harness, jigsaw)
