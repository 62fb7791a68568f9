"""Card buttons (``Action.Execute``): answers, navigation, DSL review, alerts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from microsoft_teams.api.activities.invoke.adaptive_card.action import (
    AdaptiveCardInvokeActivity,
)
from microsoft_teams.api.activities.invoke.file_consent import FileConsentInvokeActivity
from microsoft_teams.api.models import Action
from microsoft_teams.api.models.adaptive_card import (
    AdaptiveCardActionCardResponse,
    AdaptiveCardActionMessageResponse,
)
from microsoft_teams.api.models.invoke_response import AdaptiveCardInvokeResponse
from microsoft_teams.apps import ActivityContext, App
from microsoft_teams.cards import AdaptiveCard

from bot.teams.cards import CONVERSATION, Payload, Verb
from bot.teams.executor import KeyedExecutor
from bot.teams.front import TeamsFront
from bot.teams.listeners.common import person

DONE = AdaptiveCardActionMessageResponse(value="")
Response = AdaptiveCardActionCardResponse | AdaptiveCardActionMessageResponse
FORMS = {Verb.FOLLOW_UP: "follow_up", Verb.NOTE: "note", Verb.VIEW: "view",
         Verb.SUMMARY: "summary", Verb.OUTCOME: "outcome", Verb.CORRECT: "correct"}
SAVES = {Verb.FOLLOW_UP_SAVE: "follow_up", Verb.NOTE_SAVE: "note",
         Verb.OUTCOME_SAVE: "outcome", Verb.CORRECT_SAVE: "correct"}
# Clicks whose answer is the card changed by them.
AT_ONCE: dict[Verb, Callable[[TeamsFront, str, Payload], AdaptiveCard | None]] = {
    Verb.ALERT_ACK: lambda front, user, data: front.acknowledge_alert(user, data.e, data),
    Verb.FOLLOW_UP_DONE: lambda front, user, data: front.complete_follow_up(user, data),
    Verb.TAKE_ON: lambda front, user, data: front.take_on(user, data.r),
    Verb.CONFIRM_BASIS: lambda front, user, data: front.settle(user, data.r, "confirm_basis"),
    Verb.CLOSE: lambda front, user, data: front.settle(user, data.r, "close"),
    Verb.COVER: lambda front, user, data: front.set_cover(user, data.v),
    Verb.HOME: lambda front, user, data: front.home_card(user),
    Verb.CHRONOLOGY: lambda front, user, data: front.chronology(user, data),
    Verb.CSV: lambda front, user, data: front.export_csv(user, data),
    Verb.PDF: lambda front, user, data: front.offer_pdf(user, data),
    Verb.REFRESH: lambda front, user, data: front.record_view(user, data.r) if data.r else None,
}


def later(front: TeamsFront, verb: Verb, user: str, data: Payload) -> Callable[[], None] | None:
    """The work for a click answered at once (its effect shows by an update)."""
    if verb == Verb.ANSWER and data.s and data.st:
        return lambda: front.answer(user, data.s, data.st, data.v)
    if verb in (Verb.BACK, Verb.PAUSE, Verb.CANCEL, Verb.HELP) and data.s:
        return lambda: front.navigate(user, data.s, data.st or None, verb.value)
    if verb == Verb.RESUME and data.s:
        return lambda: front.resume(user, data.s)
    if verb == Verb.NEW:
        return lambda: front.begin(user, fresh=True)
    if verb == Verb.ACKNOWLEDGE and data.r:
        return lambda: front.acknowledge(user, data.r)
    return None


def register(app: App, front: TeamsFront, executor: KeyedExecutor) -> None:
    @app.on_file_consent
    async def on_file_consent(ctx: ActivityContext[FileConsentInvokeActivity]) -> None:
        """A file offered in a personal chat, allowed or declined there."""
        activity = ctx.activity
        who = person(activity, front)
        if who is None or not who.personal:
            return
        value = activity.value
        accepted = value.action == Action.ACCEPT
        await asyncio.to_thread(front.file_answered, who.user, accepted, value.context,
                                value.upload_info)

    @app.on_card_action_execute
    async def on_execute(ctx: ActivityContext[AdaptiveCardInvokeActivity]
                         ) -> AdaptiveCardInvokeResponse:
        activity = ctx.activity
        who = person(activity, front)
        if who is None:
            return DONE
        action = activity.value.action
        data = Payload.parse(action.data)
        try:
            verb = Verb(action.verb or "")
        except ValueError:
            verb = None
        if verb is None or data is None:
            return AdaptiveCardActionMessageResponse(value=front.t("unknown_action"))
        activity_id = activity.id
        if verb in AT_ONCE:
            # The card changes at once for whoever clicked (and, by an
            # update, for everyone).
            def changed() -> Response:
                front.remember(who)
                shown = AT_ONCE[verb](front, who.user, data)
                return AdaptiveCardActionCardResponse(value=shown) if shown else DONE

            return await asyncio.to_thread(changed)
        if verb in FORMS or verb in SAVES:
            # The person sees the answer card at once: done before responding.
            def respond() -> Response:
                front.remember(who)
                if not front.first_activity(activity_id):
                    return DONE
                if verb in FORMS:
                    shown = front.form(who.user, data.r, FORMS[verb])
                else:
                    shown = front.save(who.user, data.r, SAVES[verb], data)
                return AdaptiveCardActionCardResponse(value=shown)

            return await asyncio.to_thread(respond)
        work = later(front, verb, who.user, data)
        if work is None:
            return AdaptiveCardActionMessageResponse(value=front.t("unknown_action"))
        if verb in CONVERSATION and not who.personal:
            return DONE

        def run() -> None:
            if not front.first_activity(activity_id):
                return
            front.remember(who)
            work()

        # Answered at once; the store and the card update follow, in order.
        executor.submit(who.user, run)
        return DONE

