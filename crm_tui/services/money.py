"""Money as people type it and as every face shows it: one parser, one formatter.

Amounts are stored in minor units (kopecks, cents) as integers. People type ``150000``, ``150 000``,
``150000.50``, ``150 000,50`` (a space, a non-breaking or a thin space between thousands; a dot or a comma
before the kopecks). ``parse_amount`` reads all of them; ``format_money`` shows ``150 000,50 ₽``-like text
(``150 000.50 ₽``), and ``amount_text`` gives what a form puts back in its field.
"""

from __future__ import annotations

import re

from crm_tui.services.errors import InvalidInput

CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€"}
MAX_AMOUNT = 10_000_000_000 * 100
"""The largest amount of one deal, in minor units (ten billion roubles): the sums of a million deals
still fit the database's 64-bit integers."""

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_AMOUNT = re.compile(r"(?P<whole>\d+)(?:[.,](?P<cents>\d{1,2}))?")
_SIGNS = ("₽", "руб.", "руб", "р.", "$", "€")


def parse_amount(text: str) -> int:
    """``"150 000,50"`` -> ``15000050`` (minor units). Refuses (``InvalidInput``, nothing written) text that
    is not an amount (``amount.invalid``), a negative amount (``amount.negative``) and one above
    :data:`MAX_AMOUNT` (``amount.too_large``). An empty text is refused as ``amount.invalid`` too."""
    raw = text if isinstance(text, str) else str(text)
    cleaned = raw.strip()
    for sign in _SIGNS:
        if cleaned.lower().endswith(sign):
            cleaned = cleaned[: -len(sign)]
            break
    cleaned = _SPACES.sub("", cleaned)
    negative = cleaned.startswith(("-", "−"))
    if negative:
        cleaned = cleaned[1:]
    found = _AMOUNT.fullmatch(cleaned)
    if found is None:
        raise InvalidInput(
            f"Not an amount: {raw.strip()!r} (type 150000, 150 000 or 150 000,50)",
            {"amount": "not an amount"},
            code="amount.invalid",
            params={"value": raw.strip()},
        )
    cents = (found["cents"] or "").ljust(2, "0")
    value = int(found["whole"]) * 100 + int(cents or 0)
    if negative and value:
        raise InvalidInput(
            f"An amount cannot be negative: {raw.strip()}",
            {"amount": "negative"},
            code="amount.negative",
            params={"value": raw.strip()},
        )
    if value > MAX_AMOUNT:
        raise InvalidInput(
            f"Amount too large: {raw.strip()} (at most {format_money(MAX_AMOUNT, '')})",
            {"amount": "too large"},
            code="amount.too_large",
            params={"value": raw.strip(), "max": MAX_AMOUNT},
        )
    return value


def check_amount(amount: int) -> int:
    """An amount in minor units given by code (not typed): the same bounds as :func:`parse_amount`."""
    if amount < 0:
        raise InvalidInput(
            "An amount cannot be negative",
            {"amount": "negative"},
            code="amount.negative",
            params={"value": amount},
        )
    if amount > MAX_AMOUNT:
        raise InvalidInput(
            f"Amount too large (at most {format_money(MAX_AMOUNT, '')})",
            {"amount": "too large"},
            code="amount.too_large",
            params={"value": amount, "max": MAX_AMOUNT},
        )
    return amount


def parse_currency(text: str) -> str:
    """``"rub"`` -> ``"RUB"``: three Latin letters (ISO 4217), else ``currency.invalid``."""
    code = text.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise InvalidInput(
            f"Not a currency code: {text!r} (three letters, e.g. RUB)",
            {"currency": "not a currency"},
            code="currency.invalid",
            params={"value": text},
        )
    return code


def digits(amount: int) -> str:
    """``15000050`` -> ``"150 000.50"``: whole units grouped by thousands, kopecks only when there are any."""
    whole, cents = divmod(abs(amount), 100)
    text = f"{whole:,}".replace(",", " ")
    if cents:
        text += f".{cents:02d}"
    return ("-" if amount < 0 else "") + text


def format_money(amount: int, currency: str = "RUB") -> str:
    """``125000000, "RUB"`` -> ``"1 250 000 ₽"`` (minor units in, whole units out when exact)."""
    sign = CURRENCY_SIGNS.get(currency, currency)
    return f"{digits(amount)} {sign}".rstrip()


def amount_text(amount: int) -> str:
    """What a form shows in its amount field, in a form :func:`parse_amount` reads back (``150 000``)."""
    return digits(amount)
