"""The school's nation, end to end through Slack: staff are asked in the
nation pack's words, the DSL channel post and App Home speak them too, and
the stored record keeps the nation, pack version and guidance cited."""

from __future__ import annotations

import pytest

from bot import nations
from bot import record as records
from bot.config import Settings
from bot.slack.delivery import RECORD_EVENT
from tests import scenarios as sc
from tests.harness.slack import Harness
from tests.harness.slack_driver import DEPUTY, Driver, all_text
from tests.harness.slackreq import app_home_opened

NATIONS = ("england", "wales", "scotland", "northern_ireland")


@pytest.fixture(params=NATIONS)
def settings(request: pytest.FixtureRequest) -> Settings:
    return Settings(school_name="Hillside Primary", dsl_channel="CDSL",
                    dsl_user_ids=("UDSL1",), nation=request.param)


def test_staff_and_the_dsl_see_the_nations_words(slack: Harness) -> None:
    pack = slack.jigsaw.settings.pack
    prompts = slack.jigsaw.prompts
    driver = Driver(slack, DEPUTY)  # the DSL team makes the referral
    driver.start()
    record = driver.run(sc.REFUSED_SIGNIFICANT)
    assert record is not None
    assert (record["nation"], record["pack"]["version"]) == (pack.name, pack.version)
    assert record["destination"] == pack.destination("referral")
    assert {g["id"] for g in record["guidance_cited"]} >= set(pack.cite["always"])

    # The level question offered the nation's levels of concern.
    asked = [q for q in driver.questions() if '"level"' in str(q.args.get("blocks"))]
    assert asked and pack.term("level_significant") in all_text(asked[-1])

    [post] = [c for c in driver.dsl_posts()
              if (c.args.get("metadata") or {}).get("event_type") == RECORD_EVENT]
    text = all_text(post)
    assert prompts.wording(f"destination_{record['destination']}") in text
    # The guidance cited is in the full record, not the phone-sized post.
    assert pack.citation(pack.cite["always"][0]).split(",")[0] in records.render_text(
        record, prompts)
    others = {n for n in nations.available() if n != pack.name}
    for other in others:
        word = nations.pack(other).term("referral_to")
        if word not in pack.term("referral_to"):
            assert word not in text, (other, word)

    # App Home for the DSL team: headed in the nation's words.
    slack.send(app_home_opened("UDSL1"))
    home = slack.fake.home_view("UDSL1")
    assert home is not None
    assert f"Waiting for the {pack.term('lead')}" in all_text(home["blocks"])
