"""What the rules wrote, said in the desk's language.

The services word their own events in English (a conversion, a stage move, signed acts, a repeat
request), name the first-call task "Call <name>", and label a task's record "lead: <name>"; the
database keeps them as written. Shown in Russian, each known wording is said again in Russian, with the
stages' Russian names; call outcomes from the standard list take their words in the language asked for.
Anything else, what people typed, is shown as it was written. No Textual here: the reminders' messages
(services) use it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from crm_tui.i18n import t

OUTCOMES = (
    "reached",
    "no answer",
    "busy",
    "voicemail",
    "call back later",
    "wrong number",
    "not interested",
    "interested",
)
"""The call outcomes offered when a call is logged (the last one is written by the demo's scripts)."""

WORDINGS: tuple[tuple[str | None, re.Pattern[str], str], ...] = tuple(
    (kind, re.compile(pattern), key)
    for kind, pattern, key in (
        ("conversion", r"Lead #(?P<lead>\d+) converted", "event.converted"),
        (
            "conversion",
            r"Deal #(?P<deal>\d+) (?P<q>['\"])(?P<title>.*)(?P=q) opened at (?P<stage>.+)",
            "event.deal-opened",
        ),
        ("repeat_request", r"Repeat request from (?P<name>.+)", "event.repeat-request"),
        (None, r"Acts signed", "event.acts-signed"),  # whole texts: the same words, whoever wrote them
        (None, r"Disqualified", "event.disqualified"),
        ("note", r"Contact archived", "event.contact-archived"),
        ("note", r"Contact restored", "event.contact-restored"),
        ("merge", r"Merged contact #(?P<id>\d+) (?P<name>.+)", "event.contact-merged"),
        ("merge", r"Merged into contact #(?P<id>\d+) (?P<name>.+)", "event.contact-merged-into"),
        (
            "merge",
            r"Company #(?P<other>\d+) (?P<name>.+) merged into #(?P<id>\d+) (?P<keep>.+)",
            "event.company-merged",
        ),
    )
)
"""(the event kind the rules write it as, or None for any, pattern, i18n key). A pattern applies only
to events of its kind, so a note someone typed ("Repeat request from the CFO...") is left as written."""
MOVE = " → "
LINK_KINDS = ("deal", "contact", "lead")


def outcome_word(outcome: str, lang: str) -> str:
    """A standard call outcome in ``lang`` (``reached`` <-> ``дозвонились``), whichever language it was
    logged in; any other outcome as written."""
    for code in OUTCOMES:
        if outcome in (code, t(f"outcome.{code}", "ru")):
            return t(f"outcome.{code}", lang)
    return outcome


def event_words(text: str, lang: str, stage_names: Mapping[str, str], kind: str) -> str:
    """A subject or summary of an event of ``kind``, in ``lang``, when the rules wrote it; ``stage_names``
    maps English stage names to the desk's (``Stage.name_ru``). Anything else comes back as it is."""
    if lang == "en" or not text:
        return text
    for of_kind, pattern, key in WORDINGS:
        if of_kind is not None and of_kind != kind:
            continue
        found = pattern.fullmatch(text)
        if found is not None:
            values = found.groupdict()
            if "stage" in values:
                values["stage"] = stage_names.get(values["stage"], values["stage"])
            return t(key, lang).format(**values)
    if kind == "stage_change" and MOVE in text:  # "<deal title>: <stage> → <stage>"
        before, after = text.rsplit(MOVE, 1)
        title, sep, origin = before.rpartition(": ")
        if sep and (origin in stage_names or after in stage_names):
            return f"{title}: {stage_names.get(origin, origin)}{MOVE}{stage_names.get(after, after)}"
    return text


def task_title(title: str, kind: str | None, lang: str, linked_label: str = "") -> str:
    """A task's title in ``lang``: the first-call task as the rules named it ("Call <the lead's name>",
    the lead or contact in ``linked_label``) is said in it; renamed by someone, it is left as written."""
    if lang != "en" and kind == "first_call":
        name = linked_label.partition(": ")[2]
        if name and title == f"Call {name}":
            return t("task.first-call", lang).format(name=name)
    return title


def linked_text(label: str, lang: str = "en") -> str:
    """The service's ``"deal: Title"`` / ``"contact: Name"`` / ``"lead: Name"`` in ``lang``."""
    for kind in LINK_KINDS:
        if label.startswith(f"{kind}: "):
            return t(f"tasks.linked.{kind}", lang).format(name=label[len(kind) + 2 :])
    return label


def field_word(field: str, lang: str) -> str:
    """A lead's field as ``lang`` names it (``utm_term`` -> ``keyword`` / ``ключевое слово``)."""
    key = f"field.{field}"
    word = t(key, lang)
    return field if word == key else word


def event_text(code: str, params: Mapping[str, object], lang: str = "en", *, detail: bool = False) -> str:
    """An event the desk recorded with a code (``lead.edited``...), worded in ``lang`` from its
    parameters; ``detail`` adds what each edited field was and became. An unknown code shows as it is."""
    key = f"event.{code}"
    template = t(key, lang)
    if template == key:
        return code
    values = {k: "" if v is None else v for k, v in params.items()}
    changes = params.get("changes")
    if isinstance(changes, Mapping):
        values["fields"] = ", ".join(field_word(str(f), lang) for f in changes)
    text = template.format_map(_Keep(values))
    if detail and isinstance(changes, Mapping):
        lines = []
        for name, change in changes.items():
            if isinstance(change, Mapping):
                before, after = change.get("from"), change.get("to")
                lines.append(
                    t("event.field-change", lang).format(
                        field=field_word(str(name), lang), before=before or "—", after=after or "—"
                    )
                )
        text = "\n".join([text, *lines])
    return text


class _Keep(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return ""
