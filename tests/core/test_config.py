"""School settings: the example file, defaults, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Environment, Settings, load_settings
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
    environment = Environment.read({"JIGSAW_DSL_CHANNEL": "CDSL", "JIGSAW_DSL_USERS": "U1, W2",
                                    "JIGSAW_DATA_DIR": str(tmp_path / "d")})
    settings = load_settings(None, environment)
    assert settings.dsl_channel == "CDSL"
    assert settings.dsl_user_ids == ("U1", "W2")
    assert settings.data_dir == str(tmp_path / "d")


def test_environment_is_read_in_one_place_and_keeps_secrets_out_of_repr() -> None:
    environment = Environment.read({
        "SLACK_BOT_TOKEN": "xoxb-secret", "SLACK_SIGNING_SECRET": "signing-secret",
        "JIGSAW_DATA_KEY": "data-secret", "JIGSAW_AUDIT_KEY": "audit-secret",
        "PORT": "8080", "JIGSAW_SLACK_TIMEOUT": "2.5", "JIGSAW_LOG_LEVEL": "debug",
        "JIGSAW_DATABASE_URL": "postgresql://jigsaw:db-secret@db/jigsaw",
        "JIGSAW_SCHOOL": "hillside", "JIGSAW_SLACK_CLIENT_ID": "1.2",
        "JIGSAW_SLACK_CLIENT_SECRET": "client-secret"})
    assert (environment.port, environment.slack_timeout, environment.log_level) == (
        8080, 2.5, "DEBUG")
    assert environment.slack_bot_token == "xoxb-secret"
    assert (environment.school, environment.slack_client_id) == ("hillside", "1.2")
    assert environment.database_url.endswith("@db/jigsaw")
    shown = repr(environment)
    assert not any(s in shown for s in ("xoxb-secret", "signing-secret", "data-secret",
                                        "audit-secret", "db-secret", "client-secret"))
    defaults = Environment.read({})
    assert (defaults.port, defaults.host, defaults.health_port) == (3000, "0.0.0.0", None)
    assert defaults.slack_api_url == "https://slack.com/api/"


@pytest.mark.parametrize(("name", "value"), [("PORT", "http"), ("PORT", "70000"),
                                             ("JIGSAW_HEALTH_PORT", "-1"),
                                             ("JIGSAW_SLACK_TIMEOUT", "soon"),
                                             ("JIGSAW_SLACK_TIMEOUT", "0"),
                                             ("JIGSAW_DATABASE_URL", "mysql://db/jigsaw")])
def test_bad_environment_values_are_clear_errors(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Environment.read({name: value})


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
