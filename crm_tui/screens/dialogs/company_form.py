"""A company's fields (``e`` in the company view): name, INN, KPP, phone, e-mail, address, website.

The INN is checked with its check digits; another company with the same INN is refused by the rule, and
the form then asks whether to save it anyway (a branch with a KPP of its own is never refused).
"""

from __future__ import annotations

from crm_tui.screens.dialogs.contact_form import in_language
from crm_tui.screens.dialogs.note import FormDialog, QuestionDialog
from crm_tui.services import companies
from crm_tui.services.companies import CompanyEdit
from crm_tui.services.errors import CrmError
from crm_tui.services.validation import format_phone
from crm_tui.services.views import CompanyCard, CompanyRow


class CompanyFormDialog(FormDialog[CompanyCard | None]):
    """Returns the company as saved, with its contacts and deals (``None`` when cancelled)."""

    TITLE_KEY = "company-form.title"
    FIELDS = (
        ("name", "company-form.name", "company-form.name.hint"),
        ("inn", "company-form.inn", "company-form.inn.hint"),
        ("kpp", "company-form.kpp", "company-form.kpp.hint"),
        ("phone", "company-form.phone", "company-form.phone.hint"),
        ("email", "company-form.email", "company-form.email.hint"),
        ("address", "company-form.address", "company-form.address.hint"),
        ("website", "company-form.website", "company-form.website.hint"),
    )

    def __init__(self, company: CompanyRow) -> None:
        super().__init__()
        self.company = company
        self.force = False

    def initial(self, field: str) -> str:
        row = self.company
        return {
            "name": row.name,
            "inn": row.inn,
            "kpp": row.kpp,
            "phone": format_phone(row.phone) if row.phone else "",
            "email": row.email,
            "address": row.address,
            "website": row.website,
        }.get(field, "")

    async def submit(self) -> CompanyCard | None:
        edit = CompanyEdit(
            name=self.value("name"),
            inn=self.value("inn"),
            kpp=self.value("kpp"),
            phone=self.value("phone"),
            email=self.value("email"),
            address=self.value("address"),
            website=self.value("website"),
        )
        try:
            return await self.crm.run_db(
                companies.update,
                self.company.id,
                edit,
                by=self.crm.user_id,
                now=self.crm.now(),
                force=self.force,
            )
        except CrmError as error:
            raise in_language(error, self.crm.t) from error

    async def action_save(self) -> None:
        try:
            result = await self.submit()
        except CrmError as error:
            self.show_errors(error)
            if error.code == "company.duplicate":
                question = self.crm.t("company-form.save-duplicate").format(**error.params)
                self.app.push_screen(
                    QuestionDialog(self.crm.t("company-form.duplicate-title"), question), self.forced
                )
            return
        self.dismiss(result)

    async def forced(self, yes: bool | None) -> None:
        if yes:
            self.force = True
            await self.action_save()
