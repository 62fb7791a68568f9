"""The Teams app package: ``teams/manifest.json`` and the zip that
``jigsaw teams package`` builds are valid against Microsoft's own schema for
their ``manifestVersion``, from the npm package ``@microsoft/app-manifest``
pinned in ``teams/package.json`` (installed by ``npm ci --prefix teams``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft4Validator, Draft6Validator
from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEAMS = PROJECT_ROOT / "teams"
TEMPLATE = TEAMS / "manifest.json"
NPM_PACKAGE = "@microsoft/app-manifest"
INSTALLED = TEAMS / "node_modules" / NPM_PACKAGE
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
CLIENT_ID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
# The Teams schemas are draft-04 but use draft-06's ``const`` (for
# manifestVersion), which Microsoft's validator honours: so do we.
Validator = jsonschema.validators.extend(
    Draft4Validator, {"const": Draft6Validator.VALIDATORS["const"]})


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    data = read_json(TEMPLATE)
    assert isinstance(data, dict)
    return data


def pinned_version() -> str:
    return str(read_json(TEAMS / "package.json")["devDependencies"][NPM_PACKAGE])


@pytest.fixture(scope="module")
def schema(template: dict[str, Any]) -> dict[str, Any]:
    version = template["manifestVersion"]
    path = (INSTALLED / "build" / "json-schemas" / "teams" / f"v{version}"
            / "MicrosoftTeams.schema.json")
    if not path.is_file():
        message = (f"Microsoft's Teams manifest schema v{version} not found at {path}. It "
                   f"comes from the npm package {NPM_PACKAGE} {pinned_version()}: install "
                   "it with `npm ci --prefix teams` (needs Node.js and npm), as the README's "
                   "test command does when npm is there.")
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it; a missing schema there is a failure
        pytest.skip(message + " Skipped outside CI.")
    installed = read_json(INSTALLED / "package.json")["version"]
    assert installed == pinned_version(), (
        f"{NPM_PACKAGE} {installed} is installed but teams/package.json pins "
        f"{pinned_version()}: run `npm ci --prefix teams`")
    data = read_json(path)
    # Checked against the draft-04 metaschema, but without its "regex" format:
    # one pattern (extension function names, which Jigsaw has none of) uses
    # JavaScript's \p{L}, which Python's re does not know.
    Draft4Validator(Draft4Validator.META_SCHEMA).validate(data)
    return data


def problems(schema: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    validator = Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))]


def run_package(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``jigsaw teams package`` as a person runs it, in an empty directory."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("CLIENT_ID", "CLIENT_SECRET", "TENANT_ID", "JIGSAW_TEAMS_DOMAIN",
                         "JIGSAW_CONFIG", "DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS")}
    return subprocess.run([sys.executable, "-m", "bot", "teams", "package", *args],
                          cwd=tmp_path, env={**base, **env}, capture_output=True, text=True,
                          timeout=60)


def test_the_npm_package_is_pinned_exactly() -> None:
    pin = pinned_version()
    assert pin[0].isdigit() and all(part.isdigit() for part in pin.split(".")), pin
    lock = read_json(TEAMS / "package-lock.json")
    assert lock["packages"][f"node_modules/{NPM_PACKAGE}"]["version"] == pin
    ignored = (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "teams/node_modules/" in ignored


def test_template_is_valid_against_microsofts_schema(template: dict[str, Any],
                                                     schema: dict[str, Any]) -> None:
    assert not problems(schema, template), "\n".join(problems(schema, template))
    assert template["$schema"].endswith(f"/v{template['manifestVersion']}/"
                                        "MicrosoftTeams.schema.json")


def test_schema_check_bites(template: dict[str, Any], schema: dict[str, Any]) -> None:
    """Guard against a vacuous pass: each of these must be refused."""
    bot = template["bots"][0]
    broken = [
        {**template, "bot": template["bots"]},  # a typo'd key
        {**template, "manifestVersion": "1.13"},  # not the schema's version
        {**template, "bots": [{**bot, "botId": "jigsaw"}]},  # not a GUID
        {**template, "bots": [{**bot, "scopes": ["channel"]}]},  # no such scope
        {**template, "accentColor": "green"},
    ]
    for manifest in broken:
        assert problems(schema, manifest), manifest


def test_template_is_the_bot_in_personal_and_team_scopes(template: dict[str, Any]) -> None:
    major, minor = (int(p) for p in template["manifestVersion"].split("."))
    assert (major, minor) >= (1, 19)
    [bot] = template["bots"]
    assert set(bot["scopes"]) == {"personal", "team"}
    assert bot["supportsFiles"] is True  # PDFs are sent to the DSL in their personal chat
    assert bot["isNotificationOnly"] is False
    assert bot["botId"] == template["id"] == template["webApplicationInfo"]["id"] == PLACEHOLDER
    assert template["validDomains"]
    # Nothing the bot does needs more than reading its own channel's posts
    # (the outbox's look before re-posting) and what the channel and its team
    # are (the channel guard: private, not shared, the team not public).
    assert template["authorization"]["permissions"]["resourceSpecific"] == [
        {"name": "ChannelMessage.Read.Group", "type": "Application"},
        {"name": "ChannelSettings.Read.Group", "type": "Application"},
        {"name": "TeamSettings.Read.Group", "type": "Application"}]
    assert "staticTabs" not in template
    # One message action, on any message: Report a concern to the DSL.
    [extension] = template["composeExtensions"]
    assert extension["botId"] == PLACEHOLDER
    [command] = extension["commands"]
    assert command["type"] == "action" and command["context"] == ["message"]
    assert command["id"] == "reportConcern" and command["fetchTask"] is True


def test_icons_are_the_sizes_teams_asks_for(template: dict[str, Any]) -> None:
    with Image.open(TEAMS / template["icons"]["color"]) as color:
        assert color.format == "PNG" and color.size == (192, 192)
    with Image.open(TEAMS / template["icons"]["outline"]) as outline:
        assert outline.format == "PNG" and outline.size == (32, 32)
        rgba = outline.convert("RGBA")
        pixels = [rgba.getpixel((x, y)) for x in range(32) for y in range(32)]
    # White on transparent: every visible pixel is white, and some are clear.
    assert all(p[:3] == (255, 255, 255) for p in pixels if p[3] > 0)
    assert any(p[3] == 0 for p in pixels) and any(p[3] == 255 for p in pixels)


def test_package_fills_in_the_school_and_is_valid(tmp_path: Path, schema: dict[str, Any]
                                                  ) -> None:
    (tmp_path / "jigsaw.toml").write_text('[school]\nname = "Hillside Primary School"\n',
                                          encoding="utf-8")
    result = run_package(tmp_path, "--out", "hillside.zip", CLIENT_ID=CLIENT_ID,
                         JIGSAW_TEAMS_DOMAIN="https://jigsaw.hillside.example.sch.uk/api/messages")
    assert result.returncode == 0, result.stderr
    assert "hillside.zip" in result.stdout
    with zipfile.ZipFile(tmp_path / "hillside.zip") as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        for icon in ("color.png", "outline.png"):
            assert package.read(icon) == (TEAMS / icon).read_bytes()
    assert not problems(schema, manifest), "\n".join(problems(schema, manifest))
    assert manifest["id"] == manifest["bots"][0]["botId"] == CLIENT_ID
    assert manifest["webApplicationInfo"]["id"] == CLIENT_ID
    assert manifest["validDomains"] == ["jigsaw.hillside.example.sch.uk"]
    assert manifest["developer"]["name"] == "Hillside Primary School"
    assert manifest["developer"]["websiteUrl"] == "https://jigsaw.hillside.example.sch.uk/"
    assert PLACEHOLDER not in json.dumps(manifest)
    assert manifest["version"].count(".") == 2


def test_domain_option_overrides_the_setting(tmp_path: Path) -> None:
    result = run_package(tmp_path, "--domain", "bot.school.example", "--domain",
                         "*.school.example", CLIENT_ID=CLIENT_ID,
                         JIGSAW_TEAMS_DOMAIN="other.example")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "jigsaw-teams.zip") as package:
        manifest = json.loads(package.read("manifest.json"))
    assert manifest["validDomains"] == ["bot.school.example", "*.school.example"]
    assert manifest["developer"]["name"] == "Jigsaw"  # no school name set


@pytest.mark.parametrize(("env", "says"), [
    ({"JIGSAW_TEAMS_DOMAIN": "jigsaw.school.example"}, "CLIENT_ID is not set"),
    ({"CLIENT_ID": "jigsaw-bot", "JIGSAW_TEAMS_DOMAIN": "jigsaw.school.example"},
     "not an Entra application (client) id"),
    ({"CLIENT_ID": CLIENT_ID}, "JIGSAW_TEAMS_DOMAIN"),
    ({"CLIENT_ID": CLIENT_ID, "JIGSAW_TEAMS_DOMAIN": "http://jigsaw.school.example"},
     "https"),
    ({"CLIENT_ID": CLIENT_ID, "JIGSAW_TEAMS_DOMAIN": "jigsaw school"}, "not a host name"),
])
def test_package_is_refused_clearly(tmp_path: Path, env: dict[str, str], says: str) -> None:
    result = run_package(tmp_path, "--out", "x.zip", **env)
    assert result.returncode == 2
    assert says in result.stderr
    assert list(tmp_path.iterdir()) == [], "nothing written"
