"""``jigsaw pack`` and ``jigsaw doctor``: the DPO's documents say what is true
of the installation they were made for, and change when it changes."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from bot import doctor
from bot.__main__ import main
from bot.config import Environment, load_settings, settings_tables
from bot.installation import facts
from storage import generate_audit_key, generate_key
from tests.harness.fakeslack import FakeSlack

# Every variable bot.config reads, cleared so the machine's own cannot leak in.
VARIABLES = ("JIGSAW_CONFIG", "JIGSAW_DATA_DIR", "JIGSAW_DATA_KEY", "JIGSAW_AUDIT_KEY",
             "JIGSAW_AUDIT_KEY_FILE", "JIGSAW_DSL_CHANNEL", "JIGSAW_DSL_USERS",
             "JIGSAW_DEPUTY_USERS", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
             "SLACK_APP_TOKEN", "SLACK_API_URL", "JIGSAW_SCHOOL", "JIGSAW_SLACK_CLIENT_ID",
             "JIGSAW_SLACK_CLIENT_SECRET", "JIGSAW_DATABASE_URL", "CLIENT_ID", "CLIENT_SECRET",
             "TENANT_ID", "JIGSAW_TEAMS_CHANNEL", "JIGSAW_TEAMS_TEAM", "SERVICE_URL",
             "JIGSAW_TEAMS_CONNECTOR_URL", "DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS",
             "JIGSAW_SLACK_TIMEOUT")

# A restore tested a month ago, whenever the tests run (the doctor asks Slack's clock).
ENGLISH = """
[school]
name = "Hillside Primary School"
nation = "england"
type = "maintained"
[contacts.dsl]
name = "Ms A. Khan"
[contacts.dpo]
name = "Jo Smith"
email = "dpo@exampleshire.example"
[data_protection]
hosting = "the school's own server, run by the school's IT technician"
complaints = "the form at hillside.example.sch.uk/data-complaints"
[backups]
location = "nightly to the council's backup service"
restore_tested = {tested}
[slack]
dsl_channel = "CDSL"
""".replace("{tested}", (date.today() - timedelta(days=30)).isoformat())

WELSH = """
[school]
name = "Ysgol Bryn"
nation = "wales"
type = "maintained"
[records]
retention_years = 15
[data_protection]
hosting = "Bryn Schools Trust IT, Azure UK South"
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def english(env: pytest.MonkeyPatch, tmp_path: Path, *, extra: str = "") -> Path:
    config = tmp_path / "english.toml"
    config.write_text(ENGLISH + extra, encoding="utf-8")
    env.setenv("JIGSAW_DATA_DIR", str(tmp_path / "data"))
    env.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    env.setenv("SLACK_APP_TOKEN", "xapp-test")
    return config


