"""Money as people type it: one parser and one formatter for every face."""

from __future__ import annotations

import pytest

from crm_tui.services import money
from crm_tui.services.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "minor"),
    [
        ("150000", 15_000_000),
        ("150 000", 15_000_000),
        ("150000.50", 15_000_050),
        ("150 000,50", 15_000_050),
        ("150\u00a0000,5", 15_000_050),  # a non-breaking space between thousands, one kopeck digit
        ("1\u202f250\u202f000", 125_000_000),  # a narrow no-break space (what Excel and macOS write)
        ("  42 ₽ ", 4_200),
        ("0", 0),
    ],
)
def test_amounts_as_people_type_them(typed: str, minor: int) -> None:
    assert money.parse_amount(typed) == minor


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("abc", "amount.invalid"),
        ("", "amount.invalid"),
        ("1,000,000", "amount.invalid"),  # commas between thousands: ambiguous, refused
        ("12.345", "amount.invalid"),
        ("-5", "amount.negative"),
        ("10 000 000 001", "amount.too_large"),
    ],
)
def test_what_is_not_an_amount_is_refused_with_its_code(typed: str, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        money.parse_amount(typed)
    assert refused.value.code == code
    assert refused.value.fields == {"amount": refused.value.fields["amount"]}


def test_formatting_reads_back() -> None:
    assert money.format_money(15_000_050, "RUB") == "150 000.50 ₽"
    assert money.format_money(120_000, "USD") == "1 200 $"
    assert money.parse_amount(money.amount_text(15_000_050)) == 15_000_050
    assert money.parse_currency(" rub ") == "RUB"
    with pytest.raises(InvalidInput) as refused:
        money.parse_currency("рубли")
    assert refused.value.code == "currency.invalid"
