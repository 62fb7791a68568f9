"""The terminal runner, in-process and as a real subprocess."""

from __future__ import annotations

import functools
import getpass
import io
import os
import re
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.console import Console
from bot.prompts import Prompts
from bot.record import render_text, verify
from bot.service import DecisionService
from storage import TinyDBStore
from tests import scenarios as sc
from tests.conftest import ROOT


def cli(env: dict[str, str], *args: str, answers: list[str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` in ``env``, typing ``answers``."""
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env,
                          input="\n".join(answers or []) + "\n", capture_output=True,
                          text=True, timeout=60)


def run_console(jigsaw: DecisionService, lines: list[str], user: str = "console:test") -> str:
    out = io.StringIO()
    Console(jigsaw, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, user=user).run()
    return out.getvalue()


@pytest.mark.parametrize(("script", "decision", "kind"), list(sc.OUTCOMES.values()),
                         ids=list(sc.OUTCOMES))
def test_scenarios_end_in_a_stored_record(jigsaw: DecisionService, script: list[str], decision: str,
                                          kind: str) -> None:
    output = run_console(jigsaw, script)
    [summary] = jigsaw.store.list_records()
    record = jigsaw.store.get_record(summary["id"])
    assert record["decision"] == decision and record["kind"] == kind
    assert record["id"] in output and "Decision record" in output
    assert verify(record) == []
    # The finished session leaves the hot store: the record now holds it all.
    assert jigsaw.store.sessions_for_user("console:test") == []
    assert jigsaw.store.record_for_session(record["session_id"])["id"] == record["id"]


@pytest.mark.parametrize(("script", "decision", "kind"), list(sc.DSL_OUTCOMES.values()),
                         ids=list(sc.DSL_OUTCOMES))
def test_the_dsl_teams_accounts_decide_in_the_terminal(
        settings: Settings, store: TinyDBStore, script: list[str], decision: str,
        kind: str) -> None:
    jigsaw = DecisionService(replace(settings, console_dsl_accounts=("khan",)), store)
    run_console(jigsaw, sc.as_dsl_team(script), user="console:khan")
    record = jigsaw.store.get_record(jigsaw.store.list_records()[0]["id"])
    assert (record["decision"], record["kind"]) == (decision, kind)
    assert record["recorded_by_dsl"] is True


def test_police_request_record_fields(settings: Settings, store: TinyDBStore) -> None:
    jigsaw = DecisionService(replace(settings, console_dsl_accounts=("khan",)), store)
    run_console(jigsaw, sc.as_dsl_team(sc.POLICE_PREJUDICE), user="console:khan")
    record = jigsaw.store.get_record(jigsaw.store.list_records()[0]["id"])
    assert record["special_category"]["para18_reason"] == "c"  # asked of the DSL
    assert record["family"]["told"] is False and record["family"]["not_to_tell"] == "dad"
    assert record["requester"]["agency"] == "police"


def test_staff_at_the_terminal_pass_a_request_on_and_decide_nothing(
        jigsaw: DecisionService) -> None:
    output = run_console(jigsaw, sc.STAFF_POLICE_REQUEST)
    record = jigsaw.store.get_record(jigsaw.store.list_records()[0]["id"])
    assert record["decision"] == "tell_dsl" and record["awaiting_dsl_decision"] is True
    asked = output.split("Decision record")[0].casefold()  # the screens, not the record
    assert "your decision" not in asked and "reasons" not in asked
    assert "lawful basis" not in asked and "follow-up" not in asked


def test_i_am_the_dsl_at_the_terminal_decides_and_the_record_keeps_it(
        jigsaw: DecisionService) -> None:
    run_console(jigsaw, sc.POLICE_PREJUDICE)
    record = jigsaw.store.get_record(jigsaw.store.list_records()[0]["id"])
    assert record["decision"] == "share" and record["recorded_by_dsl"] is True
    assert record["trigger"] == "dsl_recording" and record["route"] == "request"


def test_the_dsl_takes_a_staff_request_on_and_decides_on_the_same_id(
        jigsaw: DecisionService) -> None:
    run_console(jigsaw, sc.STAFF_POLICE_REQUEST)
    [summary] = jigsaw.store.list_records()
    out = io.StringIO()
    # Staff record the request; the DSL brings what is known, then decides.
    rest = sc.POLICE_PREJUDICE[sc.POLICE_PREJUDICE.index("AB-1234") + 1:]
    Console(jigsaw, stdin=io.StringIO("\n".join(rest) + "\n"), stdout=out,
            user="console:khan").run(take_on=summary["id"])
    [after] = jigsaw.store.list_records()
    record = jigsaw.store.get_record(summary["id"])
    assert after["id"] == summary["id"] and record["decision"] == "share"
    assert record["decided_by"]["by"] == "console:khan" and not record["awaiting_dsl_decision"]
    assert [e["action"] for e in record["audit"]] == ["submitted", "taken_on", "decision_made"]
    assert record["concern"]["by"] == "console:test"
    assert verify(record) == []


def test_immediate_danger_safety_message_comes_first(jigsaw: DecisionService) -> None:
    output = run_console(jigsaw, sc.IMMEDIATE_DANGER)
    first_answer = output.index("> yes")
    assert output.index("Call 999 now", first_answer) < output.index("[2 of", first_answer)
    # No chat service here: the terminal never claims the DSL was alerted.
    assert "has been alerted" not in output and "has not been told" in output


def test_cancel_after_the_urgent_alert_keeps_a_record(jigsaw: DecisionService) -> None:
    output = run_console(jigsaw, ["yes", "cancel"])
    [summary] = jigsaw.store.list_records()
    record = jigsaw.store.get_record(summary["id"])
    assert record["kind"] == "emergency" and record["decision"] == "alert_only"
    assert summary["id"] in output


def test_rule_of_optimism_shown_in_terminal(jigsaw: DecisionService) -> None:
    script = sc.OPTIMISM
    output = run_console(jigsaw, script)
    assert "Rule of optimism" in output


def test_a_referral_not_made_names_the_barriers_at_the_challenge_in_the_terminal(
        jigsaw: DecisionService) -> None:
    output = run_console(jigsaw, sc.SIGNIFICANT_NOT_SHARED)
    screens, printed = output.split("Decision record", 1)
    # No barrier check once the DSL chose to refer: the reminders come with the challenge.
    assert "a moment on what can bend judgement. Having read" not in screens
    before, challenge = " ".join(screens.split()).split("Do you want to change your decision?")
    trust, fears = (" ".join(jigsaw.flow.reminder(b).split()) for b in ("trust", "fears"))
    assert trust not in before and fears not in before
    assert challenge.count(trust) == 1 and challenge.count(fears) == 1
    record = jigsaw.store.get_record(jigsaw.store.list_records()[0]["id"])
    assert record["barriers"]["shown"] == [
        "optimism", "trust", "data_protection", "consent", "someone_else", "fears"]
    assert "family's trust" in printed and "fears must not stand in the way" in printed


def test_back_pause_and_resume(jigsaw: DecisionService) -> None:
    out = run_console(jigsaw, ["no", "request", "back", "own_concern", "pause"])
    assert "Paused and saved" in out
    [session] = jigsaw.store.sessions_for_user("console:test")
    assert session["status"] == "paused"
    assert session["answers"]["trigger"] == "own_concern"
    out = run_console(jigsaw, sc.STAFF_CONCERN[2:])
    assert "Picking up your unfinished decision" in out
    assert jigsaw.store.count_records() == 1


def test_bad_answers_get_a_clear_message(jigsaw: DecisionService) -> None:
    out = run_console(jigsaw, ["7", "maybe", "no", "own_concern", "John Smith", "cancel"])
    assert out.count("Please pick one of the options") == 2
    assert "don't use the child's full name" in out
    assert "Cancelled" in out
    assert jigsaw.store.count_records() == 0


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(JIGSAW_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    return env


def test_python_m_bot_runs_piped_script_to_a_record(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], input="\n".join(sc.EARLY_HELP_CONSENT) + "\n",
        capture_output=True, text=True, env=_env(data), cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Is anyone in immediate danger" in proc.stdout
    store = TinyDBStore(data)
    assert store.count_records() == 1
    assert store.list_records()[0]["decision"] == "share"


def test_killed_mid_session_resumes_after_restart(tmp_path: Path) -> None:
    """SIGKILL the terminal runner part-way; the store still opens and the
    session picks up at the question it had reached."""
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=_env(data), cwd=tmp_path, bufsize=1)
    assert proc.stdin and proc.stdout
    answered = 0
    for answer in sc.EARLY_HELP_CONSENT[:6]:
        proc.stdin.write(answer + "\n")
        proc.stdin.flush()
        answered += 1
    # Wait (by reading, not sleeping) until the seventh question is on screen.
    seen = ""
    while f"[{answered + 1} of" not in seen:
        line = proc.stdout.readline()
        assert line, "the runner ended early"
        seen += line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    store = TinyDBStore(data)
    [session] = store.sessions_for_user(f"console:{getpass.getuser()}")
    assert len(session["history"]) == answered
    store.close()
    rest = subprocess.run(
        [sys.executable, "-m", "bot"], input="\n".join(sc.EARLY_HELP_CONSENT[answered:]) + "\n",
        capture_output=True, text=True, env=_env(data), cwd=tmp_path, timeout=60)
    assert rest.returncode == 0, rest.stderr
    assert "Picking up your unfinished decision" in rest.stdout
    assert TinyDBStore(data).count_records() == 1



def test_ctrl_c_pauses_says_so_and_resumes_named(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) part-way: saved and paused, said so, no traceback; the
    next run names what it picks up (child, route, when begun)."""
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=_env(data), cwd=tmp_path, bufsize=1)
    assert proc.stdin and proc.stdout and proc.stderr
    answered = sc.STAFF_POLICE_REQUEST[:7]
    proc.stdin.write("\n".join(answered) + "\n")
    proc.stdin.flush()
    seen = ""
    while "By when do they need an answer" not in seen:  # read, never sleep
        line = proc.stdout.readline()
        assert line, "the runner ended early"
        seen += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "Paused and saved" in out and "AB-1234" in out
    store = TinyDBStore(data)
    [session] = store.sessions_for_user(f"console:{getpass.getuser()}")
    assert session["status"] == "paused" and len(session["history"]) == len(answered)
    store.close()
    rest = subprocess.run(
        [sys.executable, "-m", "bot"], input="\n".join(sc.STAFF_POLICE_REQUEST[7:]) + "\n",
        capture_output=True, text=True, env=_env(data), cwd=tmp_path, timeout=60)
    assert rest.returncode == 0, rest.stderr
    words = " ".join(rest.stdout.split())  # the terminal wraps lines
    resumed = words[words.index("Picking up"):][:160]
    assert "request from a safeguarding agency" in resumed and "AB-1234" in resumed
    assert re.search(r"started \w{3} \d{1,2} \w{3} \d{4}, \d{2}:\d{2}", resumed)
    assert "UTC" not in resumed
    assert "Nobody has been told by Jigsaw" in words


@pytest.mark.parametrize("nation", ["wales", "scotland", "northern_ireland"])
def test_the_terminal_speaks_the_nations_pack(store: TinyDBStore, nation: str) -> None:
    from bot import nations
    from bot.config import Settings

    jigsaw = DecisionService(Settings(school_name="Hillside Primary", nation=nation), store)
    output = run_console(jigsaw, sc.REFUSED_SIGNIFICANT)
    pack = nations.pack(nation)
    record = jigsaw.store.get_record(jigsaw.store.list_records()[0]["id"])
    assert (record["nation"], record["destination"]) == (nation, pack.destination("referral"))
    assert pack.term("level_significant") in output  # asked in the nation's levels
    assert pack.term("referral_to")[1:] in output  # and its referral destination
    assert pack.title in output  # the printed record names its nation
    assert "DSL" not in output and "LADO" not in output and "KCSIE" not in output


def test_the_dsl_takes_a_concern_on_in_the_terminal(jigsaw: DecisionService,
                                                    tmp_path: Path) -> None:
    run_console(jigsaw, sc.STAFF_CONCERN, user="console:ta")
    [summary] = jigsaw.store.list_records()
    out = io.StringIO()
    Console(jigsaw, stdin=io.StringIO("\n".join(sc.TAKE_ON_SHARE) + "\n"), stdout=out,
            user="console:dsl").run(take_on=summary["id"])
    record = jigsaw.store.get_record(summary["id"])
    assert record["decision"] == "share" and record["decided_by"]["by"] == "console:dsl"
    assert record["recorded_by"] == "console:ta" and jigsaw.store.count_records() == 1
    assert verify(record) == []
    assert summary["id"] in out.getvalue()
    again = io.StringIO()
    code = Console(jigsaw, stdin=io.StringIO(""), stdout=again, user="console:dsl").run(
        take_on=summary["id"])
    assert code == 2 and "already has its sharing decision" in again.getvalue()


def test_decide_command_runs_the_terminal_for_the_dsl(tmp_path: Path) -> None:
    env = {**os.environ, "JIGSAW_DATA_DIR": str(tmp_path / "data"), "JIGSAW_CONFIG": ""}
    first = subprocess.run([sys.executable, "-m", "bot", "console"], cwd=ROOT, env=env,
                           input="\n".join(sc.STAFF_CONCERN) + "\n", capture_output=True,
                           text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    record_id = re.search(r"ISD-\d{4}-\d{4}", first.stdout)
    assert record_id is not None
    decided = subprocess.run([sys.executable, "-m", "bot", "decide", record_id.group(0)],
                             cwd=ROOT, env=env, input="\n".join(sc.TAKE_ON_SHARE) + "\n",
                             capture_output=True, text=True, timeout=60)
    assert decided.returncode == 0, decided.stderr
    assert record_id.group(0) in decided.stdout and "Decision:" in decided.stdout


def test_the_dsl_confirms_the_basis_and_closes_by_id_in_the_terminal(tmp_path: Path) -> None:
    env = {**os.environ, "JIGSAW_DATA_DIR": str(tmp_path / "data"), "JIGSAW_CONFIG": ""}

    jigsaw = functools.partial(cli, env)

    first = jigsaw("console", answers=sc.STAFF_CONCERN)
    found = re.search(r"ISD-\d{4}-\d{4}", first.stdout)
    assert first.returncode == 0 and found is not None, first.stderr
    record_id = found.group(0)
    typed = f" {record_id.lower()} "  # any case, stray spaces
    assert jigsaw("decide", typed, answers=sc.TAKE_ON_SHARE).returncode == 0
    confirmed = jigsaw("confirm-basis", typed)
    assert confirmed.returncode == 0 and f"lawful basis on {record_id} is confirmed" in (
        confirmed.stdout)
    assert "confirmed already" in jigsaw("confirm-basis", record_id).stdout
    closed = jigsaw("close", typed)
    assert closed.returncode == 0 and f"{record_id} is closed." in closed.stdout
    assert "closed already" in jigsaw("close", record_id).stdout
    again = jigsaw("decide", record_id)
    assert again.returncode == 2 and "is closed: there is nothing left to decide" in again.stdout
    missing = jigsaw("close", "isd-1999-0001")
    assert missing.returncode == 2 and "There is no record ISD-1999-0001" in missing.stdout
    missing = jigsaw("decide", "ISD-1999-0001")
    assert missing.returncode == 2 and "There is no record ISD-1999-0001" in missing.stdout
    store = TinyDBStore(tmp_path / "data")
    record = store.get_record(record_id)
    assert record is not None and record["status"] == "closed"
    assert record["lawful_basis"]["confirmed"]["article6"] == (
        record["lawful_basis"]["suggested"]["article6"])
    assert verify(record) == []


def test_a_low_level_worry_is_taken_on_and_shown_whole(jigsaw: DecisionService) -> None:
    long_facts = ("Child said she was tired because she stayed up late gaming. " * 30).strip()
    staff = ["no", "record_only", "DD", long_facts, "skip", "not_discussed", "skip",
             "same_unknown", "Low-level worry kept for pattern-spotting; nothing else known.",
             "skip", "submit"]
    run_console(jigsaw, staff, user="console:ta")
    [summary] = jigsaw.store.list_records()
    out = io.StringIO()
    Console(jigsaw, stdin=io.StringIO("back\n"), stdout=out, user="console:dsl").run(
        take_on=summary["id"].lower())
    shown = " ".join(out.getvalue().split())
    assert long_facts in shown  # whole, not cut
    record = jigsaw.store.get_record(summary["id"])
    assert record["audit"][-1]["action"] == "taken_on"


def test_back_shows_the_earlier_answer(jigsaw: DecisionService) -> None:
    out = io.StringIO()
    Console(jigsaw, stdin=io.StringIO("no\nown_concern\nEF\nback\nback\n"), stdout=out,
            user="console:ta").run()
    after_back = out.getvalue().split("> back")
    assert "Your earlier answer" not in after_back[0]
    assert "What you typed last time is kept here so you can copy it: EF" in " ".join(
        after_back[1].split())
    assert "Your answer before you went back:" in after_back[2]


def test_the_dsl_marks_herself_away_in_the_terminal(tmp_path: Path) -> None:
    env = {**os.environ, "JIGSAW_DATA_DIR": str(tmp_path / "data"), "JIGSAW_CONFIG": ""}

    jigsaw = functools.partial(cli, env)

    marked = jigsaw("cover", "on", "--name", "Mr B. Evans")
    assert marked.returncode == 0 and "Mr B. Evans is covering" in marked.stdout
    staff = jigsaw("console", answers=sc.STAFF_CONCERN)
    assert "is away: Mr B. Evans is covering" in " ".join(staff.stdout.split())
    assert "is not marked away" in jigsaw("cover", "off").stdout
    staff = jigsaw("console", "--new", answers=["pause"])
    assert "is covering" not in staff.stdout


def test_the_dsl_records_an_outcome_by_id_in_the_terminal(tmp_path: Path) -> None:
    """What happened after (here: early help) is kept on the record with who
    and when, sealed in the audit trail, and shown in the full record."""
    env = {**os.environ, "JIGSAW_DATA_DIR": str(tmp_path / "data"), "JIGSAW_CONFIG": ""}

    jigsaw = functools.partial(cli, env)

    first = jigsaw("console", answers=sc.STAFF_CONCERN)
    found = re.search(r"ISD-\d{4}-\d{4}", first.stdout)
    assert first.returncode == 0 and found is not None, first.stderr
    record_id = found.group(0)
    done = jigsaw("outcome", record_id.lower(), "early_help", "--ref", "EH-881")
    assert done.returncode == 0 and f"The outcome on {record_id} is recorded" in done.stdout
    assert jigsaw("outcome", record_id, "adopted").returncode == 2  # not an outcome
    assert jigsaw("outcome", "ISD-1999-0001", "nfa").returncode == 2
    record = TinyDBStore(tmp_path / "data").get_record(record_id)
    assert record is not None
    [kept] = record["referral"]["outcomes"]
    assert kept["outcome"] == "early_help" and kept["ref"] == "EH-881" and kept["by"]
    assert kept["at"] and record["referral"]["ref"] == "EH-881"
    assert record["audit"][-1]["action"] == "outcome_added"
    assert verify(record) == []
    text = render_text(record, Prompts())
    assert "Early help (ref EH-881)" in text


@pytest.mark.parametrize("typed", ["help", "?"])
def test_help_explains_the_question_and_asks_it_again(jigsaw: DecisionService,
                                                      typed: str) -> None:
    """At the level of concern: what significant harm means against a child
    in need, with examples; then the same question, and the answer after
    help is taken as its answer."""
    at = sc.STAFF_CONCERN.index("child_in_need")
    output = run_console(jigsaw, [*sc.STAFF_CONCERN[:at], typed, *sc.STAFF_CONCERN[at:]])
    helped = output.split(f"> {typed}\n", 1)[1]
    explained, asked_again = helped.split("How serious is the concern?", 1)
    flat = " ".join(explained.split())
    assert "serious harm" in flat and "young carer" in flat and '"back"' in flat
    assert "Significant harm" in asked_again.split("> ", 1)[0]
    record = jigsaw.store.get_record(jigsaw.store.list_records()[0]["id"])
    assert record["level_of_concern"] == "child_in_need"


def test_the_danger_questions_help_says_the_terminal_alerts_no_one(
        jigsaw: DecisionService) -> None:
    """"Not sure" raises no alert from the terminal: the help says so, and
    whom to phone, never that the DSL will be alerted."""
    output = run_console(jigsaw, ["help", *sc.STAFF_CONCERN])
    helped = " ".join(output.split("> help\n", 1)[1].split("> ", 1)[0].split())
    assert "This terminal alerts no one" in helped
    assert jigsaw.settings.dsl.name in helped and "yourself now" in helped
    assert "alerts the DSL team" not in helped and "alerted" not in helped


def test_taking_a_concern_on_shows_what_staff_said_whole_and_back_shows_their_answer(
        jigsaw: DecisionService) -> None:
    run_console(jigsaw, sc.STAFF_CONCERN_LONG, user="console:ta")
    [summary] = jigsaw.store.list_records()
    out = io.StringIO()
    Console(jigsaw, stdin=io.StringIO("back\npause\n"), stdout=out,
            user="console:dsl").run(take_on=summary["id"])
    first, after_back = (" ".join(part.split()) for part in out.getvalue().split("> back", 1))
    assert "What the member of staff told you" in first
    assert sc.LONG_FACTS in first and sc.STAFF_VIEW in first  # whole, before she judges
    assert sc.STAFF_VIEW in after_back.split("> pause", 1)[0]  # shown again, to keep or change


def test_the_dsl_corrects_to_the_schools_own_category_by_name_in_the_terminal(
        tmp_path: Path) -> None:
    config = tmp_path / "jigsaw.toml"
    config.write_text('[school]\nname = "Hillside"\n\n[records]\n'
                      'categories = ["Attendance", "Young carer"]\n', encoding="utf-8")
    env = {**os.environ, "JIGSAW_DATA_DIR": str(tmp_path / "data"), "JIGSAW_CONFIG": str(config)}

    jigsaw = functools.partial(cli, env)

    first = jigsaw("console", answers=sc.STAFF_CONCERN)
    found = re.search(r"ISD-\d{4}-\d{4}", first.stdout)
    assert first.returncode == 0 and found is not None, first.stderr
    record_id = found.group(0)
    corrected = jigsaw("correct", record_id, "--category", "young carer")
    assert corrected.returncode == 0, corrected.stderr
    unknown = jigsaw("correct", record_id, "--category", "Pastoral")
    assert unknown.returncode == 2 and "'Pastoral' is not a category" in unknown.stderr
    assert "Young carer" in unknown.stderr
    store = TinyDBStore(tmp_path / "data")
    record = store.get_record(record_id)
    assert record is not None
    assert (record["category"], record["category_label"]) == ("own:young_carer", "Young carer")
