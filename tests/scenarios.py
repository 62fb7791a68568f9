"""Scripted answers for the cases the guidance cares most about.

Each scenario is the list of answers a person gives, in order, as they would
type them in the terminal (choice values or free text). The same scripts
drive the engine, the terminal runner and the Slack app in the tests.
"""

from __future__ import annotations

# The DSL's own concern, on the full sharing decision.
_CONCERN = ["no", "dsl_recording", "general"]

# A member of staff's worry, told to the DSL by the short path.
STAFF_CONCERN = [
    "no", "own_concern",
    "EF",
    "Child often arrives late and hungry; mum says she is struggling since losing her job.",
    "not_discussed", "skip",
    "same_unknown",  # the rule-of-optimism question, and does not know the family
    "child_in_need",
    "no",  # nothing that can't wait: this answer sends it
]

# STAFF_CONCERN with a long account and a view of their own: what the DSL
# taking it on must see whole, and find again going back.
LONG_FACTS = " ".join(
    f"{n}. She flinched when I touched her arm and said her brother's friend shouts at night."
    for n in range(1, 31))
STAFF_VIEW = "Mum seemed exhausted at pick-up and snapped at her."
STAFF_CONCERN_LONG = [*STAFF_CONCERN[:3], LONG_FACTS, "not_discussed", STAFF_VIEW,
                      *STAFF_CONCERN[6:]]

# A member of staff's worry where the child asked them not to tell.
STAFF_SECRET = [
    "no", "own_concern",
    "MN",
    # The child's words, in quotes, within what happened.
    "Child has a burn mark on her wrist; said it happened at home and went quiet, then"
    " \"Please don't tell my mum I told you\"",
    "secret",
    "skip",
    "same_unknown",
    "not_sure",
    "no",
]

# Urgent, and neither the DSL nor a deputy can be reached: anyone can refer.
STAFF_SELF_REFERRAL = [
    "no", "own_concern",
    "KL",
    "Child said stepdad hit her with a belt last night; red marks on her legs."
    " \"Please don't tell anyone, he'll do it again\"",
    "secret",
    "skip",
    "same_unknown",
    "significant",
    "referred",  # can't reach the DSL or a deputy, so referred themselves
    "MASH duty social worker J. Bloggs, 14:40, ref 55120",
]

# It can't wait until tomorrow, the DSL or a deputy can't be reached and no
# referral is made yet: told to call now; what can't wait goes to the DSL.
STAFF_CANNOT_REACH = [
    "no", "own_concern",
    "KL",
    "Child has no one to collect her tonight; mum's phone is off and dad is abroad.",
    "not_discussed",
    "skip",
    "same_unknown",
    "child_in_need",
    "cannot_reach",
    "No one to collect her at 3:15 today",
]

# Something can't wait, and the DSL has been told in person.
STAFF_URGENT_TOLD = [
    "no", "own_concern",
    "QS",
    "Child said she is scared to go home because mum's boyfriend shouts at her.",
    "not_discussed", "skip",
    "more_worried", "no",  # more worried on a second look; does not know the family
    "child_in_need",
    "spoken", "She goes home at 3:15 today",
]

# The DSL takes STAFF_CONCERN on: the questions the sharing decision still needs.
TAKE_ON_SHARE = [
    "no",  # the DSL's own: does she know the family?
    "same",  # her own optimism question
    "child_in_need",  # her own level of concern
    "skip",  # other children
    "early_help",
    "yes", "Early help assessment to support the family",
    "yes", "no",
    "no",  # telling the family adds no risk
    "agreed",
    "same",  # barrier check
    "share",
    "Attendance pattern and the family's request for support",
    "ordinary",  # no special category data: no para 18 question
    "portal", "next_working_day",
    "none",
    "Mum agreed to an early help referral for support with food and routines.",
    "skip",
    "submit",
]

