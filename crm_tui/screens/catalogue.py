"""The catalogue (``ctrl+p`` → Catalogue): products with their price, unit and VAT rate, searched as
you type; ``n`` adds, ``enter``/``e`` edits, ``a`` archives or restores, ``v`` shows the archived."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from crm_tui.screens.dialogs.deal_form import refusal_text
from crm_tui.screens.dialogs.product_form import ProductFormDialog
from crm_tui.services import money, products
from crm_tui.services.errors import CrmError
from crm_tui.services.products import ProductRow
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter


class CatalogueScreen(AppBound, Screen[None]):
    DEFAULT_CSS = """
    CatalogueScreen #catalogue-search {
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    CatalogueScreen #catalogue {
        height: 1fr;
    }
    """
    BINDINGS = [
        Binding("n", "add", "New", id="catalogue.new", tooltip="Add a product"),
        Binding("e", "edit", "Edit", id="catalogue.edit", tooltip="Edit the product"),
        Binding("a", "archive", "Archive", id="catalogue.archive", tooltip="Archive or restore the product"),
        Binding("v", "toggle_archived", "Archived", id="catalogue.show-archived", tooltip="Archived"),
        Binding("escape", "back", "Back", id="catalogue.back", tooltip="Back to the previous screen"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ProductRow] = []
        self.archived = False

    def compose(self) -> ComposeResult:
        t = self.crm.t
        yield Header()
        yield Static("", id="catalogue-summary")
        yield Input(placeholder=t("catalogue.search"), id="catalogue-search")
        table: DataTable[str] = DataTable(id="catalogue", cursor_type="row", zebra_stripes=True)
        yield table
        yield KeyFooter()

    def on_mount(self) -> None:
        t = self.crm.t
        table = self.query_one("#catalogue", DataTable)
        for key in ("sku", "name", "category", "unit", "price", "vat"):
            table.add_column(t(f"catalogue.col.{key}"), key=key)
        self.query_one("#catalogue-search", Input).focus()
        self.load()

    @property
    def query_text(self) -> str:
        return self.query_one("#catalogue-search", Input).value

    @on(Input.Changed, "#catalogue-search")
    def typed(self) -> None:
        self.load()

    @on(Input.Submitted, "#catalogue-search")
    def to_table(self) -> None:
        self.query_one("#catalogue", DataTable).focus()

    @on(DataTable.RowSelected, "#catalogue")
    def selected(self) -> None:
        self.action_edit()

    @work(exclusive=True, group="catalogue")
    async def load(self, keep: int | None = None) -> None:
        self.rows = await self.crm.run_db(products.search, self.query_text, archived=self.archived)
        table = self.query_one("#catalogue", DataTable)
        table.clear()
        for p in self.rows:
            table.add_row(
                p.sku or "",
                p.name,
                p.category or "",
                p.unit,
                money.format_money(p.price, p.currency),
                products.vat_text(p.vat_rate) if p.vat_rate is not None else self.crm.t("catalogue.no-vat"),
                key=str(p.id),
            )
        if keep is not None:
            index = next((i for i, p in enumerate(self.rows) if p.id == keep), None)
            if index is not None:
                table.move_cursor(row=index)
        t = self.crm.t
        which = t("catalogue.archived-title") if self.archived else t("catalogue.title")
        self.query_one("#catalogue-summary", Static).update(
            f"{which} · {t('catalogue.count').format(n=len(self.rows))}"
        )

    def current(self) -> ProductRow | None:
        table = self.query_one("#catalogue", DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @work(group="catalogue-form")
    async def action_add(self) -> None:
        saved = await self.app.push_screen_wait(ProductFormDialog())
        if saved is not None:
            self.notify(self.crm.t("catalogue.saved").format(name=saved.name))
            self.load(keep=saved.id)

    @work(group="catalogue-form")
    async def action_edit(self) -> None:
        product = self.current()
        if product is None:
            return
        saved = await self.app.push_screen_wait(ProductFormDialog(product))
        if saved is not None:
            self.notify(self.crm.t("catalogue.saved").format(name=saved.name))
            self.load(keep=saved.id)

    async def action_archive(self) -> None:
        product = self.current()
        if product is None:
            return
        try:
            if product.archived_at is None:
                await self.crm.run_db(products.archive, product.id, now=self.crm.now())
                self.notify(self.crm.t("catalogue.archived").format(name=product.name))
            else:
                await self.crm.run_db(products.restore, product.id)
                self.notify(self.crm.t("catalogue.restored").format(name=product.name))
        except CrmError as error:
            self.notify(refusal_text(error, self.crm.t), severity="error")
            return
        self.load()

    def action_toggle_archived(self) -> None:
        self.archived = not self.archived
        self.load()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
