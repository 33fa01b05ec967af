"""The App: modes 1-5, global bindings, the command palette; ``make_app()`` builds it for the CLI and tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from textual import work
from textual.app import App
from textual.binding import Binding

from crm_tui.data.db import database, open_database
from crm_tui.screens.tasks import TaskQueueScreen
from crm_tui.services import clock as clock_service
from crm_tui.services import pipelines, users
from crm_tui.widgets.reminders import start_reminders

T = TypeVar("T")
Clock = Callable[[], datetime]


class CrmApp(App[None]):
    """The desk. Screens call services through :meth:`run_db`, off the event loop."""

    CSS_PATH = "app.tcss"
    TITLE = "crm-tui"
    MODES = {"tasks": TaskQueueScreen}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("4", "switch_mode('tasks')", "Tasks", id="app.tasks", tooltip="The task queue"),
    ]

    def __init__(self, db_url: str, *, clock: Clock | None = None, user: str | None = None, lang: str = "en") -> None:
        super().__init__()
        self.db_url = db_url
        self.clock: Clock = clock or clock_service.utcnow
        self.lang = lang
        self.user_login = user
        self.user_id = 0

    def now(self) -> datetime:
        return self.clock()

    def on_load(self) -> None:
        open_database(self.db_url)
        with database.connection_context():
            now = self.now()
            users.ensure_default(now)
            pipelines.ensure_default()
            self.user_id = users.current(self.user_login, now=now).id

    def on_mount(self) -> None:
        # Reminders: desktop notification when there is one, else toast + bell; count in the header.
        self.reminder_loop = start_reminders(
            self, now=self.now, user_id=lambda: self.user_id, notifier=getattr(self, "notifier", None)
        )

    async def run_db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a service call in a thread worker with its own connection; await its result."""
        worker = self._db_worker(fn, args, kwargs)
        result: T = await worker.wait()
        return result

    @work(thread=True, exit_on_error=False, group="db")
    def _db_worker(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        with database.connection_context():
            return fn(*args, **kwargs)


def make_app(
    db_url: str | None = None, *, clock: Clock | None = None, user: str | None = None, lang: str | None = None
) -> CrmApp:
    from crm_tui.data.db import resolve_url

    return CrmApp(resolve_url(db_url), clock=clock, user=user, lang=lang or "en")


def run_app(*, db: str | None = None, user: str | None = None, lang: str | None = None) -> None:
    make_app(db, user=user, lang=lang).run()
