"""The category, the one-line summary and when and where, read from answers
the member of staff already gave (no question added for them)."""

from __future__ import annotations

from bot import derive


def test_category_from_route_then_situation_then_words() -> None:
    assert derive.category({"facts": "bruise"}, "child_on_child", []) == "child_on_child"
    assert derive.category({"facts": "x"}, "concern", ["self_harm"]) == "mental_health"
    assert derive.category({"facts": "Came in hungry again, no coat"}, "concern", []) == "neglect"
    assert derive.category({"facts": "Said mum's boyfriend hit mum last night"}, "concern",
                           []) == "domestic_abuse"
    assert derive.category({"facts": "Bruise on left cheek"}, "concern", []) == "physical_abuse"
    assert derive.category({"facts": "Talking to an older man on Snapchat"}, "concern",
                           []) == "online"
    assert derive.category({"facts": "Seemed quiet"}, "concern", []) == ""


def test_summary_is_the_first_sentence_on_one_line_cut_at_a_word() -> None:
    one = derive.summary_line({"facts": "Bruise on cheek.\nSaid dad did it."})
    assert one == "Bruise on cheek."
    long = derive.summary_line({"facts": "word " * 60})
    assert len(long) <= derive.SUMMARY_MAX and long.endswith("word…")
    assert derive.summary_line({"what_requested": "Attendance since\nSeptember"}) == \
        "Attendance since September"
    assert derive.summary_line({}) == ""


def test_when_and_where_are_the_staff_members_own_phrases() -> None:
    found = derive.happened({"facts": "At lunchtime in the playground she said he goes home"
                                      " at 3.15 with mum's boyfriend."})
    assert found == {"when": "At lunchtime", "where": "in the playground", "derived": True}
    assert derive.happened({"facts": "at home time by the gates"}) == {
        "when": "at home time", "where": "by the gates", "derived": True}
    assert derive.happened({"facts": "Seemed quiet."}) is None
