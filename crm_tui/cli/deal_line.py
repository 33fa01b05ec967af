"""``crm deal line ...``: a deal's lines (what is sold): add, edit, remove, list. The deal's amount
follows its lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, id_argument, id_option, session, table

if TYPE_CHECKING:
    from crm_tui.services.deal_lines import LineRow

app = typer.Typer(no_args_is_help=True)

DealArg = Annotated[int, id_argument("Deal id.")]
LineArg = Annotated[int, id_argument("Line id (as in `crm deal line list`).")]
TextOpt = Annotated[str | None, typer.Option("--text", help="What the line says (a free-text line's name).")]
PriceOpt = Annotated[
    str | None, typer.Option("--price", help="Price of one unit, VAT included: 12000, '12 000,50'.")
]
QtyOpt = Annotated[str | None, typer.Option("--qty", help="Quantity above zero: 3, 1,5.")]
UnitOpt = Annotated[str | None, typer.Option("--unit", help="Unit: шт, день, месяц...")]
DiscountOpt = Annotated[str | None, typer.Option("--discount", help="Discount in percent, 0 to 100.")]
VatOpt = Annotated[str | None, typer.Option("--vat", help="VAT rate: 22, 10, 0 or none.")]


def line_table(rows: list[LineRow], currency: str) -> list[str]:
    from crm_tui.services import deal_lines
    from crm_tui.services.money import digits, format_money
    from crm_tui.services.products import vat_text

    body = [
        [
            str(r.id),
            str(r.position),
            r.text,
            f"{r.quantity} {r.unit}",
            digits(r.price),
            f"{r.discount}%" if r.discount != "0" else "",
            vat_text(r.vat_rate),
            digits(r.total),
        ]
        for r in rows
    ]
    out = table(body, ["ID", "#", "TEXT", "QTY", "PRICE", "DISC", "VAT", "TOTAL"])
    sums = deal_lines.totals(rows)
    out.append(f"total {format_money(sums.total, currency)}, VAT included {format_money(sums.vat, currency)}")
    return out


def _currency(deal_id: int) -> str:
    from crm_tui.services import deals

    return deals.row(deal_id).currency


def _said(verb: str) -> object:
    def render(r: LineRow) -> list[str]:
        from crm_tui.services.money import digits

        return [
            f"{verb} line #{r.id} of deal #{r.deal_id}: {r.text}, {r.quantity} {r.unit} x {digits(r.price)}"
            + (f" -{r.discount}%" if r.discount != "0" else "")
            + f" = {digits(r.total)}"
        ]

    return render


@app.command("add")
def add(
    deal_id: DealArg,
    product: Annotated[int | None, id_option("--product", "Catalogue product id.")] = None,
    text: TextOpt = None,
    price: PriceOpt = None,
    qty: QtyOpt = None,
    unit: UnitOpt = None,
    discount: DiscountOpt = None,
    vat: VatOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a line: a catalogue product (--product) or free text with a price (--text T --price P)."""
    from crm_tui.services import deal_lines

    with session(db, user) as s:
        row = deal_lines.add(
            deal_id,
            product_id=product,
            text=text,
            price=price,
            quantity=qty if qty is not None else 1,
            unit=unit,
            discount=discount if discount is not None else 0,
            vat=vat,
            by=s.user_id,
            now=s.now,
        )
    emit(row, as_json, _said("added"))


@app.command("edit")
def edit(
    line_id: LineArg,
    text: TextOpt = None,
    price: PriceOpt = None,
    qty: QtyOpt = None,
    unit: UnitOpt = None,
    discount: DiscountOpt = None,
    vat: VatOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a line; the deal's amount follows."""
    from crm_tui.services import deal_lines

    with session(db, user) as s:
        row = deal_lines.edit(
            line_id,
            text=text,
            price=price,
            quantity=qty,
            unit=unit,
            discount=discount,
            vat=vat,
            by=s.user_id,
            now=s.now,
        )
    emit(row, as_json, _said("changed"))


@app.command("remove")
def remove(line_id: LineArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Take a line out of its deal; the amount follows the remaining lines."""
    from crm_tui.services import deal_lines

    with session(db, user) as s:
        row = deal_lines.remove(line_id, by=s.user_id, now=s.now)
    emit(row, as_json, _said("removed"))


@app.command("list")
def list_(deal_id: DealArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """A deal's lines in order, with the total and the VAT it includes."""
    from crm_tui.services import deal_lines

    with session(db, user):
        rows = deal_lines.lines(deal_id)
        currency = _currency(deal_id)
    if as_json:
        sums = deal_lines.totals(rows)
        emit({"lines": rows, "total": sums.total, "vat": sums.vat, "currency": currency}, True)
        return
    emit(rows, False, lambda r: line_table(r, currency) if r else [f"deal #{deal_id} has no lines"])
