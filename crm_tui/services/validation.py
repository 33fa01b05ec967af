"""Phones to E.164 (phonenumbers) and e-mails (email-validator)."""

from __future__ import annotations

import os

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
            code="phone.invalid",
            params={"value": text},
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            f"Not a valid phone number: {text!r}",
            {"phone": "not a valid number"},
            code="phone.invalid",
            params={"value": text},
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
            params={"value": text},
        ) from error
    return result.normalized.lower()


def required_text(value: str | None, field: str, label: str, max_length: int = 300) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{label} is required", {field: "required"}, code=f"{field}.required")
    return text[:max_length]
