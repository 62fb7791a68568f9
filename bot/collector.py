"""The garbage collector, set for a long-running app over years of records.

A full collection walks every tracked object that is not frozen, holding the
interpreter the whole time: every request in flight waits. Two things make
that walk long once a store holds years of records:

* the record index, built at start-up: moved into the permanent generation
  (``gc.freeze``), which full collections skip;
* the record blocks the store keeps parsed (up to 8 of 256 records, about
  30,000 objects at 50,000 records, measured at 12 ms a pass on 2 cores):
  they come and go, so they cannot be frozen. Full collections are made
  rarer instead; young collections, which find nearly all garbage, keep
  Python's defaults.
"""

from __future__ import annotations

import gc

from bot.service import DecisionService

# Middle-generation collections between full ones (Python's default is 10).
FULL_EVERY = 1000


def warm_up(jigsaw: DecisionService) -> None:
    """Build the record index now, not on the first click, then freeze what
    is alive and make full collections rare."""
    jigsaw.warm_up()
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_EVERY)