# The DSL (or a deputy) answers an agency's request: the sharing decision.
# The DSL's scripts say "I am the DSL" (so any front end, any account, plays
# them as the DSL); as_dsl_team() gives the form for an account the front
# end already knows is on the DSL team.
POLICE_PREJUDICE = [
    "no",  # danger
    "dsl_recording", "request", "police", "DC Patel, Child Abuse Investigation Team", "called_back",
    "What we know about the injury and what the child said",
    "AB-1234",
    "Bruise on left cheek seen 08:50 on arrival; child said dad hit him.",
    "significant",
    "skip",  # other children
    "yes",  # a safeguarding purpose
    "parent_source",  # telling the family adds risk: a parent may be the source
    "dad",  # who must not be told
    "same",  # barrier check
    "share",
    "Date, time and description of the injury and the child's words",
    "both",  # health (the injury) and an alleged offence
    "c",  # para 18(2)(c): consent would prejudice the police investigation
    "secure_email",  # today: significant harm
    "none",  # nobody else
    "Police are investigating; telling the father could put the child at risk.",
    "skip",  # follow-up
    "submit",
]

# An unverified caller: Share is never offered.
UNVERIFIED_POLICE = [
    "no",
    "dsl_recording", "request", "police", "DC Smith, withheld number", "not_verified",
    "The child's and mother's current address",  # where they live now
    "GH",
    "Caller says he needs the address urgently for a welfare check.",
    "not_sure",  # level
    "skip",  # other children
    "not_sure",  # purpose
    "defer", "today 16:00",
    "Not verified: calling back through the force switchboard before anything is shared.",
    "skip", "skip",
    "submit",
]

NO_PURPOSE = [
    "no",
    "dsl_recording", "records_request", "solicitor", "Solicitor acting for the father, by email",
    "Attendance and behaviour notes for a custody hearing",
    "CD",
    "do_not_share",
    "No safeguarding purpose: a custody dispute goes through the DPO or a court order.",
    "skip",
    "submit",
]

EARLY_HELP_CONSENT = [
    *_CONCERN,
    "EF",
    "Child often arrives late and hungry; mum says she is struggling since losing her job.",
    "skip", "not_discussed", "skip",
    "no", "same",
    "child_in_need",
    "skip",  # other children
    "early_help",
    "yes", "Early help assessment to support the family",
    "yes", "no",
    "no",  # telling the family adds no risk
    "agreed",
    "same",
    "share",
    "Attendance pattern and the family's request for support",
    "ordinary",  # no special category data: no para 18 question
    "portal", "next_working_day",
    "none",  # no one else
    "Mum agreed to an early help referral for support with food and routines.",
    "skip",
    "submit",
]

EARLY_HELP_REFUSED = [
    *_CONCERN,
    "GH",
    "Parents are separating; child has been tearful in class this week.",
    "skip", "not_discussed", "skip",
    "no", "same",
    "child_in_need",
    "skip",
    "early_help",
    "yes", "Early help support for the family",
    "yes", "no",
    "no",
    "refused",
    "do_not_share",
    "Parents declined early help; no risk of harm, so the refusal stands. Keep monitoring.",
    "skip",
    "submit",
]

REFUSED_SIGNIFICANT = [
    *_CONCERN,
    "JK",
    "Child disclosed that mum's partner locks her in her room without food.",
    "\"He locks me in and I get hungry\"",
    "not_discussed",
    "skip",
    "no", "same",
    "significant",
    "skip",
    "social_care",
    "yes", "Referral to children's social care",
    "yes",  # confidential (a referral names the child: not asked whether it identifies)
    "no",
    "refused",
    "share",  # a referral: no barrier check before the decision
    "The disclosure, dates and what was observed",
    "special",  # what is shared: special category data
    "c",  # para 18(2), about the child's own consent
    "phone_followup",
    "none",
    "Risk of significant harm outweighs the parent's refusal; referral made today.",
    "skip",
    "submit",
]

# A 15-year-old asks that no one be told: the DSL still hears.
CHILD_SECRET = [
    *_CONCERN,
    "OP",
    "Year 10 pupil told me her stepdad grabbed her by the neck last night.",
    "\"Please don't tell anyone, it'll make it worse\"",
    "secret",
    "skip", "no", "same",
    "significant",
    "skip",
    "dsl_only",
    "She asked me not to tell; I have told her I must tell the DSL, and why.",
    "skip",
    "submit",
]

# Significant harm, but the person wants to wait: challenged, kept, signed off.
SIGNIFICANT_NOT_SHARED = [
    *_CONCERN,
    "QR",
    "Child came in with a handprint bruise on his arm; said dad grabbed him.",
    "skip", "not_discussed", "skip", "yes", "same",
    "significant",
    "skip",
    "social_care",
    "yes", "Referral to children's social care",
    "no", "no",
    "not_told",
    "do_not_share",  # a referral: no barrier check before the decision
    "keep",  # the challenge names the barriers that fit
    "I want to give dad a chance to explain first; I know the family well.",
    "skip",
    "submit",
]

