"""The information-sharing decision flow: pure Python, no front end."""

from bot.flow.engine import (
    CANCELLED,
    IN_PROGRESS,
    OPEN_STATUSES,
    PAUSED,
    SUBMITTED,
    Flow,
    Question,
    Result,
    Session,
    Source,
)
from bot.flow.steps import FLOW_VERSION, GUIDANCE_VERSION, STEPS

__all__ = [
    "CANCELLED",
    "FLOW_VERSION",
    "GUIDANCE_VERSION",
    "IN_PROGRESS",
    "OPEN_STATUSES",
    "PAUSED",
    "STEPS",
    "SUBMITTED",
    "Flow",
    "Question",
    "Result",
    "Session",
    "Source",
]
