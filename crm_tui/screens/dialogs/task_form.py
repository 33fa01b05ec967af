"""A task for a contact (and its deal): title and due time, as people type it."""

from __future__ import annotations

from crm_tui.screens.dialogs.note import FormDialog
from crm_tui.services import clock, tasks
from crm_tui.services.errors import InvalidInput
from crm_tui.services.views import TaskRow


class TaskFormDialog(FormDialog[TaskRow | None]):
    """Returns the created task."""

    TITLE_KEY = "task-form.title"
    FIELDS = (
        ("title", "task-form.what", "task-form.what.hint"),
        ("due", "task-form.due", "task-form.due.hint"),
    )

    def __init__(self, contact_id: int, deal_id: int | None = None) -> None:
        super().__init__()
        self.contact_id = contact_id
        self.deal_id = deal_id

    def initial(self, field: str) -> str:
        return self.crm.t("task-form.due.initial") if field == "due" else ""

    async def submit(self) -> TaskRow | None:
        problems: dict[str, str] = {}
        messages: list[str] = []
        if not self.value("title").strip():
            problems["title"] = self.crm.t("dialog.required")
            messages.append(self.crm.t("task-form.title-required"))
        due = None
        try:
            due = clock.to_utc(tasks.parse_due(self.value("due"), clock.to_local(self.crm.now())))
        except InvalidInput as error:
            problems.update(error.fields)
            messages.append(error.message)
        if problems or due is None:
            raise InvalidInput("; ".join(messages), problems)
        return await self.crm.run_db(
            tasks.create,
            self.value("title"),
            due,
            contact_id=self.contact_id,
            deal_id=self.deal_id,
            by=self.crm.user_id,
            now=self.crm.now(),
        )