NOT_SURE = [
    *_CONCERN[:2], "not_sure",  # what is it about?
    "LM",
    "Child has had several unexplained absences and seems withdrawn.",
    "skip", "not_discussed", "skip",
    "no", "not_sure",  # optimism
    "not_sure",  # level
    "skip",
    "social_care",
    "not_sure",  # purpose
    "Possibly a referral, unsure it meets the threshold",
    "no",
    "not_sure",  # telling the family
    "not_sure",  # family's view
    "defer",  # a referral: no barrier check before the decision
    "tomorrow",
    "Need the DSL's view on threshold before deciding.",
    "Asked the deputy DSL, who said to wait for the DSL",
    "Speak to the DSL first thing", "tomorrow",
    "submit",
]

# A low-level concern about a member of staff: recorded, goes to the DSL.
ALLEGATION = [
    "no",
    "allegation",
    "staff",
    "low_level",
    "NP",
    "Saw a TA messaging a pupil from a personal phone after school on Tuesday.",
    "skip",
    "skip",
    "submit",
]

# An allegation about the DSL: never posted to the DSL channel.
ALLEGATION_DSL = [
    "no", "allegation", "dsl", "harm",
    "ST",
    "Pupil told me the DSL slapped him in the corridor at lunch today.",
    "\"Mr K hit me\"",
    "skip",
    "submit",
]

IMMEDIATE_DANGER = [
    "yes",
    "Called 999 at 10:42; police and ambulance attending, ref CAD 1234",
    "QR",
    "submit",
]

FGM_DISCLOSED = [
    *_CONCERN[:2], "fgm",
    "UV",
    "13-year-old girl told me she was cut during the summer holiday abroad.",
    "disclosed", "teacher", "reported", "101 ref 4455, 11:20 today",
    "\"They did it to me to become a woman\"",
    "skip",
    "submit",
]

# FGM where no reporting duty applies (Scotland, Northern Ireland): the
# usual child protection route, a referral the same day.
FGM_CHILD_PROTECTION = [
    *_CONCERN[:2], "fgm",
    "UV",
    "13-year-old girl told me she was cut during the summer holiday abroad.",
    "disclosed",
    "\"They did it to me to become a woman\"",
    "not_discussed", "skip", "no", "same",
    "significant",
    "skip",
    "social_care",
    "yes", "Child protection referral: FGM disclosed by the girl",
    "yes",
    "violence",  # telling the family adds risk: violence
    "her parents and their family",  # who must not be told
    "share",  # a referral: no barrier check before the decision
    "The disclosure, when and where, and the child's words",
    "both", "c",
    "phone_followup",
    "none",
    "FGM disclosed by a girl under 18: child protection referral today.",
    "skip",
    "submit",
]

CP_TRANSFER = [
    "no", "moving_school",
    "WX",
    "Oakfield Academy, DSL Mrs Rahman",
    "secure_system",
    "tomorrow",
    "awaiting",
    "skip",
    "submit",
]

PREVENT = [
    *_CONCERN[:2], "prevent",
    "YZ",
    "Pupil has been sharing far-right videos in class and praising an attack.",
    "skip", "not_discussed", "skip", "no", "same",
    "child_in_need",
    "skip",
    "yes", "Prevent referral so the child can be offered support",
    "yes", "no", "no",
    "told_not_asked",
    "same",
    "share",
    "What was said and shared, with dates",
    "special",  # political and religious beliefs are special category data
    "a",
    "secure_email", "today", "none",
    "Views and sharing suggest risk of radicalisation: Prevent referral for support.",
    "skip",
    "submit",
]

CHILD_ON_CHILD = [
    *_CONCERN[:2], "child_on_child",
    "AA",
    "Girl in Year 9 says a boy in Year 10 touched her over clothes in the lunch queue.",
    "BB (Year 10)", "sexual_violence", "She wants it to stop but is worried others will find out",
    "skip", "has_views", "She doesn't want her friends to know.",
    "skip", "no", "same",
    "significant",
    "police",
    "yes", "Sexual assault: the starting point is to pass it to the police",
    "yes", "no",
    "told_not_asked",
    "share",  # a referral to the police: no barrier check before the decision
    "What was reported, by whom and when; both children's references",
    "both",
    "b",
    "phone_followup",
    "none",
    "Sexual assault by another pupil; police and social care informed for both children.",
    "skip",
    "submit",
]

