"""Real phrasings, as staff and children put them, for every cue.

Each cue has phrasings it must catch ("yes") and phrasings it must leave
alone ("no"). A cue that misses costs a child; one that misfires teaches
people to skip the reminders. Add a phrasing here whenever a case shows a
cue getting it wrong, then make the test pass.
"""

from __future__ import annotations

CORPUS: dict[str, dict[str, tuple[str, ...]]] = {
    # The rule of optimism: thinking the best of the adults (in the person's view).
    "optimism": {
        "yes": (
            "Dad is a really nice guy, I can't see him doing this",
            "They're good people, they just struggle",
            "I know the family from church",
            "I've known the family for years",
            "We know them well, mum helps at the fair",
            "I'm sure it's fine, they're a lovely family",
            "Mum is lovely and so caring",
            "He wouldn't hurt a fly",
            "She said it was consensual",
            "Probably nothing, he's just clumsy",
            "It was a one-off, dad had a bad week",
            "Completely out of character for him",
            "They're a family friend of the head's",
            "His dad means well",
            "She's very mature for her age",
            "Just banter between mates",
            "They are doing their best",
        ),
        "no": (
            "It was non-consensual",
            "She said it was not consensual",
            "She never consented to any of it",
            "It's great that she told us straight away",
            "The school nurse's advice was to refer",
            "Her marks have dropped in maths",
            "I don't know the family",
            "Dad hit her with a belt",
            "She is scared to go home",
        ),
    },
    # A child asking for secrecy (in the child's own words).
    "secrecy": {
        "yes": (
            "Please don't tell anyone",
            "Promise you won't tell my mum",
            "You can't tell, it's a secret",
            "Keep it between us",
            "Do not tell my dad",
        ),
        "no": (
            "He told me what happened at the weekend",
            "I want you to help me",
            "Mum said I should talk to you",
        ),
    },
    # Minimising child-on-child abuse.
    "minimising": {
        "yes": (
            "It's just banter",
            "Boys will be boys",
            "They were just messing about",
            "It was only a joke",
            "Part of growing up",
        ),
        "no": (
            "He grabbed her in the lunch queue",
            "She is frightened of the boys in Year 10",
        ),
    },
    # Holding back for the family's trust.
    "trust": {
        "yes": (
            "I don't want to lose their trust",
            "It will damage our relationship with the family",
            "It would upset mum if we referred",
        ),
        "no": (
            "She trusts me and told me at break",
            "He says he trusts school",
        ),
    },
    # Fear of consequences for oneself.
    "consequences": {
        "yes": (
            "What if I get it wrong?",
            "I don't want to get in trouble",
            "The parents will complain",
            "I might be overreacting",
        ),
        "no": (
            "She got in trouble at lunch for shouting",
        ),
    },
    # Routes a concern may belong on (the person is offered the route).
    "fgm": {
        "yes": (
            "She was cut during the summer holiday abroad",
            "Her aunt said she will be cut when she is older to become a woman",
            "She's been talking about a cutting ceremony at her grandmother's",
            "FGM was mentioned by her sister",
        ),
        "no": (
            "She is cutting again, fresh cuts on her arms",
            "He cut himself at the weekend",
            "She has been cut off by her dad since the divorce",
            "Her hair was cut short by mum as a punishment",
            "Cuts on her wrists",
        ),
    },
    "prevent": {
        "yes": (
            "He has been sharing far-right videos",
            "She talks about ISIS being right",
            "Drew a swastika on his planner",
        ),
        "no": (
            "He is right-handed and far from home",
        ),
    },
    "child_on_child": {
        "yes": (
            "A boy in Year 10 touched her in the lunch queue",
            "Another pupil has been sending her messages",
            "Two older boys pushed him against the wall",
        ),
        "no": (
            "Mum's boyfriend hit him",
            "She is worried about her little brother at home",
        ),
    },
    "transfer": {
        "yes": (
            "She is moving to a new school next week",
            "He is transferring to Oakfield after half term",
        ),
        "no": (
            "She moved house last month",
        ),
    },
    # Domestic abuse: the parents are not one party.
    "domestic_abuse": {
        "yes": (
            "Operation Encompass call this morning",
            "Dad was arrested for hitting mum",
            "There was a domestic incident at home last night",
            "Mum has fled to a refuge with the children",
            "There is a non-molestation order against dad",
            "He is controlling and coercive towards her mum",
            "Mum says dad is violent to her at home",
            "Her stepdad can be aggressive towards mum when he drinks",
        ),
        "no": (
            "Mum's partner picks him up on Fridays",
            "Dad lives in Leeds",
            "She was upset about a domestic science lesson",
            "He was violent to another pupil at break",
        ),
    },
    # Where a child or parent can be found: the address warning.
    "location": {
        "yes": (
            "The child's and mother's current address",
            "Who collects her from school now?",
            "Which days is he in school?",
            "Her timetable for next term",
            "What is her daily routine?",
            "What time does she finish on Fridays?",
            "Pick-up arrangements",
            "Where are they living now?",
        ),
        "no": (
            "Her attendance this term and any concerns",
            "What the child said about the injury",
            "School reports and behaviour log",
        ),
    },
    # A pupil who may be 16 or over (their age is then asked).
    "older_pupil": {
        "yes": (
            "Year 13 student, 18, disclosed abuse",
            "She is 17 and in the sixth form",
            "An 18-year-old pupil told me",
            "S6 pupil (16) says",
            "He turned 18 last week",
            "A college student on our post-16 course",
        ),
        "no": (
            "Year 4 pupil, 8, said",
            "She is 12 and in Year 7",
            "Her brother, who is 16, collects her",
        ),
    },
}
