"""Nation packs (DOMAIN.md section 9): the main routes walked in each nation,
asserting where the record says the information goes, which duty applies and
which guidance it cites (record fields, never wording)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import nations
from bot import record as records
from bot.config import ConfigError, Settings, from_mapping
from bot.flow import STEPS, Flow
from bot.prompts import PROMPTS_DIR, Prompts, default_prompts
from tests import scenarios as sc

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NATIONS = ("england", "wales", "scotland", "northern_ireland")
ALLEGATION_HARM = [a if a != "low_level" else "harm" for a in sc.ALLEGATION]

# What each nation's record must say: referral destination, allegations
# destination, whether the FGM duty applies, and guidance it must (and must
# never) cite.
EXPECTED: dict[str, dict[str, Any]] = {
    "england": {"referral": "childrens_social_care", "allegation": "lado", "fgm_duty": True,
                "school_guidance": "kcsie", "allegation_guidance": "kcsie_part_four",
                "transfer_guidance": "kcsie_cp_file", "never": set()},
    "wales": {"referral": "local_authority_childrens_services",
              "allegation": "designated_officer_for_safeguarding", "fgm_duty": True,
              "school_guidance": "keeping_learners_safe",
              "allegation_guidance": "wsp_section_5", "transfer_guidance": None,
              "never": {"kcsie", "working_together", "kcsie_part_four"}},
    "scotland": {"referral": "social_work_services",
                 "allegation": "local_child_protection_procedures", "fgm_duty": False,
                 "school_guidance": "national_guidance_cp", "allegation_guidance": "ngcp_part_2a",
                 "transfer_guidance": None,
                 "never": {"kcsie", "working_together", "kcsie_part_four", "fgm_duty"}},
    "northern_ireland": {"referral": "hsc_trust_gateway", "allegation": "principal_with_ea_cpss",
                         "fgm_duty": False, "school_guidance": "de_circular_2017_04",
                         "allegation_guidance": "de_circular_2015_13",
                         "transfer_guidance": None,
                         "never": {"kcsie", "working_together", "kcsie_part_four", "fgm_duty",
                                   "prevent_duty"}},
}


def flow_for(nation: str) -> Flow:
    return Flow(Settings(school_name="Hillside Primary", nation=nation), clock=lambda: NOW)


def walk(flow: Flow, answers: list[str], *, dsl: bool = False) -> dict[str, Any]:
    session = flow.start("U1", dsl=dsl)
    for answer in answers:
        step = flow.current(session)
        result = flow.answer(session, answer)
        assert result.accepted, f"{step.id if step else None}: {answer!r}: {result.error}"
    assert flow.done(session), flow.current(session)
    return records.build(session, flow.settings, flow.prompts, now=NOW)


def cited(rec: dict[str, Any]) -> set[str]:
    return {g["id"] for g in rec["guidance_cited"]}


def check_common(rec: dict[str, Any], nation: str) -> None:
    expected = EXPECTED[nation]
    pack = nations.pack(nation)
    assert rec["nation"] == nation
    assert rec["pack"]["name"] == nation and rec["pack"]["version"] == pack.version
    # Named briefly, and only what the record cites.
    assert rec["guidance_version"] == pack.version_of(g["id"] for g in rec["guidance_cited"])
    assert "FGM" not in rec["guidance_version"] or "fgm_duty" in cited(rec)
    assert expected["school_guidance"] in cited(rec)
    assert not cited(rec) & expected["never"], cited(rec) & expected["never"]
    assert records.verify(rec) == []


@pytest.mark.parametrize("nation", NATIONS)
def test_a_concern_is_referred_to_the_nations_destination(nation: str) -> None:
    rec = walk(flow_for(nation), sc.REFUSED_SIGNIFICANT)
    check_common(rec, nation)
    assert rec["decision"] == "share"
    assert rec["destination"] == EXPECTED[nation]["referral"]
    assert rec["duties"] == []


@pytest.mark.parametrize("nation", NATIONS)
def test_an_agency_request_goes_back_to_the_requester(nation: str) -> None:
    rec = walk(flow_for(nation), sc.POLICE_PREJUDICE, dsl=True)
    check_common(rec, nation)
    assert rec["destination"] == "police" and rec["duties"] == []


@pytest.mark.parametrize("nation", NATIONS)
def test_an_allegation_follows_the_nations_allegations_route(nation: str) -> None:
    rec = walk(flow_for(nation), ALLEGATION_HARM)
    check_common(rec, nation)
    assert rec["decision"] == "allegations_route"
    assert rec["destination"] == EXPECTED[nation]["allegation"]
    assert EXPECTED[nation]["allegation_guidance"] in cited(rec)
    assert rec["routing"]["to"] == "headteacher"
    # The person told is named in the nation's words unless the school set one.
    assert rec["routing"]["contact"] == nations.pack(nation).term("head")


@pytest.mark.parametrize("nation", NATIONS)
def test_fgm_duty_only_where_the_pack_says_so(nation: str) -> None:
    flow = flow_for(nation)
    duty = EXPECTED[nation]["fgm_duty"]
    rec = walk(flow, sc.FGM_DISCLOSED if duty else sc.FGM_CHILD_PROTECTION)
    check_common(rec, nation)
    if duty:
        assert rec["duties"] == ["fgm_duty"] and rec["destination"] == "police"
        assert "fgm_duty" in cited(rec)
        assert rec["route_details"]["duty_applies"] is True
    else:
        assert rec["duties"] == [] and "fgm_role" not in rec["route_details"].get(
            "fgm_role", "")
        assert rec["route_details"]["duty_applies"] is False
        assert rec["destination"] == EXPECTED[nation]["referral"]


@pytest.mark.parametrize("nation", NATIONS)
def test_a_child_moving_school_sends_the_file_to_the_new_school(nation: str) -> None:
    rec = walk(flow_for(nation), sc.CP_TRANSFER)
    check_common(rec, nation)
    assert rec["destination"] == "receiving_school" and rec["duties"] == []
    if EXPECTED[nation]["transfer_guidance"]:
        assert EXPECTED[nation]["transfer_guidance"] in cited(rec)


def test_the_fgm_duty_nations_come_from_the_packs() -> None:
    assert set(nations.fgm_duty_nations()) == {"england", "wales"}
    assert all(nations.pack(n).duty("fgm_reporting") for n in nations.fgm_duty_nations())


# -- packs are data, every fact sourced ---------------------------------------

@pytest.mark.parametrize("nation", NATIONS)
def test_every_fact_in_a_pack_carries_its_source(nation: str) -> None:
    pack = nations.load(nation)
    assert pack.facts
    for key, fact in pack.facts.items():
        assert fact.source.strip(), key
    for gid, entry in pack.guidance.items():
        assert entry["title"] and (entry.get("url") or entry.get("section")), gid
    # The packs share one vocabulary: a template can use any term in any nation.
    assert set(pack.terms) == set(nations.pack("england").terms)


def test_a_fact_without_a_source_is_refused(tmp_path: Path) -> None:
    (tmp_path / "atlantis.toml").write_text(
        '[pack]\ntitle = "Atlantis"\nversion = "1"\n'
        '[terms.lead]\nvalue = "Warden"\nconfirmed = true\n', encoding="utf-8")
    with pytest.raises(nations.PackError, match="no source"):
        nations.load("atlantis", tmp_path)


def test_a_local_variant_is_a_file_that_extends_its_nation(tmp_path: Path) -> None:
    for name in ("scotland",):
        (tmp_path / f"{name}.toml").write_text(
            (nations.PACKS_DIR / f"{name}.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "scotland_fife.toml").write_text(
        '[pack]\ntitle = "Scotland (Fife)"\nversion = "1"\nextends = "scotland"\n'
        '[terms.front_door]\nvalue = "the Fife Social Work Contact Centre"\n'
        'source = "Fife Council"\nconfirmed = true\n', encoding="utf-8")
    variant = nations.load("scotland_fife", tmp_path)
    assert variant.lineage == ("scotland_fife", "scotland")
    assert variant.term("front_door") == "the Fife Social Work Contact Centre"
    assert variant.term("lead") == nations.pack("scotland").term("lead")
    assert variant.destination("referral") == "social_work_services"


# -- settings -------------------------------------------------------------------

def test_settings_refuse_an_unknown_nation_naming_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        from_mapping({"school": {"nation": "atlantis"}})
    for name in nations.available():
        assert name in str(caught.value)
    with pytest.raises(ConfigError):
        Settings(nation="atlantis")


def test_contacts_default_to_the_nations_words_but_the_schools_win() -> None:
    ni = from_mapping({"school": {"nation": "Northern Ireland"},
                       "contacts": {"dsl": {"phone": "028 9000 0000"},
                                    "headteacher": {"name": "Mrs Quinn"}}})
    pack = nations.pack("northern_ireland")
    assert ni.dsl.name == pack.term("lead_contact") and ni.dsl.phone == "028 9000 0000"
    assert ni.headteacher.name == "Mrs Quinn"
    assert ni.lado.name == pack.term("allegations_officer")
    moved = replace(ni, nation="wales")
    assert moved.dsl.name == nations.pack("wales").term("lead_contact")
    assert moved.headteacher.name == "Mrs Quinn"
    assert moved.front_door_phone == nations.pack("wales").term("front_door")


# -- wording follows the pack, and a record keeps its own ------------------------

@pytest.mark.parametrize("nation", NATIONS)
def test_the_record_text_speaks_its_nations_words(nation: str) -> None:
    flow = flow_for(nation)
    rec = walk(flow, sc.REFUSED_SIGNIFICANT)
    text = records.render_text(rec, flow.prompts)
    pack = nations.pack(nation)
    assert pack.title in text and pack.version in text
    summary = dict((k, v) for k, _, v in records.summary(rec, flow.prompts))
    assert summary["destination"] == flow.prompts.wording(f"destination_{rec['destination']}")
    for g in rec["guidance_cited"]:
        assert g["title"] in summary["guidance"]


def test_a_record_renders_in_its_own_pack_whatever_the_setting_now() -> None:
    wales = flow_for("wales")
    rec = walk(wales, sc.REFUSED_SIGNIFICANT)
    later = default_prompts("england")  # the school's setting changed since
    assert (dict((k, v) for k, _, v in records.summary(rec, later))["destination"]
            == wales.prompts.wording("destination_local_authority_childrens_services"))
    # Words stored with the record (an older pack version) are the ones shown.
    rec["pack"]["terms"]["referral_to"] = "the county's children's services"
    text = records.render_text(rec, later)
    assert "The county's children's services" in text


def test_a_nation_overrides_a_template_by_a_file_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "notices").mkdir()
    (tmp_path / "notices" / "footer.j2").write_text("Default {{ t.lead }}", encoding="utf-8")
    own = tmp_path / "nations" / "wales" / "notices"
    own.mkdir(parents=True)
    (own / "footer.j2").write_text("Wales {{ t.lead }}", encoding="utf-8")
    assert Prompts(tmp_path, nations.pack("wales")).render("notices/footer.j2") == "Wales DSP"
    assert Prompts(tmp_path, nations.pack("england")).render(
        "notices/footer.j2") == "Default DSL"
    assert (PROMPTS_DIR / "nations").is_dir()


@pytest.mark.parametrize("nation", NATIONS)
def test_every_question_renders_in_every_nation(nation: str) -> None:
    """Each step's wording renders with the nation's terms (no missing word)."""
    flow = flow_for(nation)
    ctx = flow.context(flow.start("U1"))
    for step in STEPS:
        name = f"steps/{step.id}.j2"
        for block in ("question", "help", *(f"choice_{c}" for c in step.choices)):
            assert "{{" not in flow.prompts.block(name, block, default="", **ctx)


def test_a_nations_template_has_the_same_blocks_as_the_default() -> None:
    """An override replaces the whole file: a question it lacks would break."""
    prompts = default_prompts()
    overrides = sorted((PROMPTS_DIR / "nations").glob("*/**/*.j2"))
    assert overrides
    for path in overrides:
        nation, name = path.relative_to(PROMPTS_DIR / "nations").parts[0], "/".join(
            path.relative_to(PROMPTS_DIR / "nations").parts[1:])
        assert nation in nations.available(), path
        default = set(prompts.env.get_template(name).blocks)
        own = set(default_prompts(nation).env.get_template(name).blocks)
        assert own == default, (path, own ^ default)


def test_exports_keep_each_records_nation() -> None:
    """The CSV carries the nation, pack version, destination and duties; the
    chronology words each record (and its DSL-team follow-ups) in its pack."""
    import csv
    import io

    from bot import chronology
    from bot.exports import records_csv

    made = {n: walk(flow_for(n), sc.FGM_DISCLOSED if n == "wales" else sc.REFUSED_SIGNIFICANT)
            for n in ("wales", "northern_ireland")}
    for n, rec in made.items():
        rec["id"] = f"ISD-{n}"
    rows = {r["Reference"]: r for r in csv.DictReader(io.StringIO(
        records_csv(made.values(), default_prompts())))}
    wales, ni = rows["ISD-wales"], rows["ISD-northern_ireland"]
    assert wales["Nation"] == nations.pack("wales").title
    assert wales["Duties"].startswith("FGM reporting duty") and wales["Goes to"] == "Police"
    assert ni["Goes to"] == flow_for("northern_ireland").prompts.wording(
        "destination_hsc_trust_gateway")
    assert ni["Guidance pack"] == nations.pack("northern_ireland").version
    text = chronology.as_text("JK", chronology.entries([made["northern_ireland"]],
                                                     default_prompts()), default_prompts())
    assert f"({nations.pack('northern_ireland').term('lead_team')}; open)" in text
