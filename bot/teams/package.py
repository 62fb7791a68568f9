"""``jigsaw teams package``: the zip a Teams admin uploads.

The template ``teams/manifest.json`` holds placeholder ids; the package gets
the Entra app's client id (which is also the bot's id) and the host the bot
is served from, both from :mod:`bot.config`. No SDK or network here.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# The template and icons live beside the code in a clone (or editable install).
TEAMS_DIR = Path(__file__).resolve().parents[2] / "teams"
ICONS = ("color.png", "outline.png")
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# A DNS host name: labels of letters, digits and hyphens (a leading *. allowed).
HOST = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class PackageError(ValueError):
    """The package cannot be built from these settings; the message says why."""


@dataclass(frozen=True)
class Package:
    path: Path
    manifest: dict[str, Any]


def host_of(value: str) -> str:
    """``jigsaw.school.example`` from a host name or an ``https://`` URL."""
    text = value.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme != "https":
            raise PackageError(f"{value!r}: Teams only talks to https:// hosts")
        text = parts.hostname or ""
    host = text.lower().rstrip(".")
    if not HOST.fullmatch(host):
        raise PackageError(f"{value!r} is not a host name (e.g. jigsaw.school.example)")
    return host


def app_version() -> str:
    """The installed Jigsaw version (a Teams manifest version must be x.y.z)."""
    try:
        version = metadata.version("jigsaw")
    except metadata.PackageNotFoundError:
        version = "0.1.0"
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
    return ".".join(match.groups()) if match else "0.1.0"


def manifest_for(template: dict[str, Any], *, client_id: str, domains: list[str],
                 school_name: str = "") -> dict[str, Any]:
    """The template with this school's ids and hosts filled in."""
    if not client_id:
        raise PackageError("CLIENT_ID is not set: it is the Entra app registration's "
                           "application (client) id, which is also the bot's id. Set it "
                           "and run jigsaw teams package again.")
    if not GUID.fullmatch(client_id):
        raise PackageError(f"CLIENT_ID {client_id!r} is not an Entra application (client) id "
                           "(a GUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427)")
    if not domains:
        raise PackageError("no host for the bot: set JIGSAW_TEAMS_DOMAIN (the host of the "
                           "messaging endpoint, e.g. jigsaw.school.example) or pass --domain")
    hosts = list(dict.fromkeys(host_of(d) for d in domains))
    manifest: dict[str, Any] = json.loads(json.dumps(template))  # a deep copy
    manifest["id"] = client_id
    manifest["version"] = app_version()
    manifest["bots"][0]["botId"] = client_id
    for extension in manifest.get("composeExtensions") or []:
        extension["botId"] = client_id
    manifest["webApplicationInfo"]["id"] = client_id
    manifest["validDomains"] = hosts
    site = f"https://{hosts[0].removeprefix('*.')}/"
    developer = manifest["developer"]
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        developer[key] = site
    if school_name.strip():
        developer["name"] = school_name.strip()[:32]  # the schema's limit
    return manifest


def build(out: str | Path, *, client_id: str, domains: list[str], school_name: str = "",
          source: Path = TEAMS_DIR) -> Package:
    """Write the app package (manifest and icons at the zip's root) to ``out``."""
    template_path = source / "manifest.json"
    if not template_path.is_file():
        raise PackageError(f"{template_path} not found: run this from a clone of Jigsaw "
                           "(the teams/ directory holds the manifest and icons)")
    template = json.loads(template_path.read_text(encoding="utf-8"))
    manifest = manifest_for(template, client_id=client_id, domains=domains,
                            school_name=school_name)
    path = Path(out)
    if path.is_dir():
        raise PackageError(f"{path} is a directory; give a file name such as jigsaw-teams.zip")
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for icon in ICONS:
            package.write(source / icon, icon)
    partial.replace(path)  # never a half-written package under the real name
    return Package(path, manifest)
