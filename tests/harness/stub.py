"""A chat front end in memory: the smallest thing that is one.

It provides only what :class:`bot.conversation.Conversation` asks of a front
end (say, show a question, show it answered, offer to resume) and an outbox
whose "DSL channel" is a list, so the shared conversation and outbox run
exactly as they do behind Slack and Teams, with nothing in between. The
behaviour suite (tests/behaviour) drives it beside the real front ends.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bot.conversation import Conversation
from bot.flow import Question, Session, Source
from bot.outbox import Kind, Outbox, Posted
from bot.service import DecisionService

CHANNEL = "stub:dsl-channel"


class StubOutbox(Outbox):
    """The DSL channel as a list of (kind, id) posted."""

    def __init__(self, service: DecisionService) -> None:
        super().__init__(service, CHANNEL)
        self.channel_posts: list[tuple[Kind, str]] = []
        self.direct: list[tuple[str, str]] = []

    def check_channel(self) -> None:
        return None

    def find_posted(self, kind: Kind, item_id: str) -> str | None:
        return next((f"post-{n}" for n, (k, i) in enumerate(self.channel_posts)
                     if (k, i) == (kind, item_id)), None)

    def open_direct(self, user_id: str) -> str:
        return f"stub:dm:{user_id}"

    def post_record(self, record: dict[str, Any], conversation: str | None, *,
                    review: bool) -> Posted:
        self.channel_posts.append((Kind.RECORD, record["id"]))
        return Posted(conversation or CHANNEL, f"post-{len(self.channel_posts) - 1}")

    def post_alert(self, event: dict[str, Any]) -> str:
        self.channel_posts.append((Kind.ALERT, event["id"]))
        return f"post-{len(self.channel_posts) - 1}"

    def post_anchor(self, n: int, mac: str) -> str:
        self.channel_posts.append((Kind.RECORD, f"anchor:{n}"))
        return f"post-{len(self.channel_posts) - 1}"

    def tell_directly(self, user_id: str, text: str) -> None:
        self.direct.append((user_id, text))

    def held_text(self, problem: str) -> str:
        return problem


class StubFront(Conversation):
    """Everything shown to each person, in order: what was said, and each
    question (its text, and its choices' values)."""

    source = Source.CONSOLE

    def __init__(self, service: DecisionService) -> None:
        super().__init__(service)
        self.delivery = StubOutbox(service)
        self.shown: dict[str, list[str]] = defaultdict(list)
        self.asked: dict[str, list[tuple[Session, Question]]] = defaultdict(list)

    def t(self, name: str, **ctx: Any) -> str:
        return self.service.prompts.render(f"slack/{name}.j2", s=self.service.settings, **ctx)

    def say(self, user: str, text: str, *, private: bool = False) -> None:
        self.shown[user].append(text)

    def chat_meta(self, user: str) -> dict[str, Any]:
        return {}

    def offer_resume(self, user: str, session: Session) -> None:
        self.shown[user].append(self.t("resume_offer", started=session.created_at))

    def show_question(self, session: Session, question: Question,
                      notices: list[str] | None) -> dict[str, Any]:
        self.shown[session.user] += [*(notices or []), question.text]
        self.asked[session.user].append((session, question))
        return {"question_id": str(len(self.asked[session.user]))}

    def show_answered(self, session: Session, question: Question, answer: str,
                      notices: list[str] | None) -> bool:
        self.shown[session.user] += notices or []
        return True

    # -- the person's side, as a driver ---------------------------------------
    def answer_with(self, user: str, value: str) -> None:
        """Click the choice carrying ``value``, or type it."""
        session, question = self.asked[user][-1]
        if any(choice == value for choice, _ in question.choices):
            self.answer(user, session.id, question.step, value)
        else:
            self.message(user, value)
