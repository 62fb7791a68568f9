"""School settings: the example file, defaults, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.flow import Flow
from tests.conftest import ROOT


def test_example_file_loads_and_templates_use_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIGSAW_DSL_CHANNEL", raising=False)
    settings = load_settings(ROOT / "jigsaw.example.toml")
    assert settings.school_name == "Hillside Primary School"
    assert settings.dsl.phone == "01632 960000 ext 201"
    assert settings.retention_years == 25
    safety = Flow(settings).safety_message()
    assert "01632 960111" in safety and "Ms A. Khan" in safety


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JIGSAW_CONFIG", raising=False)
    assert load_settings().school_name == Settings().school_name


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JIGSAW_DSL_CHANNEL", "CDSL")
    monkeypatch.setenv("JIGSAW_DSL_USERS", "U1, U2")
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path / "d"))
    settings = load_settings()
    assert settings.dsl_channel == "CDSL"
    assert settings.dsl_user_ids == ("U1", "U2")
    assert settings.data_dir == str(tmp_path / "d")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[school]\nnation = "france"', "school.nation"),
        ('[school]\ntype = "free"', "school.type"),
        ("[records]\nretention_years = 0", "retention_years"),
        ('[contacts.dsl]\nmobile = "1"', "unknown contact"),
        ("[school\n", "jigsaw.toml"),
    ],
)
def test_bad_settings_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "jigsaw.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_nation_changes_wording() -> None:
    wales = Flow(Settings(nation="wales"))
    england = Flow(Settings(nation="england"))
    session_w, session_e = wales.start("U"), england.start("U")
    for flow, session in ((wales, session_w), (england, session_e)):
        for answer in ("no", "fgm", "AB", "She told me she was cut.", "disclosed"):
            assert flow.answer(session, answer).accepted
    assert "Education Workforce Council" in wales.question(session_w).text
    assert "Education Workforce Council" not in england.question(session_e).text
