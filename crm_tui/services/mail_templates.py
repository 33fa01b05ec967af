"""Mail templates: the shipped ones (:mod:`crm_tui.services.mail_shipped`) and a desk's own, stored in
the database, which override them name for name and language for language.

Templates are text people edit, so they are rendered by Jinja2's **sandboxed** environment: a template
can use the values it is given, loops and filters, but cannot reach Python's internals (``__class__``,
``mro``...) or call anything unsafe. A template that does not parse, names an unknown value or breaks
while rendering is refused with the line it is on (code ``template.error``), and nothing is sent.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_tui.data.db import database
from crm_tui.data.mail_models import MailTemplate
from crm_tui.services.errors import InvalidInput, NotFound
from crm_tui.services.mail_shipped import NAMES, SHIPPED
from crm_tui.services.validation import forbidden_char

LANGS = ("en", "ru")
MAX_SOURCE = 50_000
FILENAME = "<template>"


@dataclass(frozen=True)
class TemplateRow:
    name: str
    lang: str
    subject: str  # the Subject: line as written (unrendered)
    own: bool  # the desk's own version, not the shipped one
    updated_at: datetime | None


@dataclass(frozen=True)
class TemplateText:
    name: str
    lang: str
    source: str
    own: bool


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise InvalidInput(
            f"No language {lang!r}; one of: {', '.join(LANGS)}",
            {"lang": "unknown"},
            code="lang.unknown",
            params={"lang": lang, "known": list(LANGS)},
        )
    return lang


def _check_name(name: str) -> str:
    clean = name.strip().lower()
    if not clean or len(clean) > 64 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in clean):
        raise InvalidInput(
            f"Not a template name: {name!r} (letters, digits, - and _)",
            {"name": "invalid"},
            code="template.name.invalid",
            params={"name": name},
        )
    return clean


def names() -> list[str]:
    """Shipped names first, in their order, then the desk's own extra ones."""
    own = [n for (n,) in MailTemplate.select(MailTemplate.name).distinct().tuples() if n not in NAMES]
    return [*NAMES, *sorted(own)]


def list_all() -> list[TemplateRow]:
    own = {(t.name, t.lang): t for t in MailTemplate.select()}
    rows: list[TemplateRow] = []
    for name in names():
        for lang in LANGS:
            mine = own.get((name, lang))
            source = mine.source if mine else SHIPPED[lang].get(name)
            if source is None:
                continue
            rows.append(
                TemplateRow(
                    name=name,
                    lang=lang,
                    subject=_subject_line(source),
                    own=mine is not None,
                    updated_at=mine.updated_at if mine else None,
                )
            )
    return rows


def _subject_line(source: str) -> str:
    first = source.split("\n", 1)[0]
    return first[len("Subject:") :].strip() if first.startswith("Subject:") else ""


def get(name: str, lang: str) -> TemplateText:
    name, lang = _check_name(name), _check_lang(lang)
    mine = MailTemplate.get_or_none((MailTemplate.name == name) & (MailTemplate.lang == lang))
    if mine is not None:
        return TemplateText(name, lang, mine.source, True)
    shipped = SHIPPED[lang].get(name)
    if shipped is None:
        raise NotFound(
            f"No template {name!r}; known: {', '.join(names())}",
            code="template.not_found",
            params={"name": name, "known": names()},
        )
    return TemplateText(name, lang, shipped, False)


def check(source: str) -> None:
    """Refuse a template that could never be sent: no ``Subject:`` line, bad characters, bad syntax."""
    text = source.replace("\r\n", "\n")
    if len(text) > MAX_SOURCE:
        raise InvalidInput(
            f"The template is {len(text)} characters; at most {MAX_SOURCE}",
            {"source": "too long"},
            code="template.too_long",
            params={"length": len(text), "max": MAX_SOURCE},
        )
    bad = forbidden_char(text, multiline=True)
    if bad is not None:
        line = text[: bad[0]].count("\n") + 1
        raise _error(f"a control character (U+{ord(bad[1]):04X})", line)
    if not text.startswith("Subject:"):
        raise _error("the first line must be the subject: 'Subject: ...'", 1)
    from jinja2 import TemplateSyntaxError

    try:
        _env().parse(text)
    except TemplateSyntaxError as error:
        raise _error(error.message or "syntax error", error.lineno) from error


def put(name: str, lang: str, source: str, *, by: int | None, now: datetime) -> TemplateText:
    """Store the desk's own version (checked first: a broken template is refused, nothing stored)."""
    name, lang = _check_name(name), _check_lang(lang)
    text = source.replace("\r\n", "\n")
    check(text)
    with database.atomic():
        MailTemplate.insert(name=name, lang=lang, source=text, updated_at=now, updated_by=by).on_conflict(
            conflict_target=[MailTemplate.name, MailTemplate.lang],
            update={MailTemplate.source: text, MailTemplate.updated_at: now, MailTemplate.updated_by: by},
        ).execute()
    return TemplateText(name, lang, text, True)


def reset(name: str, lang: str) -> bool:
    """Drop the desk's own version: the shipped one is used again. False when there was none."""
    name, lang = _check_name(name), _check_lang(lang)
    with database.atomic():
        gone = (
            MailTemplate.delete().where((MailTemplate.name == name) & (MailTemplate.lang == lang)).execute()
        )
    return bool(gone)


def _env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, trim_blocks=False
    )


def _error(reason: str, line: int | None) -> InvalidInput:
    where = f"line {line}: " if line else ""
    return InvalidInput(
        f"template error at {where}{reason}",
        {"source": reason},
        code="template.error",
        params={"line": line, "reason": reason},
    )


def _template_line(tb: Any) -> int | None:
    """The template line a rendering error happened on: Jinja2 rewrites its frames to the template's."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_source(source: str, context: dict[str, Any]) -> Rendered:
    """Render a template's text: its subject and body. Any failure is :func:`_error` with the line."""
    from jinja2 import TemplateError, TemplateSyntaxError
    from jinja2.sandbox import SecurityError

    check(source)
    text = source.replace("\r\n", "\n")
    try:
        template = _env().from_string(text)
        out = template.render(**context)
    except TemplateSyntaxError as error:
        raise _error(error.message or "syntax error", error.lineno) from error
    except SecurityError as error:
        raise _error(f"not allowed in a template: {error}", _template_line(sys.exc_info()[2])) from error
    except TemplateError as error:
        raise _error(str(error.message or error), _template_line(sys.exc_info()[2])) from error
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as error:
        raise _error(f"{type(error).__name__}: {error}", _template_line(sys.exc_info()[2])) from error
    head, _, body = out.partition("\n")
    subject = " ".join(head[len("Subject:") :].split())
    if not subject:
        raise _error("the subject is empty", 1)
    return Rendered(subject=subject[:300], body=body.lstrip("\n"))


def render(name: str, lang: str, context: dict[str, Any]) -> Rendered:
    return render_source(get(name, lang).source, context)
