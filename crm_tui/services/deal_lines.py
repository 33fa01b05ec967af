"""A deal's lines: what is sold, how many, at what price, discount and VAT rate.

A line is a catalogue product (its name, unit, price and VAT rate are copied in as the line is added,
so a later change of the catalogue leaves the deal as agreed) or free text with a price. Prices are per
unit, in minor units, VAT included; a line's total is ``price x quantity`` less its discount, rounded to
the kopeck, and the VAT it includes is ``total x rate / (100 + rate)``.

The rule of the deal's amount lives here, once: a deal with lines is worth the sum of their totals, and
every line change writes the new amount in the same transaction (the stage totals' triggers on ``deal``
follow it). The change of amount is kept in the deal's history like an edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from peewee import fn

from crm_tui.data.db import database
from crm_tui.data.doc_models import DealLine
from crm_tui.data.models import Deal, Product, Stage
from crm_tui.services import deals, money, products
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from crm_tui.services.validation import optional_text, required_text

MAX_QUANTITY = Decimal(1_000_000_000)
MAX_LINES = 500


@dataclass(frozen=True)
class LineRow:
    id: int
    deal_id: int
    position: int  # 1-based, as shown
    product_id: int | None
    text: str
    quantity: str  # decimal as text: "1", "1.5"
    unit: str
    price: int  # minor units per unit, VAT included
    discount: str  # percent as text: "0", "12.5"
    vat_rate: int | None
    total: int  # minor units, after the discount, VAT included
    vat: int  # the VAT the total includes, minor units


@dataclass(frozen=True)
class Totals:
    total: int
    vat: int
    by_rate: dict[str, int]  # "22" / "10" / "0" / "none" -> the VAT (or the total without VAT)


def _kopecks(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_total(price: int, quantity: Decimal, discount: Decimal) -> int:
    return _kopecks(Decimal(price) * quantity * (Decimal(100) - discount) / Decimal(100))


def vat_of(total: int, rate: int | None) -> int:
    if not rate:
        return 0
    return _kopecks(Decimal(total) * Decimal(rate) / Decimal(100 + rate))


def _number(text: str | int | float | Decimal) -> Decimal | None:
    raw = str(text).strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_quantity(text: str | int | Decimal) -> Decimal:
    """``"3"``, ``"1,5"``, ``"0.25"`` -> a quantity above zero (to 0.001); else ``quantity.invalid``."""
    value = _number(text)
    if value is None or value <= 0 or value > MAX_QUANTITY or value != value.quantize(Decimal("0.001")):
        raise InvalidInput(
            f"Not a quantity: {str(text).strip()!r} (a number above zero, e.g. 3 or 1,5)",
            {"quantity": "not a quantity"},
            code="quantity.invalid",
            params={"value": str(text).strip()},
        )
    return value.normalize() if value == value.to_integral() else value


def parse_discount(text: str | int | Decimal) -> Decimal:
    """``"10"``, ``"12,5%"`` -> a discount from 0 to 100 %; else ``discount.invalid``."""
    value = _number(str(text).strip().removesuffix("%"))
    if value is None or value < 0 or value > 100 or value != value.quantize(Decimal("0.01")):
        raise InvalidInput(
            f"Not a discount: {str(text).strip()!r} (a percentage from 0 to 100)",
            {"discount": "not a discount"},
            code="discount.invalid",
            params={"value": str(text).strip()},
        )
    return value


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _to_row(line: DealLine, position: int) -> LineRow:
    quantity = Decimal(line.quantity)
    discount = Decimal(line.discount)
    total = line_total(line.price, quantity, discount)
    return LineRow(
        id=line.id,
        deal_id=line.deal_id,
        position=position,
        product_id=line.product_id,
        text=line.text,
        quantity=_plain(quantity),
        unit=line.unit,
        price=line.price,
        discount=_plain(discount),
        vat_rate=line.vat_rate,
        total=total,
        vat=vat_of(total, line.vat_rate),
    )


def lines(deal_id: int) -> list[LineRow]:
    deals.row(deal_id)  # NotFound for an unknown deal
    query = DealLine.select().where(DealLine.deal == deal_id).order_by(DealLine.position, DealLine.id)
    return [_to_row(line, n) for n, line in enumerate(query, start=1)]


def totals(rows: list[LineRow]) -> Totals:
    by_rate: dict[str, int] = {}
    for r in rows:
        key = products.vat_text(r.vat_rate).removesuffix("%")
        by_rate[key] = by_rate.get(key, 0) + (r.vat if r.vat_rate is not None else r.total)
    return Totals(sum(r.total for r in rows), sum(r.vat for r in rows), by_rate)


def _open_deal(deal_id: int) -> Deal:
    deal = deals._get(deal_id, lock=True)
    deals._live(deal)
    stage = Stage.get_by_id(deal.stage_id)
    if stage.kind != "open":
        raise RuleViolation(
            f"Deal #{deal.id} is {stage.kind}: its lines stay as it closed; reopen it first "
            f"(crm deal reopen {deal.id} --reason ...)",
            code="deal.closed",
            params={"deal": deal.id, "kind": stage.kind, "fields": ["lines"]},
        )
    return deal


def _follow(deal: Deal, *, by: int | None, now: datetime) -> None:
    """The deal's amount becomes the sum of its lines (when it has any), in the caller's transaction;
    a change of amount goes into its history as an edit."""
    rows = list(DealLine.select().where(DealLine.deal == deal.id))
    if not rows:
        return
    amount = sum(line_total(r.price, Decimal(r.quantity), Decimal(r.discount)) for r in rows)
    if amount > money.MAX_AMOUNT:
        raise InvalidInput(
            f"The lines add up to more than a deal can hold ({money.format_money(money.MAX_AMOUNT, '')})",
            {"amount": "too large"},
            code="amount.too_large",
            params={"value": amount, "max": money.MAX_AMOUNT},
        )
    if amount != deal.amount:
        changes = {"amount": [deal.amount, amount]}
        deal.amount = amount
        deal.save()
        deals._event(deal, deals.EDIT_EVENT, by=by, now=now, changes=changes, currency=deal.currency)


def _line(line_id: int) -> DealLine:
    line = DealLine.get_or_none(DealLine.id == line_id)
    if line is None:
        raise NotFound(f"No deal line #{line_id}", code="line.not_found", params={"line": line_id})
    return line


def _position(deal_id: int, line_id: int) -> int:
    ids = [
        i
        for (i,) in DealLine.select(DealLine.id)
        .where(DealLine.deal == deal_id)
        .order_by(DealLine.position, DealLine.id)
        .tuples()
    ]
    return ids.index(line_id) + 1


def _row(line_id: int) -> LineRow:
    line = _line(line_id)
    return _to_row(line, _position(line.deal_id, line.id))


def add(
    deal_id: int,
    *,
    product_id: int | None = None,
    text: str | None = None,
    price: int | str | None = None,
    quantity: str | int | Decimal = 1,
    unit: str | None = None,
    discount: str | int | Decimal = 0,
    vat: str | int | None = None,
    by: int | None,
    now: datetime,
) -> LineRow:
    """A line at the end of the deal: a catalogue product (its name, unit, price and rate unless given)
    or free text with a price. Refuses: an unknown deal or product, an archived product, a closed or
    archived deal, a bad price, quantity, discount or rate, a product in another currency than the deal's."""
    qty = parse_quantity(quantity)
    disc = parse_discount(discount)
    given_price = None if price is None or price == "" else _price(price)
    rate: Any = None if vat is None or vat == "" else products.parse_vat(vat)
    if product_id is None:
        name = required_text(text, "text", "Text", 500)
        if given_price is None:
            raise InvalidInput(
                "A line without a product needs a price (--price)",
                {"price": "required"},
                code="line.price_required",
            )
    with database.atomic():
        deal = _open_deal(deal_id)
        if product_id is not None:
            product = Product.get_or_none(Product.id == product_id)
            if product is None:
                raise NotFound(
                    f"No product #{product_id}", code="product.not_found", params={"product": product_id}
                )
            if product.archived_at is not None:
                raise RuleViolation(
                    f"Product #{product_id} is archived; restore it first (crm product restore {product_id})",
                    code="product.archived",
                    params={"product": product_id},
                )
            if product.currency != deal.currency:
                raise RuleViolation(
                    f"Product #{product_id} is priced in {product.currency}, "
                    f"deal #{deal.id} in {deal.currency}",
                    code="line.currency",
                    params={"product": product_id, "deal": deal.id, "currency": product.currency},
                )
            name = optional_text(text, "text", "Text", 500) or product.name
            line_price = product.price if given_price is None else given_price
            line_unit = unit or product.unit
            line_rate = product.vat_rate if vat is None or vat == "" else rate
        else:
            from crm_tui.services import settings

            line_price = given_price
            line_unit = unit or "шт"
            line_rate = settings.value("vat.default") if vat is None or vat == "" else rate
        count = DealLine.select().where(DealLine.deal == deal.id).count()
        if count >= MAX_LINES:
            raise RuleViolation(
                f"Deal #{deal.id} has {MAX_LINES} lines, the most a deal holds",
                code="line.too_many",
                params={"deal": deal.id, "max": MAX_LINES},
            )
        last = DealLine.select(fn.MAX(DealLine.position)).where(DealLine.deal == deal.id).scalar()
        line = DealLine.create(
            deal=deal.id,
            position=(last or 0) + 1,
            product=product_id,
            text=name,
            quantity=qty,
            unit=required_text(line_unit, "unit", "Unit", 32),
            price=line_price,
            discount=disc,
            vat_rate=line_rate,
            created_at=now,
        )
        _follow(deal, by=by, now=now)
    return _row(line.id)


