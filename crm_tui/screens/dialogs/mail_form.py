"""``m`` on the contact card: an e-mail to the contact from a template - composed, shown, then sent.

``enter`` composes the message (in the client's language) and shows it; ``ctrl+s`` (or ``enter`` again
with nothing changed) sends it and logs it on the card. A message the server does not take stays in the
outbox: the dialog says so and the error, and closes nothing.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Label, Static

from crm_tui.screens.dialogs.note import FormDialog
from crm_tui.services import interactions, mail
from crm_tui.services.errors import CrmError
from crm_tui.services.views import InteractionRow

MAIL_CSS = """
MailDialog > VerticalScroll {
    width: 90;
}
MailDialog #mail-preview {
    border: round $panel;
    padding: 0 1;
    height: auto;
    display: none;
}
MailDialog #mail-preview.-shown {
    display: block;
}
"""


class MailDialog(FormDialog[InteractionRow | None]):
    """Compose from a template, show, send; returns the ``email_out`` row when the server took it."""

    DEFAULT_CSS = FormDialog.DEFAULT_CSS + MAIL_CSS
    TITLE_KEY = "mail.title"
    FIELDS = (
        ("template", "mail.template", "mail.template.hint"),
        ("to", "mail.to", "mail.to.hint"),
    )

    def __init__(self, contact_id: int, deal_id: int | None = None) -> None:
        super().__init__()
        self.contact_id = contact_id
        self.deal_id = deal_id
        self.draft: mail.Draft | None = None
        self.draft_key: tuple[str, str] | None = None

    def initial(self, field: str) -> str:
        return "follow-up" if field == "template" else ""

    def compose_fields(self) -> ComposeResult:
        yield from super().compose_fields()
        yield Static("", id="mail-preview")
        yield Label("", id="mail-state", classes="form-hint")

    def key(self) -> tuple[str, str]:
        return (self.value("template").strip(), self.value("to").strip())

    async def action_save(self) -> None:
        try:
            if self.draft is None or self.draft_key != self.key():
                await self.preview()
                return
            row = await self.send(self.draft)
        except CrmError as error:
            self.show_errors(error)
            return
        if row is not None:
            self.dismiss(row)

    async def preview(self) -> None:
        template, to = self.key()
        draft = await self.crm.run_db(
            mail.compose,
            template=template,
            deal_id=self.deal_id,
            contact_id=None if self.deal_id is not None else self.contact_id,
            to=to or None,
            by=self.crm.user_id,
        )
        self.clear_errors()
        self.draft, self.draft_key = draft, (template, to)
        lines = [f"{self.crm.t('mail.to')}: {draft.to}", f"{self.crm.t('mail.subject')}: {draft.subject}"]
        if draft.attachment_names:
            lines.append(", ".join(draft.attachment_names))
        preview = self.query_one("#mail-preview", Static)
        preview.update("\n".join([*lines, "", draft.body.rstrip("\n")]))
        preview.add_class("-shown")
        self.query_one("#mail-state", Label).update(self.crm.t("mail.ready"))

    async def send(self, draft: mail.Draft) -> InteractionRow | None:
        self.query_one("#mail-state", Label).update(self.crm.t("mail.sending"))
        result = await self.crm.run_db(mail.send, draft, by=self.crm.user_id, now=self.crm.now())
        if not result.sent or result.interaction_id is None:
            self.query_one("#mail-state", Label).update("")
            raise CrmError(
                self.crm.t("mail.kept").format(error=result.error, id=result.outbox_id),
                code=result.error_code,
                params={"outbox": result.outbox_id},
            )
        return await self.crm.run_db(interactions.get, result.interaction_id)
