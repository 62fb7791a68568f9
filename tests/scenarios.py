"""Scripted answers for the cases the guidance cares most about.

Each scenario is the list of answers a person gives, in order, as they would
type them in the terminal (choice values or free text). The same scripts
drive the engine, the terminal runner and the Slack app in the tests.
"""

from __future__ import annotations

POLICE_PREJUDICE = [
    "no",  # danger
    "request", "police", "DC Patel, Child Abuse Investigation Team", "called_back",
    "no",  # allegation
    "AB-1234",
    "Bruise on left cheek seen 08:50 on arrival; child said dad hit him.",
    "skip",  # child's words
    "skip",  # opinion
    "no",  # knows family
    "significant",
    "yes", "Police investigating an assault on the child",
    "yes",  # identifiable
    "yes",  # confidential
    "yes",  # telling the family adds risk
    "parent_source",
    "none",  # hesitation
    "same",  # barrier check
    "accept",  # lawful basis
    "Date, time and description of the injury and the child's words",
    "secure_email", "today",
    "share",
    "Police are investigating; telling the father could put the child at risk.",
    "skip", "skip",
    "submit",
]

NO_PURPOSE = [
    "no",
    "request", "private_party", "Solicitor acting for the father", "secure_email",
    "no",
    "CD",
    "Solicitor asked for attendance and behaviour notes for a custody hearing.",
    "skip", "skip",
    "no",
    "low",
    "no",  # purpose
    "Wanted for a custody dispute, not to protect the child",
    "none", "same",
    "Attendance and behaviour notes",
    "No safeguarding purpose: a custody dispute goes through the DPO or a court order.",
    "skip", "skip",
    "submit",
]

EARLY_HELP_CONSENT = [
    "no",
    "own_concern",
    "no",
    "EF",
    "Child often arrives late and hungry; mum says she is struggling since losing her job.",
    "skip", "skip",
    "no",
    "child_in_need",
    "early_help",
    "yes", "Early help assessment to support the family",
    "yes", "no",
    "no",  # telling the family adds no risk
    "given",
    "none", "same",
    "accept",
    "Attendance pattern and the family's request for support",
    "portal", "next_working_day",
    "share",
    "Mum agreed to an early help referral for support with food and routines.",
    "skip", "skip",
    "submit",
]

EARLY_HELP_REFUSED = [
    "no",
    "own_concern",
    "no",
    "GH",
    "Parents are separating; child has been tearful in class this week.",
    "skip", "skip",
    "no",
    "child_in_need",
    "early_help",
    "yes", "Early help support for the family",
    "yes", "no",
    "no",
    "refused",
    "none", "same",
    "What the family agreed we could say",
    "do_not_share",
    "Parents declined early help; no risk of harm, so the refusal stands. Keep monitoring.",
    "skip", "skip",
    "submit",
]

REFUSED_SIGNIFICANT = [
    "no",
    "own_concern",
    "no",
    "JK",
    "Child disclosed that mum's partner locks her in her room without food.",
    "\"He locks me in and I get hungry\"",
    "skip",
    "no",
    "significant",
    "social_care",
    "yes", "Referral to children's social care",
    "yes", "yes",
    "no",
    "refused",
    "c",
    "none", "same",
    "accept",
    "The disclosure, dates and what was observed",
    "phone_followup", "today",
    "share",
    "Risk of significant harm outweighs the parent's refusal; referral made today.",
    "skip", "skip",
    "submit",
]

NOT_SURE = [
    "no",
    "own_concern",
    "not_sure",  # allegation?
    "LM",
    "Child has had several unexplained absences and seems withdrawn.",
    "skip", "skip",
    "no",
    "not_sure",  # level
    "social_care",
    "not_sure",  # purpose
    "Possibly a referral, unsure it meets the threshold",
    "yes", "no",
    "not_sure",  # telling the family
    "not_sure",  # consent
    "confidence", "same",
    "not_sure",  # lawful basis
    "Attendance record only",
    "secure_email", "today",
    "defer",
    "tomorrow",
    "Need the DSL's view on threshold before deciding.",
    "Asked the deputy DSL, who said to wait for the DSL",
    "Speak to the DSL first thing", "tomorrow",
    "submit",
]

ALLEGATION = [
    "no",
    "own_concern",
    "yes",  # allegation against an adult
    "NP",
    "submit",
]

IMMEDIATE_DANGER = [
    "yes",
    "Called 999 at 10:42; police and ambulance attending, ref CAD 1234",
    "QR",
    "submit",
]

OPTIMISM = [
    "no",
    "own_concern",
    "no",
    "ST",
    "Noticed bruises on both upper arms in PE; child said he fell.",
    "skip",
    "I'm sure it's fine, they're a lovely family",
    "yes",  # knows family
    "low",
]

# Each script with the decision and kind of record it must end in.
OUTCOMES = {
    "danger": (IMMEDIATE_DANGER, "share", "emergency"),
    "police": (POLICE_PREJUDICE, "share", "decision"),
    "no_purpose": (NO_PURPOSE, "do_not_share", "decision"),
    "eh_consent": (EARLY_HELP_CONSENT, "share", "decision"),
    "eh_refused": (EARLY_HELP_REFUSED, "do_not_share", "decision"),
    "refused_sig": (REFUSED_SIGNIFICANT, "share", "decision"),
    "not_sure": (NOT_SURE, "defer", "decision"),
    "allegation": (ALLEGATION, "allegations_route", "allegation"),
}
