"""``crm product ...``: the catalogue: add, list, show, edit, archive and restore products."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, id_argument, session, table

if TYPE_CHECKING:
    from crm_tui.services.products import ProductRow

app = typer.Typer(no_args_is_help=True)

IdArg = Annotated[int, id_argument("Product id.")]
NameOpt = Annotated[str | None, typer.Option("--name", help="What it is called: 'Лицензия CRM (год)'.")]
PriceOpt = Annotated[
    str | None,
    typer.Option("--price", help="Price of one unit, VAT included, as you type it: 12000, '12 000,50'."),
]
UnitOpt = Annotated[str | None, typer.Option("--unit", help="Unit: шт, день, месяц, проект, pcs...")]
VatOpt = Annotated[
    str | None, typer.Option("--vat", help="VAT rate: 22, 10, 0 or none (default vat.default).")
]
CurrencyOpt = Annotated[
    str | None, typer.Option("--currency", help="Currency code (default: the desk's currency.default).")
]
CategoryOpt = Annotated[str | None, typer.Option("--category", help="Category ('' clears it).")]
SkuOpt = Annotated[str | None, typer.Option("--sku", help="Article / SKU, unique ('' clears it).")]


def _money(r: ProductRow) -> str:
    from crm_tui.services.money import format_money

    return format_money(r.price, r.currency)


def _vat(r: ProductRow) -> str:
    from crm_tui.services.products import vat_text

    return vat_text(r.vat_rate)


def _rows(rows: list[ProductRow]) -> list[str]:
    if not rows:
        return ["no products"]
    body = [[str(r.id), r.name, r.sku or "", r.category or "", r.unit, _money(r), _vat(r)] for r in rows]
    return table(body, ["ID", "NAME", "SKU", "CATEGORY", "UNIT", "PRICE", "VAT"])


def _detail(r: ProductRow) -> list[str]:
    fields = [
        ("product", f"#{r.id} {r.name}"),
        ("price", f"{_money(r)} per {r.unit}, VAT included"),
        ("vat", _vat(r)),
        ("category", r.category or ""),
        ("sku", r.sku or ""),
        ("archived", r.archived_at.isoformat(sep=" ", timespec="minutes") if r.archived_at else ""),
    ]
    return [f"{k.ljust(8)}  {v}" for k, v in fields if v]


@app.command("add")
def add(
    name: NameOpt = None,
    price: PriceOpt = None,
    unit: UnitOpt = None,
    vat: VatOpt = None,
    currency: CurrencyOpt = None,
    category: CategoryOpt = None,
    sku: SkuOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a product to the catalogue."""
    from crm_tui.services import products

    with session(db, user):
        row = products.add(
            name or "",
            price if price is not None else "",
            unit=unit or "шт",
            vat=vat if vat is not None else "",
            currency=currency,
            category=category or "",
            sku=sku or "",
        )
    emit(row, as_json, lambda r: [f"added product #{r.id} {r.name}: {_money(r)} per {r.unit}, VAT {_vat(r)}"])


@app.command("list")
def list_(
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Words of the name, SKU or category.")
    ] = None,
    category: Annotated[str | None, typer.Option("--category", help="Only this category.")] = None,
    archived: Annotated[bool, typer.Option("--archived", help="The archived products instead.")] = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The catalogue by name (archived products only with --archived)."""
    from crm_tui.services import products

    with session(db, user):
        rows = products.search(search or "", archived=archived, category=category, limit=10_000)
    emit(rows, as_json, _rows)


@app.command("show")
def show(product_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """One product."""
    from crm_tui.services import products

    with session(db, user):
        row = products.get(product_id)
    emit(row, as_json, _detail)


@app.command("edit")
def edit(
    product_id: IdArg,
    name: NameOpt = None,
    price: PriceOpt = None,
    unit: UnitOpt = None,
    vat: VatOpt = None,
    currency: CurrencyOpt = None,
    category: CategoryOpt = None,
    sku: SkuOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a product; the lines already in deals keep the price and rate they were given."""
    from crm_tui.services import products

    with session(db, user):
        row = products.edit(
            product_id,
            name=name,
            price=price,
            unit=unit,
            vat=vat,
            currency=currency,
            category=category,
            sku=sku,
        )
    emit(row, as_json, _detail)


@app.command("archive")
def archive(product_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Take a product out of the catalogue's lists and pickers (deal lines keep it)."""
    from crm_tui.services import products

    with session(db, user) as s:
        row = products.archive(product_id, now=s.now)
    emit(row, as_json, lambda r: [f"archived product #{r.id} {r.name}"])


@app.command("restore")
def restore(product_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Bring an archived product back into the catalogue."""
    from crm_tui.services import products

    with session(db, user):
        row = products.restore(product_id)
    emit(row, as_json, lambda r: [f"restored product #{r.id} {r.name}"])