OPERATION_ENCOMPASS = [
    "no", "dsl_recording", "info_received", "operation_encompass",
    "CC",
    "Police notified a domestic abuse incident at home last night; child was present.",
    "skip",
    "skip",  # other children
    "support_in_school",
    "Key adult will check in with the child today; DSL keeps it under review.",
    "skip",
    "submit",
]

RECORD_ONLY = [
    *_CONCERN[:2], "record_only",
    "DD",
    "Child said she was tired because she stayed up late gaming.",
    "skip", "not_discussed", "skip", "no", "same", "skip",
    "Low-level worry kept for pattern-spotting; nothing else known.",
    "skip",
    "submit",
]

OPTIMISM = [
    *_CONCERN,
    "ST",
    "Noticed bruises on both upper arms in PE; child said he fell.",
    "skip", "not_discussed",
    "I'm sure it's fine, they're a lovely family",
    "yes",  # knows family
]

# A member of staff takes a request or notification: recorded and passed to
# the DSL, never decided (no decision, reasons, lawful basis or follow-ups).
STAFF_POLICE_REQUEST = [
    "no", "request", "police", "DC Patel, Child Abuse Investigation Team", "called_back",
    "What we know about the injury and what the child said",
    "AB-1234",
    "tomorrow",  # by when they need an answer
    "no",  # nothing that can't wait for the DSL: this answer sends it
]

STAFF_UNVERIFIED_REQUEST = [
    "no", "request", "police", "DC Smith, withheld number", "not_verified",
    "The child's and mother's current address",  # where they live now
    "GH",
    "skip",  # no date given
    "no",
]

# Urgent, and neither the DSL nor a deputy can be reached: the minimum shared.
STAFF_REQUEST_CANNOT_WAIT = [
    "no", "request", "police", "DC Patel, Child Abuse Investigation Team", "called_back",
    "Whether the child is in school today: officers are looking for her",
    "AB-1234",
    "today",
    "referred",  # it can't wait, the DSL can't be reached: the minimum shared
    "Told DC Patel at 10:05 that she is in school and safe; nothing else",
]

STAFF_RECORDS_REQUEST = [
    "no", "records_request", "solicitor", "Solicitor acting for the father, by email",
    "Attendance and behaviour notes for a custody hearing",
    "CD",
    "skip",  # no date given
    "submit",
]

STAFF_ENCOMPASS = [
    "no", "info_received", "operation_encompass",
    "CC",
    "Police notified a domestic abuse incident at home last night; child was present.",
    "skip",
    "no",  # nothing that can't wait for the DSL: this answer sends it
]

def says_dsl(script: list[str]) -> bool:
    """The script answers "I am the DSL". Slack and Teams offer that only to
    the DSL team, so they play it as a DSL-team account; the terminal, which
    cannot tell, takes the answer (and the record keeps it)."""
    return "dsl_recording" in script[:2]


# Each script with the decision and kind of record it must end in: a member
# of staff answers it, or, where it says "I am the DSL", the DSL team.
OUTCOMES = {
    "staff_concern": (STAFF_CONCERN, "tell_dsl", "concern"),
    "staff_self_referral": (STAFF_SELF_REFERRAL, "share", "concern"),
    "danger": (IMMEDIATE_DANGER, "share", "emergency"),
    "police": (STAFF_POLICE_REQUEST, "tell_dsl", "concern"),
    "unverified": (STAFF_UNVERIFIED_REQUEST, "tell_dsl", "concern"),
    "request_cannot_wait": (STAFF_REQUEST_CANNOT_WAIT, "share", "concern"),
    "records_request": (STAFF_RECORDS_REQUEST, "tell_dsl", "concern"),
    "eh_consent": (EARLY_HELP_CONSENT, "share", "decision"),
    "eh_refused": (EARLY_HELP_REFUSED, "do_not_share", "decision"),
    "refused_sig": (REFUSED_SIGNIFICANT, "share", "decision"),
    "child_secret": (CHILD_SECRET, "tell_dsl", "decision"),
    "sig_not_shared": (SIGNIFICANT_NOT_SHARED, "do_not_share", "decision"),
    "not_sure": (NOT_SURE, "defer", "decision"),
    "allegation": (ALLEGATION, "allegations_route", "allegation"),
    "allegation_dsl": (ALLEGATION_DSL, "allegations_route", "allegation"),
    "fgm": (FGM_DISCLOSED, "share", "decision"),
    "transfer": (CP_TRANSFER, "share", "decision"),
    "prevent": (PREVENT, "share", "decision"),
    "child_on_child": (CHILD_ON_CHILD, "share", "decision"),
    "encompass": (STAFF_ENCOMPASS, "tell_dsl", "concern"),
    "record_only": (RECORD_ONLY, "record_only", "decision"),
}

