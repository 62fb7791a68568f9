"""The App Home: a person's open decisions and records; the DSL's queue."""

from __future__ import annotations

from bot.service import AccessDenied
from bot.slack.chat import SlackChat


class SlackHome(SlackChat):
    """What the App Home shows this person."""

    def publish_home(self, user: str) -> None:
        open_sessions = [s.to_dict() for s in self.service.open_sessions(user)]
        mine = self.service.my_records(user)
        dsl = self.is_dsl(user)
        awaiting = [i.as_dict() for i in self.service.inbox()] if dsl else None
        self.client.views_publish(user_id=user, view=self.blocks.home(
            open_sessions=open_sessions, mine=mine, awaiting=awaiting,
            my_follow_ups=self.service.follow_ups.follow_ups_for(user, is_dsl=dsl),
            overdue=self.service.follow_ups.overdue_follow_ups() if dsl else None,
            today=self.service.schedule.day.today(self.service.clock()),
            cover=self.service.cover_notice(), away=self.service.cover().away if dsl else None))

    def set_cover(self, user: str, away: bool) -> None:
        """The DSL marks herself away (or back) from the App Home."""
        try:
            self.service.set_cover(away, by=user, allowed=self.is_dsl(user))
        except AccessDenied:
            self.say(user, self.t("refused"))
            return
        self.publish_home(user)
