"""A contact's header, new (``n`` in the contact list) or edited (``e`` on the card): name, company, phones,
e-mails, birthday, tags, owner. Each bad field says what is wrong beside itself, in the desk's language.

A phone or an e-mail another contact has is refused by the rule; the form then asks whether to save it
anyway, marked as a possible duplicate (``crm contact add --force``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from crm_tui.screens.dialogs.note import FormDialog, QuestionDialog
from crm_tui.services import contacts, users
from crm_tui.services.contacts import ContactEdit
from crm_tui.services.errors import CrmError, InvalidInput
from crm_tui.services.validation import format_phone
from crm_tui.services.views import ContactCard


def split_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())


@dataclass(frozen=True)
class ContactForm:
    """What the form holds, as typed."""

    name: str
    company: str
    phones: str
    emails: str
    birthday: str
    tags: str
    owner: str


def save_contact(
    contact_id: int | None, form: ContactForm, *, by: int, now: datetime, force: bool = False
) -> ContactCard:
    """Add (``contact_id=None``) or save a contact from its form: one thread-worker call."""
    owner_id = None
    if form.owner.strip():
        try:
            owner_id = users.by_login(form.owner).id
        except CrmError as error:
            raise InvalidInput(
                error.message,
                {"owner": "no such login"},
                code=error.code,
                params={**error.params, "fields": {"owner": error.code}},
            ) from error
    edit = ContactEdit(
        name=form.name,
        company_name=form.company,
        phones=split_list(form.phones),
        emails=split_list(form.emails),
        birthday=form.birthday,
        tags=split_list(form.tags),
        owner_id=owner_id,
    )
    if contact_id is None:
        return contacts.card(contacts.create(edit, by=by, now=now, force=force))
    return contacts.update(contact_id, edit, by=by, now=now, force=force)


def in_language(error: CrmError, t: Callable[[str], str]) -> CrmError:
    """The refusal in the desk's language: each field's problem (i18n ``problem.<code>``) and the message
    (``error.<code>``, filled from its params); what has no translation stays as the rule wrote it."""
    if error.params.get("field") == "phone" and error.params.get("value"):
        error.params = {**error.params, "value": format_phone(str(error.params["value"]))}
    if not isinstance(error, InvalidInput):
        message = _filled(t, f"error.{error.code}", error.params) or error.message
        translated: CrmError = type(error)(message, code=error.code, params=error.params)
        return translated
    codes: dict[str, str] = error.params.get("fields", {})
    fields = dict(error.fields)
    for field in fields:
        fields[field] = _filled(t, f"problem.{codes.get(field, error.code)}", error.params) or fields[field]
    if len(set(codes.values())) > 1:
        message = "; ".join(f"{_field_name(t, f)}: {fields[f]}" for f in codes if f in fields)
    else:
        message = _filled(t, f"error.{error.code}", error.params) or error.message
    return InvalidInput(message, fields, code=error.code, params=error.params)


def _filled(t: Callable[[str], str], key: str, params: dict[str, object]) -> str | None:
    template = t(key)
    if template == key:
        return None
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return None


def _field_name(t: Callable[[str], str], field: str) -> str:
    name = t(f"field.{field}")
    return field if name == f"field.{field}" else name


class ContactFormDialog(FormDialog[ContactCard | None]):
    """Returns the card as saved (``None`` when cancelled). Phones, e-mails and tags are comma-separated."""

    FIELDS = (
        ("name", "contact-form.name", "contact-form.name.hint"),
        ("company", "contact-form.company", "contact-form.company.hint"),
        ("phone", "contact-form.phone", "contact-form.phone.hint"),
        ("email", "contact-form.email", "contact-form.email.hint"),
        ("birthday", "contact-form.birthday", "contact-form.birthday.hint"),
        ("tags", "contact-form.tags", "contact-form.tags.hint"),
        ("owner", "contact-form.owner", "contact-form.owner.hint"),
    )

    def __init__(self, card: ContactCard | None = None) -> None:
        """``card``: the contact to edit; none for a new contact."""
        super().__init__()
        self.card = card
        self.force = False
        """Set once the person said to save a duplicate anyway."""

    def title_text(self) -> str:
        return self.crm.t("contact-form.title" if self.card is not None else "contact-form.new-title")

    def initial(self, field: str) -> str:
        card = self.card
        if card is None:
            return ""
        return {
            "name": card.name,
            "company": card.company_name or "",
            "phone": ", ".join(format_phone(p) for p in card.phones),
            "email": ", ".join(card.emails),
            "birthday": card.birthday.isoformat() if card.birthday else "",
            "tags": ", ".join(card.tags),
            "owner": card.owner_login or "",
        }.get(field, "")

    def form(self) -> ContactForm:
        return ContactForm(
            name=self.value("name"),
            company=self.value("company"),
            phones=self.value("phone"),
            emails=self.value("email"),
            birthday=self.value("birthday"),
            tags=self.value("tags"),
            owner=self.value("owner"),
        )

    async def submit(self) -> ContactCard | None:
        contact_id = self.card.id if self.card is not None else None
        try:
            return await self.crm.run_db(
                save_contact,
                contact_id,
                self.form(),
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
            if error.code == "contact.duplicate":
                question = self.crm.t("contact-form.save-duplicate").format(**error.params)
                self.app.push_screen(
                    QuestionDialog(self.crm.t("contact-form.duplicate-title"), question), self.forced
                )
            return
        self.dismiss(result)

    async def forced(self, yes: bool | None) -> None:
        if yes:
            self.force = True
            await self.action_save()
