"""Phones to E.164 and e-mails, as people type them."""

from __future__ import annotations

import pytest

from crm_tui.services.errors import InvalidInput
from crm_tui.services.validation import format_phone, normalize_email, normalize_phone


@pytest.mark.parametrize(
    "typed",
    [
        "8 (916) 123-45-67",
        "+7 916 123 45 67",
        "+79161234567",
        "89161234567",
        "7 916 123-45-67",
        " +7(916)1234567 ",
        "8-916-123-45-67",
    ],
)
def test_one_russian_mobile_number_in_every_usual_form(typed: str) -> None:
    assert normalize_phone(typed) == "+79161234567"


def test_moscow_landline_and_foreign_numbers() -> None:
    assert normalize_phone("8 (495) 123-45-67") == "+74951234567"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


def test_the_region_decides_numbers_without_a_country_code(monkeypatch: pytest.MonkeyPatch) -> None:
    assert normalize_phone("(202) 555-0143", region="US") == "+12025550143"
    monkeypatch.setenv("CRM_PHONE_REGION", "us")
    assert normalize_phone("202-555-0143") == "+12025550143"


@pytest.mark.parametrize("typed", ["", "   ", "12345", "8 916 123", "abc", "+7 916 123 45 67 89", "телефон"])
def test_invalid_phones_are_refused_with_the_field_named(typed: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(typed)
    assert "phone" in caught.value.fields


def test_phones_are_shown_formatted() -> None:
    assert format_phone("+79161234567") == "+7 916 123-45-67"
    assert format_phone("not a phone") == "not a phone"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ivan@example.ru", "ivan@example.ru"),
        ("  Ivan.Petrov@Example.RU ", "ivan.petrov@example.ru"),
        ("sales+crm@romashka.com", "sales+crm@romashka.com"),
        ("", None),
        (None, None),
    ],
)
def test_emails_are_trimmed_and_lower_cased(typed: str | None, stored: str | None) -> None:
    assert normalize_email(typed) == stored


@pytest.mark.parametrize(
    "typed", ["ivan@", "@example.ru", "ivan example.ru", "ivan@@example.ru", "ivan@example"]
)
def test_invalid_emails_are_refused(typed: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_email(typed)
    assert caught.value.fields == {"email": "not a valid e-mail"}
    assert typed in caught.value.message
