"""Every inbound request's token is checked as in production: signed by a
key from the (fake) Bot Framework's OpenID metadata, for this app, not
expired, for the activity's service URL. Anything else is 401 and changes
nothing."""

from __future__ import annotations

import pytest

from tests.harness.faketeams import new_key
from tests.harness.teams import Harness
from tests.harness.teams_driver import STAFF


def _state(teams: Harness) -> tuple[int, int, int]:
    return (len(teams.fake.posts), len(teams.jigsaw.store.all_sessions()),
            len(teams.jigsaw.store.list_records()))


@pytest.mark.parametrize("kind", ["forged", "expired", "wrong_audience", "wrong_issuer",
                                  "other_service_url", "unknown_kid", "missing", "garbage"])
def test_bad_tokens_are_refused_and_change_nothing(teams: Harness, kind: str) -> None:
    fake = teams.fake
    token = {
        "forged": lambda: fake.token(key=new_key()),
        "expired": lambda: fake.token(expires_in=-3600),
        "wrong_audience": lambda: fake.token(audience="some-other-bot"),
        "wrong_issuer": lambda: fake.token(issuer="https://evil.example"),
        "other_service_url": lambda: fake.token(service_url="https://evil.example/"),
        "unknown_kid": lambda: fake.token(key=new_key(), kid="other-key"),
        "missing": lambda: "",
        "garbage": lambda: "not-a-jwt",
    }[kind]()
    before = _state(teams)
    activity = teams.client.message_activity(STAFF, "hello")
    reply = teams.client.send(activity, auth=f"Bearer {token}" if token else "")
    teams.idle()
    assert reply.status == 401
    assert _state(teams) == before
    # The same activity with a good token is then handled.
    assert teams.client.send(activity).status == 200
    teams.idle()
    assert len(teams.chat(STAFF)) == 2  # the intro and the first question


def test_the_bot_authenticates_its_own_calls(teams: Harness) -> None:
    teams.say(STAFF, "hello")
    assert teams.fake.calls and not teams.fake.refused


def test_another_tenant_is_ignored(teams: Harness) -> None:
    activity = teams.client.message_activity(STAFF, "hello")
    activity["conversation"]["tenantId"] = "another-school"
    teams.send(activity)
    assert _state(teams) == (0, 0, 0)
