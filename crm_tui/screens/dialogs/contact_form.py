"""Edit a contact's header: name, company, phones, e-mails, birthday, tags."""

from __future__ import annotations

from datetime import date

from crm_tui.screens.dialogs.note import FormDialog
from crm_tui.services import contacts
from crm_tui.services.contacts import ContactEdit
from crm_tui.services.errors import InvalidInput
from crm_tui.services.validation import format_phone, normalize_email, normalize_phone
from crm_tui.services.views import ContactCard


def split_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())


class ContactFormDialog(FormDialog[ContactCard | None]):
    """Returns the card as saved. Phones and e-mails are comma-separated; each is checked."""

    TITLE_KEY = "contact-form.title"
    FIELDS = (
        ("name", "contact-form.name", "contact-form.name.hint"),
        ("company", "contact-form.company", "contact-form.company.hint"),
        ("phone", "contact-form.phone", "contact-form.phone.hint"),
        ("email", "contact-form.email", "contact-form.email.hint"),
        ("birthday", "contact-form.birthday", "contact-form.birthday.hint"),
        ("tags", "contact-form.tags", "contact-form.tags.hint"),
    )

    def __init__(self, card: ContactCard) -> None:
        super().__init__()
        self.card = card

    def initial(self, field: str) -> str:
        card = self.card
        return {
            "name": card.name,
            "company": card.company_name or "",
            "phone": ", ".join(format_phone(p) for p in card.phones),
            "email": ", ".join(card.emails),
            "birthday": card.birthday.isoformat() if card.birthday else "",
            "tags": ", ".join(card.tags),
        }.get(field, "")

    async def submit(self) -> ContactCard | None:
        """Every field's problem at once (the same checks the service makes), then the service saves."""
        problems: dict[str, str] = {}
        messages: list[str] = []
        birthday: date | None = None
        text = self.value("birthday").strip()
        if text:
            try:
                birthday = date.fromisoformat(text)
            except ValueError:
                problems["birthday"] = self.crm.t("contact-form.birthday-format")
                messages.append(self.crm.t("contact-form.not-a-date").format(text=repr(text)))
        for raw in split_list(self.value("phone")):
            try:
                normalize_phone(raw)
            except InvalidInput as error:
                problems.update(error.fields)
                messages.append(error.message)
        for raw in split_list(self.value("email")):
            try:
                normalize_email(raw)
            except InvalidInput as error:
                problems.update(error.fields)
                messages.append(error.message)
        if problems:
            raise InvalidInput("; ".join(messages), problems)
        edit = ContactEdit(
            name=self.value("name"),
            company_name=self.value("company"),
            phones=split_list(self.value("phone")),
            emails=split_list(self.value("email")),
            birthday=birthday,
            tags=split_list(self.value("tags")),
        )
        return await self.crm.run_db(
            contacts.update, self.card.id, edit, by=self.crm.user_id, now=self.crm.now()
        )
