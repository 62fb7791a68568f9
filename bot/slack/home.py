"""The App Home: a person's open decisions and records; the DSL's queue."""

from __future__ import annotations

from bot.slack.chat import SlackChat


class SlackHome(SlackChat):
    """What the App Home shows this person."""

    def publish_home(self, user: str) -> None:
        open_sessions = [s.to_dict() for s in self.app.open_sessions(user)]
        mine = self.app.my_records(user)
        dsl = self.is_dsl(user)
        awaiting = [i.as_dict() for i in self.app.inbox()] if dsl else None
        self.client.views_publish(user_id=user, view=self.blocks.home(
            open_sessions=open_sessions, mine=mine, awaiting=awaiting,
            my_follow_ups=self.app.follow_ups_for(user, is_dsl=dsl),
            overdue=self.app.overdue_follow_ups() if dsl else None,
            today=self.app.schedule.day.today(self.app.clock())))
