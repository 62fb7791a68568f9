"""The DSL's chronology of a child and exports (PDF, CSV) in Slack."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.service import AccessDenied, NotFound
from bot.slack.chat import SlackChat

log = logging.getLogger("jigsaw.slack")


class SlackExports(SlackChat):
    """The DSL's tools: a child's chronology, a record or chronology as PDF,
    records between two dates as CSV (every view and copy audited)."""

    def open_dsl_modal(self, user: str, which: str, trigger_id: str) -> None:
        """The Chronology or Export CSV form, for the DSL team only."""
        if not self.is_dsl(user):
            self.service.access.log_access(user, which, allowed=False)
            self.say(user, self.t("refused"))
            return
        view = (self.blocks.chronology_request_modal() if which == "chronology"
                else self.blocks.csv_modal())
        self.client.views_open(trigger_id=trigger_id, view=view)

    def chronology_view(self, user: str, child_ref: str) -> dict[str, Any] | None:
        """The chronology modal for a child (audited), or None if refused."""
        try:
            found = self.service.access.chronology(child_ref, by=user, allowed=self.is_dsl(user))
        except AccessDenied:
            log.warning("chronology refused", extra={"user": user})
            return None
        return self.blocks.chronology_modal(child_ref,
                                            self.service.access.chronology_text(child_ref, found))

    def show_chronology(self, user: str, child_ref: str, view_id: str) -> None:
        """From a record's modal: the child's chronology in its place."""
        shown = self.chronology_view(user, child_ref)
        if shown is None:
            self.say(user, self.t("refused"))
            return
        self.client.views_update(view_id=view_id, view=shown)

    def export(self, user: str, what: str, **params: Any) -> None:
        """Make an export (audited) and upload it into the user's DM."""
        allowed = self.is_dsl(user)
        try:
            if what == "record_pdf":
                name, content = self.service.access.export_record_pdf(params["record_id"], by=user,
                                                                      allowed=allowed)
            elif what == "chronology_pdf":
                name, content = self.service.access.export_chronology_pdf(
                    params["child_ref"], by=user, allowed=allowed)
            else:
                name, text = self.service.access.export_csv(params["start"], params["end"], by=user,
                                                            allowed=allowed)
                content = text.encode("utf-8")
        except AccessDenied:
            log.warning("export refused", extra={"user": user, "action": what})
            self.say(user, self.t("refused"))
            return
        except NotFound:
            self.say(user, self.t("not_found"))
            return
        try:
            self.client.files_upload_v2(channel=self.dm(user), filename=name, title=name,
                                        content=content)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("export upload failed: %s", type(exc).__name__,
                        extra={"action": what})
            self.say(user, self.blocks.r("export_failed"))
