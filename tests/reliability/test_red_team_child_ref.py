"""Red-team finding 9: full names typed as the child reference. Typed in the
DM through the real app over HTTP, against the local fake Slack Web API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, from_mapping
from bot.flow import validate
from tests.harness.fakeslack import FakeSlack
from tests.harness.live import DSL_CHANNEL, STAFF, LiveApp

NAMES = ["john smith", "Jamie McDonald", "Liam O'Neil", "Zoë Brontë", "Smith, John",
         "Jamie", "JOHN SMITH"]
TO_CHILD_REF = ["start", "no", "own_concern"]


def _app(fake: FakeSlack, tmp_path: Path, **settings: str) -> Iterator[LiveApp]:
    app = LiveApp("http", fake, tmp_path / "data", settings=Settings(
        school_name="Hillside Primary", dsl_channel=DSL_CHANNEL, dsl_user_ids=("UDSL1",),
        **settings))
    yield app
    app.close()


@pytest.fixture
def web(fake: FakeSlack, tmp_path: Path) -> Iterator[LiveApp]:
    yield from _app(fake, tmp_path)


@pytest.fixture
def with_ids(fake: FakeSlack, tmp_path: Path) -> Iterator[LiveApp]:
    yield from _app(fake, tmp_path, child_ref_pattern=r"CP-\d{4}")


def _answers(live: LiveApp) -> dict[str, str]:
    session = live.jigsaw.latest_open(STAFF)
    assert session is not None
    return dict(session.answers)


@pytest.mark.parametrize("name", NAMES)
def test_a_full_name_is_asked_about_not_taken_silently(web: LiveApp, name: str) -> None:
    web.answer_all(TO_CHILD_REF)
    web.say(name)
    assert "child_ref" not in _answers(web)
    assert "looks like a full name" in web.dm_said()[-1]
    assert "type it again" in web.dm_said()[-1]
    # Changed to initials: taken, and the flow moves on.
    web.say("JS")
    assert _answers(web)["child_ref"] == "JS"
    # Nothing about the name reached the DSL channel or any log.
    assert not any(name in str(c.args) for c in web.posts_to(DSL_CHANNEL))
    assert not any(name in r.getMessage() for r in web.log.records)


def test_typed_again_it_is_kept_as_confirmed(web: LiveApp) -> None:
    web.answer_all(TO_CHILD_REF)
    web.say("Red Group")  # looks like a name, is the school's group
    assert "child_ref" not in _answers(web)
    web.say("Red Group")
    assert _answers(web)["child_ref"] == "Red Group"


def test_the_schools_own_reference_format_is_a_setting(with_ids: LiveApp) -> None:
    with_ids.answer_all(TO_CHILD_REF)
    with_ids.say("AB-1234")  # not the school's format: asked about
    assert "child_ref" not in _answers(with_ids)
    assert "doesn't look like initials or the school's reference" in with_ids.dm_said()[-1]
    with_ids.say("CP-1234")  # the school's format: taken at once
    assert _answers(with_ids)["child_ref"] == "CP-1234"


def test_initials_and_references_are_taken_at_once() -> None:
    for ref in ("EF", "J.S.", "A B-C", "AB-1234", "QZ"):
        assert validate.child_reference(ref) == ref
    assert validate.child_reference("CP-0001", pattern=r"CP-\d{4}") == "CP-0001"
    for name in NAMES:
        with pytest.raises(validate.InvalidAnswer):
            validate.child_reference(name)


def test_a_bad_pattern_is_refused_at_start_up() -> None:
    assert from_mapping({"records": {"child_ref_pattern": r"CP-\d{4}"}}
                        ).child_ref_pattern == r"CP-\d{4}"
    with pytest.raises(ConfigError, match="child_ref_pattern"):
        from_mapping({"records": {"child_ref_pattern": "CP-("}})
