"""Guidance editions as dated data (DOMAIN.md section 11): a record cites the
editions in force on the school's day it was made and keeps citing them; a
rule waiting for commencement is off until its day, then on."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import nations
from bot import record as records
from bot.config import ConfigError, Settings, from_mapping
from bot.flow import Flow
from bot.prompts import PROMPTS_DIR
from tests import scenarios as sc
from tests.flow.test_situations import Walk

TODAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
BEFORE = datetime(2026, 8, 31, 10, 0, tzinfo=UTC)
# 23:30 UTC on 31 August is 00:30 on 1 September at a school in London.
LONDON_MIDNIGHT = datetime(2026, 8, 31, 23, 30, tzinfo=UTC)


def walk(answers: list[str], now: datetime, settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or Settings(school_name="Hillside Primary", nation="england")
    flow = Flow(settings, clock=lambda: now)
    session = flow.start("U1")
    for answer in answers:
        result = flow.answer(session, answer)
        assert result.accepted, result.error
    assert flow.done(session)
    return records.build(session, settings, flow.prompts, now=now)


def editions(rec: dict[str, Any]) -> dict[str, str]:
    return {g["id"]: g["year"] for g in rec["guidance_cited"]}


def test_a_record_made_today_cites_kcsie_2026_and_working_together_2026() -> None:
    rec = walk(sc.REFUSED_SIGNIFICANT, TODAY)
    assert editions(rec)["kcsie"] == "2026"
    assert editions(rec)["working_together"] == "2026"
    assert "KCSIE 2026" in rec["guidance_version"] and "2025" not in rec["guidance_version"]
    text = records.render_text(rec, Flow(Settings()).prompts)
    assert "Keeping children safe in education 2026" in text
    assert "Working together to safeguard children 2026" in text


def test_a_record_made_on_31_august_cites_the_2025_and_2023_editions_and_keeps_them() -> None:
    rec = walk(sc.REFUSED_SIGNIFICANT, BEFORE)
    assert editions(rec)["kcsie"] == "2025"
    assert editions(rec)["working_together"] == "2023"
    # Rendered today, with the pack on 2026, it still says what it cited.
    text = records.render_text(rec, Flow(Settings()).prompts)
    assert "Keeping children safe in education 2025" in text
    assert "Working together to safeguard children 2023" in text
    assert "education 2026" not in text and "children 2026" not in text


def test_the_day_is_the_schools_day() -> None:
    rec = walk(sc.REFUSED_SIGNIFICANT, LONDON_MIDNIGHT)
    assert editions(rec)["kcsie"] == "2026"


def test_the_child_protection_file_is_cited_as_annex_c_only_before_2026() -> None:
    before, today = walk(sc.CP_TRANSFER, BEFORE), walk(sc.CP_TRANSFER, TODAY)
    [old] = [g for g in before["guidance_cited"] if g["id"] == "kcsie_cp_file"]
    [new] = [g for g in today["guidance_cited"] if g["id"] == "kcsie_cp_file"]
    assert "Annex C" in old["section"] and old["confirmed"]
    assert "Annex C" not in new["section"] and not new["confirmed"]
    assert "Annex C" in before["rationale"]
    assert "Annex C" not in today["rationale"] and "2026" in today["rationale"]


def test_family_help_is_the_2026_word_and_older_records_keep_theirs() -> None:
    before, today = walk(sc.REFUSED_SIGNIFICANT, BEFORE), walk(sc.REFUSED_SIGNIFICANT, TODAY)
    assert "Family Help" in today["pack"]["terms"]["level_child_in_need"]
    assert "Family Help" not in before["pack"]["terms"]["level_child_in_need"]


def test_records_cite_only_the_guidance_that_bears_on_them() -> None:
    concern = walk(sc.REFUSED_SIGNIFICANT, TODAY)
    prevent = walk(sc.PREVENT, TODAY)
    assert "prevent_duty" not in editions(concern) and "prevent_duty" in editions(prevent)
    for rec in (concern, prevent):
        assert not {"ukcis_nudes", "county_lines", "cwsa_duty_to_share",
                    "cpa_mandatory_reporting"} & set(editions(rec))


def test_no_template_writes_a_guidance_year() -> None:
    edition_year = re.compile(
        r"(KCSIE|Keeping children safe|Working [Tt]ogether|UKCIS|Keeping learners safe"
        r"|National Guidance)[^.{}\n]{0,20}\b20\d\d\b")
    found = [f"{p.relative_to(PROMPTS_DIR)}: {m.group(0)}"
             for p in PROMPTS_DIR.rglob("*.j2")
             for m in edition_year.finditer(p.read_text(encoding="utf-8"))]
    assert found == []


# -- rules waiting for commencement ------------------------------------------------

def test_the_future_duties_are_ready_and_off() -> None:
    england = nations.pack("england", date(2026, 12, 7))
    assert set(nations.pending_rules(england)) >= {"cwsa_duty_to_share", "mandatory_reporting",
                                                    "cpa_mandatory_reporting"}
    assert not england.duty("cwsa_duty_to_share") and not england.duty("mandatory_reporting")
    assert england.cited("cwsa_duty_to_share", "mandatory_reporting") == england.cited()
    assert "cwsa_duty_to_share" in england.timeline.guidance


def _commencing(tmp_path: Path, day: str) -> None:
    (tmp_path / "england.toml").write_text(
        (nations.PACKS_DIR / "england.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "england_2027.toml").write_text(
        '[pack]\ntitle = "England (regulations made)"\nversion = "t"\nextends = "england"\n'
        '[duties.cwsa_duty_to_share]\nvalue = true\nsource = "test regulations"\n'
        f'confirmed = true\nfrom = {day}\n', encoding="utf-8")


def test_a_pack_giving_a_commencement_date_switches_the_duty_on_that_day(
        tmp_path: Path) -> None:
    _commencing(tmp_path, "2027-04-01")
    whole = nations.load("england_2027", tmp_path)
    assert not whole.on(date(2027, 3, 31)).duty("cwsa_duty_to_share")
    assert whole.on(date(2027, 4, 1)).duty("cwsa_duty_to_share")
    [rule] = [r for r in whole.on(date(2027, 4, 1)).rules()
              if r["kind"] == "duties" and r["key"] == "cwsa_duty_to_share"]
    assert rule["from"] == date(2027, 4, 1) and rule["in_force"]


@pytest.mark.parametrize(("now", "on"), [(datetime(2027, 3, 31, 12, tzinfo=UTC), False),
                                          (datetime(2027, 4, 1, 12, tzinfo=UTC), True)])
def test_a_school_setting_commences_both_future_duties_on_their_day(
        now: datetime, on: bool) -> None:
    settings = from_mapping({"school": {"name": "Hillside", "nation": "england"},
                             "guidance": {"commenced": {
                                 "cwsa_duty_to_share": date(2027, 4, 1),
                                 "cpa_mandatory_reporting": date(2027, 4, 1),
                                 "mandatory_reporting": date(2027, 4, 1)}}})
    rec = Walk("england", "Child often arrives hungry; mum says she is struggling.", dsl=True,
               now=now, config=settings).record
    pack = nations.pack("england", now.date(), settings.commencements)
    assert pack.duty("cwsa_duty_to_share") is on and pack.duty("mandatory_reporting") is on
    assert ("cwsa_duty_to_share" in editions(rec)) is on
    # The reporting duty bears on child sexual abuse only, not on this record.
    assert "cpa_mandatory_reporting" not in editions(rec)
    assert editions(rec)["kcsie"] == "2026"  # the rest as before


def test_a_commencement_setting_names_a_pending_rule() -> None:
    with pytest.raises(ConfigError, match="not waiting for commencement"):
        from_mapping({"school": {"nation": "england"},
                      "guidance": {"commenced": {"kcsie": date(2027, 1, 1)}}})
    with pytest.raises(ConfigError, match="must be a date"):
        from_mapping({"school": {"nation": "england"},
                      "guidance": {"commenced": {"cwsa_duty_to_share": "soon"}}})
    assert replace(Settings(), commenced=()).commencements == {}
