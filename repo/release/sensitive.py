"""Sensitive variables (NHLBI IV.B.4.c): the words that mark them in a name, a label or the values.

The NHLBI asks that variables on drug and alcohol use, psychiatric diagnoses,
HIV status, sexual behaviour and illegal activity be deleted before sharing.
A delivery rarely says so in a dictionary: ``alcoholism``, ``cocaine_use``,
``psych_dx`` and ``ivdrug`` are bare names, and a diagnosis column may hold
"schizophrenia" for a handful of participants. Each topic lists whole name
tokens (``psych`` in ``psych_dx``), stems looked for inside a name
(``cocaine`` in ``everusedcocaine``), and label and value patterns. Words that
are also everyday clinical terms are left out on purpose (``arrest`` is a
cardiac arrest, ``drug`` the study drug, ``opioid`` an analgesic, ``aids``
hearing aids), because a false alarm on every trial teaches curators to
ignore the alarm.
"""

from __future__ import annotations

import re

# topic -> (name tokens, stems inside a name, label pattern, value pattern (RE2, searched case-insensitively))
TOPICS: dict[str, tuple[set[str], tuple[str, ...], str, str]] = {
    "substance use": (
        {"alcohol", "alcoholism", "alcoholic", "etoh", "drugs", "ivdu", "idu", "ivdrug", "ivdrugs", "pwid", "cocaine",
         "heroin", "opiate", "opiates", "methadone", "cannabis", "marijuana", "amphetamine", "amphetamines",
         "substance", "addiction"},
        ("alcohol", "cocaine", "heroin", "ivdrug", "marijuana", "cannabis", "amphetamin", "opiate"),
        r"drug use|illicit|intravenous drug|inject\w* drug|alcohol|cocaine|heroin|opiate|cannabis|marijuana|"
        r"amphetamine|substance (ab)?use|addict",
        r"\b(cocaine|heroin|methamphetamine|amphetamines?|cannabis|marijuana|opiates?|illicit drugs?|iv drugs?|"
        r"intravenous drugs?|inject\w* drugs?|alcoholism|alcoholic|alcohol (abuse|dependence|use disorder)|"
        r"substance (ab)?use|drug (ab)?use|addiction)\b"),
    "psychiatric diagnoses": (
        {"psych", "psychiatric", "psychiatry", "psychosis", "psychotic", "schizo", "schizophrenia", "bipolar",
         "suicide", "suicidal", "selfharm", "ptsd"},
        ("psychiatr", "schizo", "suicid", "psychos", "bipolar"),
        r"psychiatr|psychos|psychotic|schizo|bipolar|mental (illness|disorder)|suicid|self-harm|"
        r"post-traumatic stress",
        r"\b(psychiatric|psychosis|psychotic|schizo\w*|bipolar|major depress\w*|depressive disorder|"
        r"personality disorder|suicid\w*|self-harm|ptsd|post-traumatic stress)\b"),
    "HIV status": (
        {"hiv"},
        (),
        r"\bhiv (status|serostatus|positive|infection|test)",
        r"\bhiv[ -]?(positive|infected|infection|\+)"),
    "sexual behaviour": (
        {"homo", "homosexual", "sexual", "msm", "bisexual", "sexwork", "prostitution"},
        ("homosex", "bisexual", "prostitut", "sexual"),
        r"homosexual|bisexual|sexual|sex (work|partner)|prostitut|men who have sex with men|unprotected (sex|inter)",
        r"\b(homosexual|bisexual|men who have sex with men|sex work\w*|prostitut\w*|msm)\b"),
    "illegal activity": (
        {"gun", "firearm", "firearms", "illegal", "crime", "criminal", "prison", "jail", "incarcerated",
         "incarceration", "violence", "violent"},
        ("incarcerat", "firearm", "criminal"),
        r"violen|firearm|illegal|criminal|crime|prison|jail|incarcerat|arrested|convicted",
        r"\b(incarcerat\w*|prison|jail|arrested|convicted|criminal|illegal)\b"),
}

# for the proposal (proposal.py): any topic's words
SENSITIVE_TOKENS = set().union(*(words for words, _, _, _ in TOPICS.values()))
SENSITIVE_PARTS = tuple(part for _, parts, _, _ in TOPICS.values() for part in parts)
SENSITIVE_LABEL = re.compile("|".join(f"(?:{label})" for _, _, label, _ in TOPICS.values()))
_LABELS = {topic: re.compile(label) for topic, (_, _, label, _) in TOPICS.items()}


def tokens(name: str) -> list[str]:
    """The words of a column name: ``cocaineUse`` and ``cocaine_use`` both give cocaine, use."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def by_name(name: str, label: str) -> tuple[str, str] | None:
    """(topic, what says so: "its name says 'cocaine'") when the name or label marks a sensitive variable."""
    words = tokens(name)
    lowered = name.lower()
    for topic, (names, parts, _, _) in TOPICS.items():
        word = next((t for t in words if t in names), None) or next((p for p in parts if p in lowered), None)
        if word:
            return topic, f"its name says {word!r}"
    for topic, pattern in _LABELS.items():
        if label and (found := pattern.search(label.lower())):
            return topic, f"its label says {found.group(0)!r}"
    return None


def value_patterns() -> list[tuple[str, str]]:
    """(topic, RE2 pattern) to search each text value for, case-insensitively."""
    return [(topic, values) for topic, (_, _, _, values) in TOPICS.items()]