def _price(value: int | str) -> int:
    return money.parse_amount(value) if isinstance(value, str) else money.check_amount(value)


def edit(
    line_id: int,
    *,
    text: str | None = None,
    price: int | str | None = None,
    quantity: str | int | Decimal | None = None,
    unit: str | None = None,
    discount: str | int | Decimal | None = None,
    vat: str | int | None = None,
    by: int | None,
    now: datetime,
) -> LineRow:
    """Change a line; ``None`` leaves a field as it is. The deal's amount follows."""
    new_text = required_text(text, "text", "Text", 500) if text is not None else None
    new_price = _price(price) if price is not None else None
    new_qty = parse_quantity(quantity) if quantity is not None else None
    new_unit = required_text(unit, "unit", "Unit", 32) if unit is not None else None
    new_disc = parse_discount(discount) if discount is not None else None
    new_rate = products.parse_vat(vat) if vat is not None else None
    with database.atomic():
        deal = _open_deal(_line(line_id).deal_id)
        line = _line(line_id)
        if new_text is not None:
            line.text = new_text
        if new_price is not None:
            line.price = new_price
        if new_qty is not None:
            line.quantity = new_qty
        if new_unit is not None:
            line.unit = new_unit
        if new_disc is not None:
            line.discount = new_disc
        if vat is not None:
            line.vat_rate = new_rate
        line.save()
        _follow(deal, by=by, now=now)
    return _row(line_id)


def remove(line_id: int, *, by: int | None, now: datetime) -> LineRow:
    """Take a line out of its deal; the amount follows the remaining lines (the last line's removal
    leaves the amount as it was, to be typed again or followed by new lines)."""
    with database.atomic():
        deal = _open_deal(_line(line_id).deal_id)
        gone = _row(line_id)
        DealLine.delete().where(DealLine.id == line_id).execute()
        _follow(deal, by=by, now=now)
    return gone
