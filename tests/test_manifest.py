"""The Slack app manifest is valid and asks for no more than Jigsaw uses.

A school's Slack admin approves the scopes listed here; each one is access to
staff conversations, so the set is pinned exactly, not just validated.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MANIFEST = PROJECT_ROOT / "app.yaml"
# CI runs in a clean clone with a copy of shared/ beside the project.
SCHEMA = PROJECT_ROOT.parent / "shared" / "reference" / "slack-app-manifest.schema.json"

EXPECTED_BOT_SCOPES = {
    "chat:write",
    "commands",
    "im:history",
    "files:write",
    "im:write",
    "groups:read",
    "groups:history",
    "users:read",  # whose workspace a DSL channel member belongs to
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    with MANIFEST.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "app.yaml must hold a YAML mapping"
    return data


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not SCHEMA.is_file():
        message = (f"Slack manifest schema not found at {SCHEMA}. It lives in the shared/ "
                   "directory that sits beside the project root (shared/reference/"
                   "slack-app-manifest.schema.json); copy or check it out there.")
        if os.environ.get("CI"):
            pytest.fail(message)  # CI always has shared/ beside the clone
        pytest.skip(message + " Skipped outside CI: a user's clone has no shared/.")
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def test_manifest_is_valid_against_slack_schema(manifest: dict[str, Any],
                                                schema: dict[str, Any]) -> None:
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator_cls.check_schema(schema)
    errors = sorted(validator_cls(schema).iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors
    )


def test_display_information(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert info["name"] == "Jigsaw"
    assert 0 < len(info["description"]) <= 140
    # The schema states this pattern under a non-validating "regex" key.
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", info["background_color"])


def test_bot_scopes_are_exactly_what_the_app_uses(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "Jigsaw needs no user token scopes"
    bot = scopes["bot"]
    assert len(bot) == len(set(bot)), "duplicate scopes"
    assert set(bot) == EXPECTED_BOT_SCOPES


def test_slash_command_is_infoshare(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/infoshare"]
    command = commands[0]
    assert command["description"].strip()
    assert command["usage_hint"].strip()
    assert "url" not in command, "Socket Mode delivers commands; no request URL"


def test_socket_mode_and_events(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert "request_url" not in settings["interactivity"]
    events = settings["event_subscriptions"]
    assert set(events["bot_events"]) == {"app_home_opened", "message.im"}
    assert "request_url" not in events
    assert "user_events" not in events
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_app_home_and_bot_user(manifest: dict[str, Any]) -> None:
    features = manifest["features"]
    assert features["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }
    assert features["bot_user"] == {"display_name": "jigsaw", "always_online": True}


def test_events_have_the_scopes_they_need(manifest: dict[str, Any]) -> None:
    """Slack refuses a manifest whose bot events lack their scope."""
    needs = {"message.im": "im:history", "app_home_opened": None}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        scope = needs[event]
        assert scope is None or scope in scopes, f"{event} needs {scope}"
    assert "commands" in scopes, "slash commands need the commands scope"


def test_schema_check_bites(manifest: dict[str, Any], schema: dict[str, Any]) -> None:
    """Guard against a vacuous pass: a typo'd key must be rejected."""
    broken = {**manifest, "settings": {**manifest["settings"], "socket_mode": True}}
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    assert list(validator_cls(schema).iter_errors(broken))
