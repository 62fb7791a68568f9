"""Messages typed to the bot: the conversation's free text and commands."""

from __future__ import annotations

from microsoft_teams.api.activities.install_update.add import InstalledActivity
from microsoft_teams.api.activities.invoke.message_extension.fetch_task import (
    MessageExtensionFetchTaskInvokeActivity,
)
from microsoft_teams.api.activities.message.message import MessageActivity
from microsoft_teams.api.models.invoke_response import MessagingExtensionActionInvokeResponse
from microsoft_teams.api.models.task_module.task_module_message_response import (
    TaskModuleMessageResponse,
)
from microsoft_teams.apps import ActivityContext, App

from bot.teams.executor import KeyedExecutor
from bot.teams.front import TeamsFront
from bot.teams.listeners.common import message_text, person, personal

HOME_WORDS = {"home", "menu", "inbox", "records"}
REPORT_COMMAND = "reportConcern"  # the message extension's command (teams/manifest.json)


def register(app: App, front: TeamsFront, executor: KeyedExecutor) -> None:
    @app.on_message
    async def on_message(ctx: ActivityContext[MessageActivity]) -> None:
        activity = ctx.activity
        who = person(activity, front)
        if who is None:
            return
        if not personal(activity):
            # Never in a channel: the conversation belongs in the personal chat.
            return
        text = activity.text or ""
        activity_id = activity.id

        def work() -> None:
            if not front.first_activity(activity_id):
                return
            front.remember(who)
            if text.strip().casefold() in HOME_WORDS:
                front.show_home(who.user)
            else:
                front.message(who.user, text)

        # Answered at once; the work (store first, then Teams) follows in order.
        executor.submit(who.user, work)

    @app.on_install_add
    async def on_install(ctx: ActivityContext[InstalledActivity]) -> None:
        """Installed in someone's personal scope: the welcome (home) card."""
        activity = ctx.activity
        who = person(activity, front)
        if who is None or not who.personal:
            return

        def work() -> None:
            if not front.first_activity(activity.id):
                return
            front.remember(who)
            front.show_home(who.user)

        executor.submit(who.user, work)

    @app.on_message_ext_open
    async def on_report(ctx: ActivityContext[MessageExtensionFetchTaskInvokeActivity]
                        ) -> MessagingExtensionActionInvokeResponse:
        """"Report a concern to the DSL" on any message: a decision starts in
        the person's personal chat with the message's text offered as the
        facts. Only a note in the dialog answers where they clicked."""
        activity = ctx.activity
        who = person(activity, front)
        if who is None or activity.value.command_id != REPORT_COMMAND:
            return _told(front.t("unknown_action"))
        text = message_text(getattr(activity.value.message_payload, "body", None))
        activity_id = activity.id

        def work() -> None:
            if not front.first_activity(activity_id):
                return
            front.remember(who)
            front.report(who.user, text)

        executor.submit(who.user, work)
        return _told(front.t("report_started"))


def _told(text: str) -> MessagingExtensionActionInvokeResponse:
    return MessagingExtensionActionInvokeResponse(task=TaskModuleMessageResponse(value=text))