def welsh(env: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    config = tmp_path / "welsh.toml"
    config.write_text(WELSH, encoding="utf-8")
    env.setenv("JIGSAW_DATABASE_URL", "postgresql://jigsaw@db.trust.example:5432/jigsaw")
    env.setenv("JIGSAW_SCHOOL", "bryn")
    env.setenv("CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    env.setenv("CLIENT_SECRET", "secret")
    env.setenv("TENANT_ID", "tenant")
    env.setenv("JIGSAW_TEAMS_CHANNEL", "19:abc@thread.tacv2")
    env.setenv("JIGSAW_DATA_KEY", generate_key())
    env.setenv("JIGSAW_AUDIT_KEY", generate_audit_key())
    return config


def pack(config: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main(["--config", str(config), "pack", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "risk(s)" in printed
    return {p.stem: p.read_text(encoding="utf-8") for p in out.glob("*.md")}


def pdf_text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(str(path)).pages).split())


def flat(text: str) -> str:
    return " ".join(text.replace("*", "").replace("`", "").split())


def test_an_english_slack_school_and_a_welsh_teams_trust_get_different_packs(
        clean_env: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    eng = pack(english(clean_env, tmp_path), tmp_path / "eng", capsys)
    for name in VARIABLES:
        clean_env.delenv(name, raising=False)
    wal = pack(welsh(clean_env, tmp_path), tmp_path / "wal", capsys)
    names = {"dpia", "article30-record", "appropriate-policy-document", "security-measures",
             "staff-privacy-notice"}
    assert set(eng) == set(wal) == names
    for out in ("eng", "wal"):
        assert (tmp_path / out / "data-flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert {p.stem for p in (tmp_path / out).glob("*.pdf")} == names

    # The front end: who else can read, and the processors.
    assert "workspace owners and admins can export" in eng["security-measures"]
    assert "eDiscovery" not in eng["security-measures"]
    assert "eDiscovery" in wal["security-measures"]
    assert "Azure AI Bot Service" in wal["dpia"] and "Azure AI Bot Service" not in eng["dpia"]
    assert "Slack (Slack Technologies" in eng["article30-record"]
    # The store, and where it is.
    assert f"files in {tmp_path / 'data'}" in eng["dpia"]
    assert "PostgreSQL database at db.trust.example:5432 (database jigsaw, school bryn)" in (
        wal["dpia"])
    # Encryption at rest only where a data key is set.
    assert "Records are not encrypted at rest" in eng["dpia"]
    assert "Encrypted at rest by Jigsaw" in wal["security-measures"]
    assert "Encrypted at rest by Jigsaw" not in eng["security-measures"]
    assert "records.child_ref, records.decision" in wal["security-measures"]  # PG's plain columns
    # The nation: its words and the guidance it cites.
    assert "Keeping children safe in education" in eng["dpia"]
    assert "Keeping learners safe" in wal["dpia"] and "Keeping children" not in wal["dpia"]
    assert "DSP team" in wal["security-measures"]
    # Settings the Welsh school left out are risks with their fix.
    assert "No route for data protection complaints" in wal["staff-privacy-notice"] or (
        "not set: the school must give a route" in wal["staff-privacy-notice"])
    assert "No data protection officer is named" in wal["dpia"]
    assert "not required to be encrypted" in wal["security-measures"]
    assert "the form at hillside.example.sch.uk/data-complaints" in eng["staff-privacy-notice"]
    # Retention against the toolkit: 25 years from the record is longer than
    # date of birth + 25 for every pupil; 15 is longer for some, shorter for others.
    assert "longer than the toolkit's period" in eng["appropriate-policy-document"]
    assert "can come up for deletion before the toolkit's period" in (
        wal["appropriate-policy-document"])
    # Each fact on its own line, nested where it belongs (the PDF sets them so).
    assert "\n- Where the data is:\n  - The record of truth: files in" in eng["dpia"]
    assert "- Integrity and confidentiality:\n  - Encrypted at rest by Jigsaw" in (
        wal["appropriate-policy-document"])
    assert "Schedule 1, Part 2, para 5" in wal["appropriate-policy-document"]
    # Citations say whether they were confirmed.
    assert "*(unconfirmed" in eng["dpia"]
    assert "s.164A" in eng["staff-privacy-notice"]
    # The PDFs say the same.
    assert "Keeping learners safe" in pdf_text(tmp_path / "wal" / "dpia.pdf")
    assert "Records are not encrypted at rest" in pdf_text(tmp_path / "eng" / "dpia.pdf")
    assert flat("Microsoft 365 administrators with eDiscovery") in pdf_text(
        tmp_path / "wal" / "security-measures.pdf")


def test_a_changed_setting_changes_the_documents(
        clean_env: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = english(clean_env, tmp_path)
    before = pack(config, tmp_path / "before", capsys)
    assert "Records are not encrypted at rest" in before["dpia"]
    assert "No audit key is set" in before["security-measures"]

    clean_env.setenv("JIGSAW_DATA_KEY", generate_key())
    inside = tmp_path / "data" / "audit.key"
    inside.parent.mkdir()
    inside.write_text(generate_audit_key(), encoding="utf-8")
    clean_env.setenv("JIGSAW_AUDIT_KEY_FILE", str(inside))
    after = pack(config, tmp_path / "after", capsys)
    assert "Records are not encrypted at rest" not in after["dpia"]
    assert "Encrypted at rest by Jigsaw" in after["security-measures"]
    assert f"The audit key file {inside} is inside the data directory" in after["dpia"]
    assert "Not sealed as it stands" in after["security-measures"]

    outside = tmp_path / "keys" / "audit.key"
    outside.parent.mkdir()
    outside.write_text(generate_audit_key(), encoding="utf-8")
    outside.chmod(0o600)
    clean_env.setenv("JIGSAW_AUDIT_KEY_FILE", str(outside))
    config.write_text(ENGLISH.replace('[slack]', '[records]\nretention_years = 21\n[slack]'),
                      encoding="utf-8")
    fixed = pack(config, tmp_path / "fixed", capsys)
    assert "inside the data directory" not in fixed["dpia"]
    assert f"read from {outside}, outside the data directory" in fixed["security-measures"]
    assert "longer than the toolkit's period" not in fixed["appropriate-policy-document"]
    assert "21 years from each record's date" in fixed["article30-record"]


def installation(tmp_path: Path, text: str, today: date, **env: str) -> Any:
    config = tmp_path / "jigsaw.toml"
    config.write_text(text, encoding="utf-8")
    environment = Environment.read({"JIGSAW_DATA_DIR": str(tmp_path / "data"), **env})
    settings = load_settings(config, environment)
    return facts(settings, environment, today=today,
                 settings_tables=settings_tables(config, environment), machine="host")


@pytest.mark.parametrize(("years", "risk", "severity"), [
    (30, "retention_longer", "medium"), (22, "retention_longer", "medium"),
    (21, "retention_by_age", "low"), (7, "retention_by_age", "low"),
    (6, "retention_shorter", "high")])
def test_retention_is_compared_with_the_toolkit_at_both_ends_of_school_age(
        tmp_path: Path, years: int, risk: str, severity: str) -> None:
    f = installation(tmp_path, f"[records]\nretention_years = {years}\n", date(2026, 12, 7))
    found = {x.key: x for x in f.risks}
    assert risk in found and found[risk].severity == severity
    assert "retention_set" not in found  # the school set it


def test_no_retention_guidance_is_claimed_where_none_was_found(tmp_path: Path) -> None:
    f = installation(tmp_path, '[school]\nnation = "scotland"\n', date(2026, 12, 7))
    assert {x.key for x in f.risks} >= {"retention_unsourced", "retention_set"}
    assert f.retention.guidance is None


def test_the_complaints_route_is_a_duty_from_19_june_2026(tmp_path: Path) -> None:
    before = installation(tmp_path, "", date(2026, 6, 18))
    after = installation(tmp_path, "", date(2026, 6, 19))
    assert [x.severity for x in before.risks if x.key == "complaints"] == ["low"]
    assert [x.severity for x in after.risks if x.key == "complaints"] == ["medium"]


def test_independent_schools_get_their_own_lawful_basis(
        clean_env: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = english(clean_env, tmp_path)
    config.write_text(ENGLISH.replace('type = "maintained"', 'type = "independent"'),
                      encoding="utf-8")
    docs = pack(config, tmp_path / "out", capsys)
    assert "Art. 6(1)(ea)" in docs["article30-record"]
    assert "Public task" not in docs["article30-record"]


def run_doctor(tmp_path: Path, text: str, now: datetime, **env: str) -> tuple[int, str]:
    config = tmp_path / "jigsaw.toml"
    config.write_text(text, encoding="utf-8")
    environment = Environment.read({"JIGSAW_DATA_DIR": str(tmp_path / "data"), **env})
    settings = load_settings(config, environment)
    f = facts(settings, environment, today=now.date(),
              settings_tables=settings_tables(config, environment), machine="host")
    out = io.StringIO()
    code = doctor.run(f, settings, environment, out, now=lambda: now)
    return code, out.getvalue()


def test_doctor_asks_slack_whether_the_channel_is_private_and_checks_the_clock(
        tmp_path: Path, fake: FakeSlack) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "audit.key").write_text(generate_audit_key(), encoding="utf-8")
    (keys / "audit.key").chmod(0o400)
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test",
           "SLACK_API_URL": fake.base_url, "JIGSAW_DSL_CHANNEL": "CDSL",
           "JIGSAW_DATA_KEY": generate_key(), "JIGSAW_AUDIT_KEY_FILE": str(keys / "audit.key"),
           "JIGSAW_DEPUTY_USERS": "UDEP"}
    now = datetime.now(UTC)
    code, out = run_doctor(tmp_path, ENGLISH + "[records]\nretention_years = 20\n", now, **env)
    assert code == 0, out
    assert "ok    The DSL team channel CDSL is private to the school and the bot is in it." in out
    assert "ok    This machine's clock agrees with Slack's." in out
    assert "ok    Records are encrypted at rest" in out
    assert "0 to fix" in out

    fake.share("CDSL", public=True)
    code, out = run_doctor(tmp_path, ENGLISH, now + timedelta(minutes=10), **env)
    assert code == 1
    assert "FIX   The DSL team channel is not safe to post to: DSL channel CDSL is not a " \
           "private channel." in out
    assert "from Slack's clock" in out
    assert "-> Turn on time synchronisation" in out


def test_doctor_opens_the_store_with_the_keys_it_is_given(tmp_path: Path) -> None:
    from storage import TinyDBStore

    key = generate_key()
    TinyDBStore(tmp_path / "data", key=key.encode("ascii")).close()  # a store made with a key
    code, out = run_doctor(tmp_path, "", datetime.now(UTC))
    assert code == 1
    assert "The store does not open with these settings" in out
    assert "set JIGSAW_DATA_KEY" in out
    assert "Records are not encrypted at rest" in out

    code, out = run_doctor(tmp_path, "", datetime.now(UTC), JIGSAW_DATA_KEY=key)
    assert "ok    The store opens with these keys: 0 record(s)." in out


def test_doctor_on_postgresql_names_a_school_missing_from_the_database(tmp_path: Path) -> None:
    from storage.postgres import Database
    from tests.harness.pg import fresh_schema

    with fresh_schema() as url:
        code, out = run_doctor(tmp_path, "", datetime.now(UTC), JIGSAW_DATABASE_URL=url,
                               JIGSAW_SCHOOL="bryn")
        assert code == 1 and "no school 'bryn' in the database" in out
        db = Database(url)
        try:
            db.add_school("bryn", name="Ysgol Bryn")
        finally:
            db.close()
        code, out = run_doctor(tmp_path, "", datetime.now(UTC), JIGSAW_DATABASE_URL=url,
                               JIGSAW_SCHOOL="bryn")
        assert "ok    The store opens with these keys: 0 record(s)." in out
        assert "The database is reached on this machine" in out


def test_doctor_says_when_slack_cannot_be_asked_rather_than_blaming_the_channel(
        clean_env: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    with FakeSlack() as gone:
        url = gone.base_url  # nothing listens there once it has stopped
    config = english(clean_env, tmp_path)
    clean_env.setenv("SLACK_API_URL", url)
    clean_env.setenv("JIGSAW_SLACK_TIMEOUT", "2")
    assert main(["--config", str(config), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "FIX   Slack could not be asked about the DSL team channel: cannot check DSL " \
           "channel CDSL now" in out
    assert "not safe to post to" not in out
    assert "ok    Nothing to check this machine's clock against" in out


@pytest.mark.parametrize("nation", ["england", "wales", "scotland", "northern_ireland"])
@pytest.mark.parametrize(("front", "env"), [
    ("terminal", {}),
    ("slack", {"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": "s"}),
    ("teams", {"CLIENT_ID": "c", "CLIENT_SECRET": "s",
               "JIGSAW_DATABASE_URL": "postgresql://j@db.example/j?sslmode=verify-full"})])
def test_every_nation_and_front_end_gets_a_whole_pack(
        tmp_path: Path, nation: str, front: str, env: dict[str, str]) -> None:
    from bot import dpo_pack

    f = installation(tmp_path, f'[school]\nnation = "{nation}"\n', date(2026, 12, 7), **env)
    assert f.front_end == front
    settings = load_settings(tmp_path / "jigsaw.toml", Environment.read(
        {"JIGSAW_DATA_DIR": str(tmp_path / "data"), **env}))
    docs = {name: dpo_pack.render(name, f, settings) for name in dpo_pack.DOCUMENTS}
    lead = settings.pack.term("lead")
    assert all(lead in text for name, text in docs.items() if name != "staff-privacy-notice")
    for citation in f.guidance:
        assert citation.title in docs["dpia"]
    chat_admins = {"terminal": "own administrators", "slack": "Slack's own administrators",
                   "teams": "Microsoft 365's own administrators"}[front]
    assert (chat_admins in docs["security-measures"]) == (front != "terminal")
    assert ("No national retention guidance" in docs["dpia"]) == (nation in ("scotland",
                                                                     "northern_ireland"))


def test_a_data_key_that_is_not_a_key_is_a_risk_not_a_crash(tmp_path: Path) -> None:
    f = installation(tmp_path, "", date(2026, 12, 7), JIGSAW_DATA_KEY="not-a-key")
    assert "data_key_invalid" in {x.key for x in f.risks}
    assert not any(x.key == "data_key" for x in f.findings)
    assert not f.encrypted


def teams_env(fake: Any, **more: str) -> dict[str, str]:
    from tests.harness.teams_driver import CHANNEL, TEAM

    return {"CLIENT_ID": fake.app_id, "CLIENT_SECRET": fake.secret, "TENANT_ID": fake.tenant,
            "JIGSAW_TEAMS_CHANNEL": CHANNEL, "JIGSAW_TEAMS_TEAM": TEAM,
            "JIGSAW_TEAMS_CONNECTOR_URL": fake.base_url, **more}


def test_doctor_asks_microsoft_graph_whether_the_teams_channel_is_private(
        tmp_path: Path) -> None:
    from tests.harness.faketeams import FakeTeams
    from tests.harness.teams_driver import CHANNEL

    with FakeTeams() as fake:
        fake.members[CHANNEL] = [{"id": "29:dsl", "aadObjectId": "dsl", "name": "Dana DSL"}]
        fake.channels[CHANNEL] = "private"
        code, out = run_doctor(tmp_path, WELSH, datetime.now(UTC), **teams_env(fake))
        assert f"ok    The DSP team channel {CHANNEL} is private to the school" in out
        assert "does not yet ask Microsoft Graph" not in out
        assert "ok    This machine's clock agrees with Microsoft's." in out
        code, out = run_doctor(tmp_path, WELSH, datetime.now(UTC) + timedelta(minutes=10),
                               **teams_env(fake))
        assert code == 1 and "from Microsoft's clock" in out

        fake.channels[CHANNEL] = "shared"
        code, out = run_doctor(tmp_path, WELSH, datetime.now(UTC), **teams_env(fake))
        assert code == 1
        assert f"FIX   The DSP team channel is not safe to post to: DSL channel {CHANNEL}" in out
        assert "-> Use a private channel (or a standard channel of a private team)" in out

        code, out = run_doctor(tmp_path, WELSH, datetime.now(UTC),
                               **teams_env(fake, JIGSAW_TEAMS_CHANNEL="19:wrong@thread.tacv2"))
        assert "was not found (HTTP 404)" in out and "Get link to channel" in out

        fake.members[CHANNEL].append({"id": "29:guest", "aadObjectId": "g", "name": "Visitor",
                                      "userRole": "guest"})
        fake.channels[CHANNEL] = "private"
        code, out = run_doctor(tmp_path, WELSH, datetime.now(UTC), **teams_env(fake))
        assert "has guests (people from outside the school) in it" in out
        url = fake.base_url
    code, out = run_doctor(tmp_path, WELSH, datetime.now(UTC),
                           **teams_env(type("Gone", (), {"app_id": "a", "secret": "s",
                                                         "tenant": "t", "base_url": url})))
    assert "FIX   Microsoft Teams could not be asked about the DSP team channel" in out
    assert "client secrets expire" in out


def test_escalation_to_deputies_is_stated_only_when_deputy_ids_are_set(tmp_path: Path) -> None:
    from bot import dpo_pack

    env = {"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": "s",
           "JIGSAW_DSL_CHANNEL": "CDSL"}
    config = '[schedule]\nescalation_minutes = 10\n'
    without = installation(tmp_path, config, date(2026, 12, 7), **env)
    settings = load_settings(tmp_path / "jigsaw.toml", Environment.read(env))
    dpia = dpo_pack.render("dpia", without, settings)
    assert "deputies" in {x.key for x in without.risks}
    assert "posted again in the channel after 10 minutes unacknowledged; no deputy is " \
           "messaged directly" in dpia
    assert "Slack member ids" in dpia

    with_deputies = installation(tmp_path, config, date(2026, 12, 7),
                                 JIGSAW_DEPUTY_USERS="U1,U2", **env)
    dpia = dpo_pack.render("dpia", with_deputies, settings)
    assert "deputies" not in {x.key for x in with_deputies.risks}
    assert "and sent then to the 2 configured deputy id(s) by direct message" in dpia
