"""The catalogue: what the desk sells, at what price, in what unit, with what VAT rate.

A product's price is stored in minor units, VAT included (what the client pays for one unit); its VAT
rate is data (22, 10 or 0 %, or ``None`` for "no VAT": the rate changed to 22 % in 2026). An archived
product leaves the lists and the pickers; the deal lines that name it keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import fn

from crm_tui.data.db import database, is_postgres
from crm_tui.data.models import Product
from crm_tui.services import money
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from crm_tui.services.validation import optional_text, required_text

VAT_RATES = (22, 10, 0)
_NO_VAT = ("none", "no", "без", "без ндс", "-", "—")


@dataclass(frozen=True)
class ProductRow:
    id: int
    name: str
    unit: str
    price: int  # minor units, VAT included
    currency: str
    vat_rate: int | None  # None: no VAT
    category: str | None
    sku: str | None
    archived_at: datetime | None


def parse_vat(text: str | int | None) -> int | None:
    """``"22"``, ``"22%"``, ``"10"``, ``"0"`` -> the rate; ``"none"``/``"без НДС"`` -> ``None`` (no VAT).
    Anything else is ``vat.invalid``."""
    raw = "" if text is None else str(text)
    value = raw.strip().lower().removesuffix("%").strip()
    if value in _NO_VAT:
        return None
    if value.isascii() and value.isdigit() and int(value) in VAT_RATES:
        return int(value)
    raise InvalidInput(
        f"Not a VAT rate: {raw.strip()!r} (22, 10, 0 or none)",
        {"vat": "not a rate"},
        code="vat.invalid",
        params={"value": raw.strip()},
    )


def vat_text(rate: int | None) -> str:
    return "none" if rate is None else f"{rate}%"


def _to_row(p: Product) -> ProductRow:
    return ProductRow(
        id=p.id,
        name=p.name,
        unit=p.unit,
        price=p.price,
        currency=p.currency,
        vat_rate=p.vat_rate,
        category=p.category or None,
        sku=p.sku or None,
        archived_at=p.archived_at,
    )


def _get(product_id: int, *, lock: bool = False) -> Product:
    query = Product.select().where(Product.id == product_id)
    if lock and is_postgres():
        query = query.for_update()
    found = query.get_or_none()
    if found is None:
        raise NotFound(f"No product #{product_id}", code="product.not_found", params={"product": product_id})
    return found


def get(product_id: int) -> ProductRow:
    return _to_row(_get(product_id))


def _price(value: int | str) -> int:
    return money.parse_amount(value) if isinstance(value, str) else money.check_amount(value)


def _unit(value: str) -> str:
    return required_text(value, "unit", "Unit", 32)


def _sku(value: str, *, except_id: int | None = None) -> str | None:
    sku = optional_text(value, "sku", "SKU", 64) or None
    if sku is None:
        return None
    query = Product.select(Product.id).where(fn.LOWER(Product.sku) == sku.lower())
    if except_id is not None:
        query = query.where(Product.id != except_id)
    other = query.first()
    if other is not None:
        raise InvalidInput(
            f"SKU {sku} is product #{other.id}'s already",
            {"sku": "taken"},
            code="product.sku_taken",
            params={"sku": sku, "product": other.id},
        )
    return sku


def add(
    name: str,
    price: int | str,
    *,
    unit: str = "шт",
    vat: str | int | None = "",
    currency: str | None = None,
    category: str = "",
    sku: str = "",
) -> ProductRow:
    """A new catalogue product. ``vat=""`` takes the desk's ``vat.default``. Refuses a bad price
    (``amount.*``), a bad rate (``vat.invalid``), an SKU another product has (``product.sku_taken``)."""
    from crm_tui.services import settings

    text = required_text(name, "name", "Name", 300)
    amount = _price(price)
    rate = settings.value("vat.default") if vat == "" else parse_vat(vat)
    code = money.parse_currency(currency) if currency else settings.value("currency.default")
    with database.atomic():
        product = Product.create(
            name=text,
            unit=_unit(unit),
            price=amount,
            currency=code,
            active=True,
            vat_rate=rate,
            category=optional_text(category, "category", "Category", 100) or None,
            sku=_sku(sku),
        )
    return _to_row(product)


def edit(
    product_id: int,
    *,
    name: str | None = None,
    price: int | str | None = None,
    unit: str | None = None,
    vat: str | int | None = None,
    currency: str | None = None,
    category: str | None = None,
    sku: str | None = None,
) -> ProductRow:
    """Change what was entered; ``None`` leaves a field, ``""`` clears the category or the SKU. A change
    of price or rate applies to lines added from now on: the lines already in deals keep theirs."""
    with database.atomic():
        product = _get(product_id, lock=True)
        if name is not None:
            product.name = required_text(name, "name", "Name", 300)
        if price is not None:
            product.price = _price(price)
        if unit is not None:
            product.unit = _unit(unit)
        if vat is not None:
            product.vat_rate = parse_vat(vat)
        if currency is not None:
            product.currency = money.parse_currency(currency)
        if category is not None:
            product.category = optional_text(category, "category", "Category", 100) or None
        if sku is not None:
            product.sku = _sku(sku, except_id=product.id)
        product.save()
    return _to_row(product)


def archive(product_id: int, *, now: datetime) -> ProductRow:
    with database.atomic():
        product = _get(product_id, lock=True)
        if product.archived_at is not None:
            raise RuleViolation(
                f"Product #{product_id} is archived already",
                code="product.archived",
                params={"product": product_id},
            )
        product.archived_at = now
        product.active = False
        product.save()
    return _to_row(product)


def restore(product_id: int) -> ProductRow:
    with database.atomic():
        product = _get(product_id, lock=True)
        if product.archived_at is None:
            raise RuleViolation(
                f"Product #{product_id} is not archived",
                code="product.not_archived",
                params={"product": product_id},
            )
        product.archived_at = None
        product.active = True
        product.save()
    return _to_row(product)


def search(
    query: str = "", *, archived: bool = False, category: str | None = None, limit: int = 200
) -> list[ProductRow]:
    """Products whose name, SKU or category holds every word of ``query`` (any case, Cyrillic too),
    by name; archived ones only when asked."""
    rows = Product.select()
    rows = rows.where(Product.archived_at.is_null(False) if archived else Product.archived_at.is_null())
    if category:
        rows = rows.where(fn.LOWER(Product.category) == category.strip().lower())
    words = query.split()
    found: list[ProductRow] = []
    for p in rows.order_by(Product.name, Product.id):
        hay = " ".join(part for part in (p.name, p.sku or "", p.category or "") if part).casefold()
        if all(w.casefold() in hay for w in words):
            found.append(_to_row(p))
            if len(found) >= limit:
                break
    return found
