"""The product form (``n`` / ``e`` in the catalogue) and the catalogue picker (``n`` in a deal's lines).

The form saves through ``products.add`` / ``products.edit``, the rules the CLI uses: the price as people
type it (``12 000,50``), the VAT rate (22, 10, 0 or none), the unit, category and SKU. The picker searches
the catalogue as you type and returns the chosen product's id.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.screens.dialogs.note import FormDialog
from crm_tui.services import money, products
from crm_tui.services.products import ProductRow
from crm_tui.widgets.app_bound import AppBound


def product_line(p: ProductRow) -> str:
    """``Лицензия CRM · 12 000 ₽ / шт · 22%`` (a product as a list shows it)."""
    sku = f"{p.sku} · " if p.sku else ""
    price = money.format_money(p.price, p.currency)
    return f"{sku}{p.name} · {price} / {p.unit} · {products.vat_text(p.vat_rate)}"


class ProductFormDialog(FormDialog[ProductRow | None]):
    """A product's name, price, unit, VAT rate, category and SKU; edits ``product`` or adds one."""

    DEFAULT_CSS = """
    ProductFormDialog Input {
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    ProductFormDialog Input:focus {
        border: none;
        background: $accent 30%;
    }
    """
    FIELDS = (
        ("name", "product-form.name", "product-form.name.hint"),
        ("price", "product-form.price", "product-form.price.hint"),
        ("unit", "product-form.unit", "product-form.unit.hint"),
        ("vat", "product-form.vat", "product-form.vat.hint"),
        ("category", "product-form.category", "product-form.category.hint"),
        ("sku", "product-form.sku", "product-form.sku.hint"),
    )

    def __init__(self, product: ProductRow | None = None) -> None:
        super().__init__()
        self.product = product

    def title_text(self) -> str:
        if self.product is None:
            return self.crm.t("product-form.new")
        return f"{self.crm.t('product-form.edit')} #{self.product.id}"

    def initial(self, field: str) -> str:
        p = self.product
        if p is None:
            return "шт" if field == "unit" else ""
        values = {
            "name": p.name,
            "price": money.amount_text(p.price),
            "unit": p.unit,
            "vat": "none" if p.vat_rate is None else str(p.vat_rate),
            "category": p.category or "",
            "sku": p.sku or "",
        }
        return values.get(field, "")

    def field_name(self, field: str) -> str:
        label = next((key for name, key, _hint in self.FIELDS if name == field), "")
        return self.crm.t(label) if label else field

    async def submit(self) -> ProductRow | None:
        fields = {name: self.value(name) for name, _label, _hint in self.FIELDS}
        if fields["price"].strip() == "":
            fields["price"] = "0"
        if self.product is None:
            return await self.crm.run_db(
                products.add,
                fields["name"],
                fields["price"],
                unit=fields["unit"] or "шт",
                vat=fields["vat"],
                category=fields["category"],
                sku=fields["sku"],
            )
        return await self.crm.run_db(
            products.edit,
            self.product.id,
            name=fields["name"],
            price=fields["price"],
            unit=fields["unit"],
            vat=fields["vat"] if fields["vat"].strip() else None,
            category=fields["category"],
            sku=fields["sku"],
        )


class ProductPickDialog(AppBound, ModalScreen[int | None]):
    """The catalogue, searched as you type; ``enter`` (or ``down`` then ``enter``) picks; ``escape``."""

    DEFAULT_CSS = """
    ProductPickDialog {
        align: center middle;
    }
    ProductPickDialog > Vertical {
        width: 76;
        max-width: 95%;
        height: auto;
        max-height: 80%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    ProductPickDialog .form-title {
        text-style: bold;
    }
    ProductPickDialog OptionList {
        height: auto;
        max-height: 14;
    }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changes"),
        Binding("down", "to_list", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.crm.t("picker.title"), classes="form-title")
            yield Input(placeholder=self.crm.t("picker.hint"), id="picker-search")
            yield OptionList(id="picker-list")
            yield Label("", id="picker-empty")

    def on_mount(self) -> None:
        self.query_one("#picker-search", Input).focus()
        self.find("")

    @on(Input.Changed, "#picker-search")
    def typed(self, event: Input.Changed) -> None:
        self.find(event.value)

    @work(exclusive=True, group="picker")
    async def find(self, query: str) -> None:
        found = await self.crm.run_db(products.search, query, limit=50)
        options = self.query_one("#picker-list", OptionList)
        options.clear_options()
        options.add_options([Option(product_line(p), id=str(p.id)) for p in found])
        if found:
            options.highlighted = 0
        self.query_one("#picker-empty", Label).update("" if found else self.crm.t("picker.none"))

    @on(Input.Submitted, "#picker-search")
    def pick_first(self) -> None:
        options = self.query_one("#picker-list", OptionList)
        if options.option_count:
            option = options.get_option_at_index(options.highlighted or 0)
            self.dismiss(int(option.id or 0))

    def action_to_list(self) -> None:
        self.query_one("#picker-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#picker-list")
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)