def as_dsl_team(script: list[str]) -> list[str]:
    """A DSL script without "I am the DSL": for an account the front end
    knows is on the DSL team (DSL channel, configured ids, DSL accounts)."""
    assert script[1] == "dsl_recording", script[:3]
    return [script[0], *script[2:]]


# Scripts only the DSL team answers (they say "I am the DSL").
DSL_OUTCOMES = {
    "police": (POLICE_PREJUDICE, "share", "decision"),
    "unverified": (UNVERIFIED_POLICE, "defer", "decision"),
    "no_purpose": (NO_PURPOSE, "do_not_share", "decision"),
    "encompass": (OPERATION_ENCOMPASS, "received", "decision"),
}

# Staff taking the routes with their own rules pass them to the DSL too: no
# decision, reasons, lawful basis or follow-ups of their own.
STAFF_SIGNIFICANT = [
    "no", "own_concern",
    "QR",
    "Child came in with a handprint bruise on his arm; said \"dad grabbed me\".",
    "not_discussed", "skip", "same_unknown",
    "significant",
    "spoken",  # significant harm can't wait: only who has it is asked
]

STAFF_PREVENT = [
    "no", "prevent",
    "YZ",
    "Pupil has been sharing far-right videos in class and praising an attack.",
    "not_discussed", "skip", "same_unknown",
    "child_in_need",
    "no",
]

STAFF_CHILD_ON_CHILD = [
    "no", "child_on_child",
    "AA",
    "Girl in Year 9 says a boy in Year 10 touched her over clothes in the lunch queue:"
    " \"he grabbed me and laughed\".",
    "BB (Year 10)", "sexual_violence",
    "has_views", "She wants it to stop but doesn't want her friends to know.",
    "skip",
    "going_now",  # sexual assault is significant harm: who has it
]

# FGM where the person has no personal duty (not a teacher; or only suspected).
STAFF_FGM_SUSPECTED = [
    "no", "fgm",
    "UV",
    "Girl says she is going abroad this summer for a special ceremony \"to become a woman\".",
    "suspected",
    "not_discussed", "skip", "same_unknown",
    "not_sure",
    "no",
]

STAFF_FGM_TOLD_TA = [
    "no", "fgm",
    "UV",
    "13-year-old girl told me she was cut during the summer holiday abroad:"
    " \"They did it to me to become a woman\".",
    "disclosed", "other_staff",
    "not_discussed", "skip", "same_unknown",
    "spoken",  # FGM disclosed is significant harm: who has it
]

# A teacher told by the girl: the personal duty to report to the police.
STAFF_FGM_TEACHER = [
    "no", "fgm",
    "UV",
    "13-year-old girl told me she was cut during the summer holiday abroad:"
    " \"They did it to me to become a woman\".",
    "disclosed", "teacher", "reported", "101 ref 4455, 11:20 today",
    "submit",
]

STAFF_RECORD_ONLY = [
    "no", "record_only",
    "DD",
    "Child said she was tired because she stayed up late gaming.",
    "not_discussed", "skip", "same_unknown",
    "submit",
]

# Danger now, 999 called, and the person goes on to tell the rest.
STAFF_DANGER_CONTINUE = [
    "yes",
    "Called 999 at 10:42; police attending, ref CAD 1234",
    "QR",
    "continue",
    "own_concern",
    "Dad arrived drunk and shouting at the gate and tried to take him.",
    "not_discussed", "skip", "same_unknown",
    "significant",
    "spoken",
]
