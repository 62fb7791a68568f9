"""``jigsaw guidance``: per nation, the editions and duties in force on a day,
each dated rule's start and what is unconfirmed; and the README's table of
editions is the packs' own data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import guidance
from bot.__main__ import main


@pytest.fixture
def school(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "jigsaw.toml").write_text(
        '[school]\nname = "Hillside"\nnation = "england"\n'
        '[guidance]\ncommenced = {cwsa_duty_to_share = 2027-04-01}\n', encoding="utf-8")
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def england(out: str) -> str:
    return out.split("\n\n")[0]


def test_guidance_today_in_england_is_kcsie_and_working_together_2026(
        school: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["guidance", "--nation", "england", "--on", "2026-12-07"]) == 0
    out = england(capsys.readouterr().out)
    assert "Keeping children safe in education 2026" in out
    assert "Working together to safeguard children 2026" in out
    in_force = out.split("Rules by date:")[0]
    assert "Keeping children safe in education 2025" not in in_force
    assert "Working together to safeguard children 2023" not in in_force
    # The school set the duty to share starting on 1 April 2027; the other still waits.
    assert "duties.cwsa_duty_to_share: on: from 2027-04-01 (not in force)" in out
    assert "duties.mandatory_reporting: on: waiting for commencement (not in force)" in out
    assert "Unconfirmed (" in out and "guidance.kcsie" in out


def test_guidance_on_31_august_2026_is_the_2025_and_2023_editions(
        school: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["guidance", "--nation", "england", "--on", "2026-08-31"]) == 0
    in_force = england(capsys.readouterr().out).split("Rules by date:")[0]
    assert "Keeping children safe in education 2025" in in_force
    assert "Working together to safeguard children 2023" in in_force
    assert "2026, Part" not in in_force


def test_the_schools_commencement_setting_shows_for_its_own_nation(
        school: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["guidance", "--on", "2027-04-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("England")
    assert "cwsa_duty_to_share" in england(out).split("Rules by date:")[0]
    assert "duties.cwsa_duty_to_share: on: from 2027-04-01 (in force)" in out
    for nation in ("Wales", "Scotland", "Northern Ireland"):
        assert f"\n{nation} (pack" in out


def test_guidance_refuses_a_bad_nation_or_date(
        school: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["guidance", "--nation", "atlantis"]) == 2
    assert "no nation pack 'atlantis'" in capsys.readouterr().err
    assert main(["guidance", "--on", "next week"]) == 2
    assert "--on must be a date" in capsys.readouterr().err


def test_the_readme_table_is_made_from_the_packs() -> None:
    text = guidance.README.read_text(encoding="utf-8")
    assert guidance.readme_with_table(text) == text, "run: python -m bot.guidance --readme"
    table = guidance.readme_table()
    assert "| England | Keeping children safe in education 2026 |" in table
    assert "| Wales | Wales Safeguarding Procedures" not in table  # undated: not a dated rule


def test_each_edition_is_printed_with_its_whole_title(
        school: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["guidance", "--nation", "wales", "--on", "2026-12-07"]) == 0
    out = capsys.readouterr().out
    assert ("Keeping learners safe (Welsh Government statutory guidance, Education Act 2002 "
            "s.175) 2022") in out


def test_every_citation_in_every_pack_names_its_source() -> None:
    from bot import nations

    for name in nations.available():
        for gid, editions in nations.load(name).timeline.guidance.items():
            assert all(e.source.strip() for e in editions), (name, gid)
