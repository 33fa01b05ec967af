"""A deal's lines (``i`` on the contact card): what is sold, with the total and the VAT it includes.

``n`` adds a line from the catalogue picker (searched as you type), ``+``/``-`` change the quantity by
one, ``%`` sets a discount, ``delete`` removes a line. Every change goes through ``deal_lines``, so the
deal's amount follows its lines at once; a refusal (a closed deal) is a toast in the desk's language.
"""

from __future__ import annotations

from decimal import Decimal

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from crm_tui.screens.dialogs.deal_form import refusal_text
from crm_tui.screens.dialogs.note import FormDialog
from crm_tui.screens.dialogs.product_form import ProductPickDialog
from crm_tui.services import deal_lines, deals, money, products
from crm_tui.services.deal_lines import LineRow
from crm_tui.services.errors import CrmError
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter


class DiscountForm(FormDialog[str | None]):
    """A line's discount in percent (0 to 100); returns what was typed, ``None`` when cancelled."""

    FIELDS = (("discount", "lines.discount", "lines.discount.hint"),)

    def __init__(self, title: str, current: str) -> None:
        super().__init__()
        self.given_title = title
        self.current = current

    def title_text(self) -> str:
        return self.given_title

    def initial(self, field: str) -> str:
        return self.current

    async def submit(self) -> str | None:
        typed = self.value("discount").strip() or "0"
        deal_lines.parse_discount(typed)  # refused beside the field, in place
        return typed


def _load(deal_id: int) -> tuple[str, str, list[LineRow]]:
    row = deals.row(deal_id)
    return row.title, row.currency, deal_lines.lines(deal_id)


class DealLinesScreen(AppBound, Screen[None]):
    DEFAULT_CSS = """
    DealLinesScreen #lines {
        height: 1fr;
    }
    DealLinesScreen #lines-total {
        height: auto;
        padding: 0 1;
        text-style: bold;
    }
    """
    BINDINGS = [
        Binding("n", "add", "Add line", id="lines.add", tooltip="Add a line from the catalogue"),
        Binding("plus,=", "more", "+1", id="lines.more", tooltip="One more of the line"),
        Binding("minus", "less", "-1", id="lines.less", tooltip="One less of the line"),
        Binding(
            "percent_sign", "discount", "Discount", id="lines.discount", tooltip="Set the line's discount"
        ),
        Binding("delete", "remove", "Remove", id="lines.remove", tooltip="Remove the line"),
        Binding("escape", "back", "Back", id="lines.back", tooltip="Back to the previous screen"),
    ]

    def __init__(self, deal_id: int) -> None:
        super().__init__()
        self.deal_id = deal_id
        self.rows: list[LineRow] = []
        self.currency = "RUB"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="lines-title")
        yield DataTable(id="lines", cursor_type="row", zebra_stripes=True)
        yield Static("", id="lines-total")
        yield KeyFooter()

    def on_mount(self) -> None:
        t = self.crm.t
        table = self.query_one("#lines", DataTable)
        for key in ("n", "text", "qty", "price", "discount", "vat", "total"):
            table.add_column(t(f"lines.col.{key}"), key=key)
        self.load()

    @work(exclusive=True, group="lines")
    async def load(self, keep: int | None = None) -> None:
        title, self.currency, self.rows = await self.crm.run_db(_load, self.deal_id)
        t = self.crm.t
        table = self.query_one("#lines", DataTable)
        table.clear()
        for r in self.rows:
            table.add_row(
                str(r.position),
                r.text,
                f"{r.quantity} {r.unit}",
                money.digits(r.price),
                f"{r.discount}%" if r.discount != "0" else "",
                products.vat_text(r.vat_rate) if r.vat_rate is not None else t("catalogue.no-vat"),
                money.digits(r.total),
                key=str(r.id),
            )
        if keep is not None:
            index = next((i for i, r in enumerate(self.rows) if r.id == keep), None)
            if index is not None:
                table.move_cursor(row=index)
        self.query_one("#lines-title", Static).update(t("lines.title").format(deal=self.deal_id, title=title))
        sums = deal_lines.totals(self.rows)
        self.query_one("#lines-total", Static).update(
            t("lines.total").format(
                total=money.format_money(sums.total, self.currency),
                vat=money.format_money(sums.vat, self.currency),
            )
            if self.rows
            else t("lines.empty")
        )

    def current(self) -> LineRow | None:
        table = self.query_one("#lines", DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    async def change(self, call: object, *args: object, **kwargs: object) -> LineRow | None:
        try:
            who = {"by": self.crm.user_id, "now": self.crm.now()}
            row: LineRow = await self.crm.run_db(call, *args, **who, **kwargs)  # type: ignore[arg-type]
        except CrmError as error:
            self.notify(refusal_text(error, self.crm.t), severity="error")
            return None
        return row

    @work(group="lines-add")
    async def action_add(self) -> None:
        product_id = await self.app.push_screen_wait(ProductPickDialog())
        if product_id is None:
            return
        row = await self.change(deal_lines.add, self.deal_id, product_id=product_id)
        if row is not None:
            self.notify(self.crm.t("lines.added").format(text=row.text))
            self.load(keep=row.id)

    async def step(self, delta: int) -> None:
        line = self.current()
        if line is None:
            return
        quantity = Decimal(line.quantity) + delta
        if quantity <= 0:
            return
        row = await self.change(deal_lines.edit, line.id, quantity=quantity)
        if row is not None:
            self.load(keep=row.id)

    async def action_more(self) -> None:
        await self.step(1)

    async def action_less(self) -> None:
        await self.step(-1)

    @work(group="lines-add")
    async def action_discount(self) -> None:
        line = self.current()
        if line is None:
            return
        title = self.crm.t("lines.discount-ask").format(text=line.text)
        typed = await self.app.push_screen_wait(DiscountForm(title, line.discount))
        if typed is None:
            return
        row = await self.change(deal_lines.edit, line.id, discount=typed)
        if row is not None:
            self.load(keep=row.id)

    async def action_remove(self) -> None:
        line = self.current()
        if line is None:
            return
        row = await self.change(deal_lines.remove, line.id)
        if row is not None:
            self.notify(self.crm.t("lines.removed").format(text=row.text))
            self.load()

    def action_back(self) -> None:
        self.dismiss(None)
