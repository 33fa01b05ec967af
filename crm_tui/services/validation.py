"""What a person types, checked once for every face: phones to E.164 (phonenumbers), e-mails
(email-validator), and text (names, titles, comments).

Text rules (:func:`clean_text`, used through :func:`required_text` and :func:`optional_text`):

- **Too long is refused, never cut**: ``"Name is 312 characters; at most 300"`` (code ``text.too_long``).
- **Control characters are refused** (code ``text.control``): C0 and C1 controls and DEL, and the line and
  paragraph separators, except a newline and a tab in a multi-line field (a comment, a summary). A
  carriage return there is taken as a newline (browsers send ``CR LF``).
- **Bidirectional overrides and isolates are refused** (code ``text.bidi``): U+202A..U+202E and
  U+2066..U+2069 can make a name read backwards in a table or hide what follows it.
- **Text that is not Unicode is refused** (code ``text.encoding``): a lone surrogate, which is what a
  byte that is not UTF-8 becomes in a command's argument.

Refusing rather than quietly dropping them tells the person what was wrong, and what is stored is what
they see.
"""

from __future__ import annotations

import os
import unicodedata

import phonenumbers

from crm_tui.services.errors import InvalidInput

ENV_REGION = "CRM_PHONE_REGION"


def default_region() -> str:
    return os.environ.get(ENV_REGION, "RU").upper()


def normalize_phone(raw: str, region: str | None = None) -> str:
    """``"8 (916) 123-45-67"`` and ``"+7 916 123 45 67"`` both give ``"+79161234567"``."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput("Phone is required", {"phone": "required"}, code="phone.required")
    try:
        number = phonenumbers.parse(text, region or default_region())
    except phonenumbers.NumberParseException as error:
        raise InvalidInput(
            f"Not a phone number: {text!r}",
            {"phone": "not a phone number"},
            code="phone.not_a_number",
            params={"text": text},
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            f"Not a valid phone number: {text!r}",
            {"phone": "not a valid number"},
            code="phone.invalid",
            params={"text": text},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Human form: ``+7 916 123-45-67``."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalize_email(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    # Imported here: compiling its patterns costs ~14 ms, which the app's start would pay for nothing.
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput(
            f"Not a valid e-mail: {text!r} ({error})",
            {"email": "not a valid e-mail"},
            code="email.invalid",
            params={"text": text, "reason": str(error)},
        ) from error
    return result.normalized.lower()


# Bidirectional embeddings, overrides (U+202A..U+202E) and isolates (U+2066..U+2069).
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
LINE_SEPARATORS = frozenset("\u2028\u2029")
MULTILINE_ALLOWED = frozenset("\n\t")


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def forbidden_char(text: str, *, multiline: bool = False) -> tuple[int, str] | None:
    """The first character a field may not hold (position from 1, the character), or None."""
    for position, char in enumerate(text, start=1):
        if char in BIDI_CONTROLS:
            return position, char
        if multiline and char in MULTILINE_ALLOWED:
            continue
        if char in LINE_SEPARATORS or unicodedata.category(char) in ("Cc", "Cs"):
            return position, char
    return None


def clean_text(
    value: str | None,
    field: str,
    label: str,
    max_length: int = 300,
    *,
    multiline: bool = False,
    required: bool = False,
) -> str:
    """``value`` stripped, or InvalidInput naming ``label``: empty when required, too long (the length
    and the limit named), a control character or a bidirectional override (which one and where).

    A multi-line field keeps newlines and tabs; its ``CR LF`` and lone ``CR`` become ``LF``.
    """
    text = value or ""
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip()
    if not text:
        if required:
            raise InvalidInput(
                f"{label} is required",
                {field: "required"},
                code="text.required",
                params={"field": field, "label": label},
            )
        return ""
    if len(text) > max_length:
        raise InvalidInput(
            f"{label} is {len(text)} characters; at most {max_length}",
            {field: f"at most {max_length} characters"},
            code="text.too_long",
            params={"field": field, "label": label, "length": len(text), "max": max_length},
        )
    bad = forbidden_char(text, multiline=multiline)
    if bad is not None:
        position, char = bad
        params = {"field": field, "label": label, "char": _codepoint(char), "position": position}
        if unicodedata.category(char) == "Cs":
            raise InvalidInput(
                f"{label} is not valid text (a stray byte, {_codepoint(char)}, at character {position})",
                {field: "not valid text"},
                code="text.encoding",
                params=params,
            )
        if char in BIDI_CONTROLS:
            raise InvalidInput(
                f"{label} contains a text direction control ({_codepoint(char)}) at character {position}",
                {field: "text direction control"},
                code="text.bidi",
                params=params,
            )
        raise InvalidInput(
            f"{label} contains a control character ({_codepoint(char)}) at character {position}",
            {field: "control character"},
            code="text.control",
            params=params,
        )
    return text


def required_text(
    value: str | None, field: str, label: str, max_length: int = 300, *, multiline: bool = False
) -> str:
    """Text a record cannot do without (a name, a title): see :func:`clean_text`."""
    return clean_text(value, field, label, max_length, multiline=multiline, required=True)


def optional_text(
    value: str | None, field: str, label: str, max_length: int = 300, *, multiline: bool = False
) -> str:
    """Text that may be empty (a company, a comment): ``""`` when blank, else :func:`clean_text`."""
    return clean_text(value, field, label, max_length, multiline=multiline)


def combined(errors: list[InvalidInput]) -> InvalidInput:
    """One refusal for several bad fields: every field named, every message said, each code kept.

    One error is returned as it is; several make code ``fields.invalid`` with ``params["errors"]``
    listing each one's code and params.
    """
    if len(errors) == 1:
        return errors[0]
    fields: dict[str, str] = {}
    for error in errors:
        fields.update(error.fields)
    return InvalidInput(
        "; ".join(e.message for e in errors),
        fields,
        code="fields.invalid",
        params={"errors": [{"code": e.code, "params": e.params} for e in errors]},
    )
