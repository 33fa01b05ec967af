"""UI text: Russian dates and spans, and a Russian label for every key of the translated screens."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from textual.binding import Binding

from crm_tui.i18n import STRINGS, t
from crm_tui.i18n_format import span, when
from crm_tui.screens.contact_card import ContactCardScreen
from crm_tui.screens.contacts import ContactListScreen
from crm_tui.screens.dialogs.note import FormDialog, QuestionDialog
from crm_tui.screens.dialogs.task_dialogs import TaskDialog
from crm_tui.screens.lead_detail import LeadDetailScreen
from crm_tui.screens.reports import ReportsScreen
from crm_tui.screens.script_stats import ScriptStatsScreen
from crm_tui.screens.search import SearchScreen
from crm_tui.screens.tasks import TaskQueueScreen
from crm_tui.services import clock
from crm_tui.widgets.app_bound import translate_binding
from crm_tui.widgets.call_script import CallScriptPane
from crm_tui.widgets.paged_table import PagedTable

NOW = datetime(2026, 3, 2, 9, 0)


def test_dates_take_russian_weekday_and_month_names() -> None:
    assert when(NOW, "%a %d %b %H:%M", "ru") == "пн 02 мар 09:00"
    assert when(date(1985, 5, 12), "%d %b %Y", "ru") == "12 мая 1985"
    assert when(NOW, "%a %d %b %H:%M", "en") == NOW.strftime("%a %d %b %H:%M")


@pytest.mark.parametrize(
    ("moment", "russian"),
    [
        (NOW, "сейчас"),
        (NOW + timedelta(minutes=25), "через 25 мин"),
        (NOW - timedelta(hours=2), "2 ч назад"),
        (NOW - timedelta(days=3), "3 д назад"),
        (NOW + timedelta(days=90), "через 3 мес"),
    ],
)
def test_spans_in_russian(moment: datetime, russian: str) -> None:
    english = clock.relative(moment, NOW)
    assert span(english, "ru") == russian
    assert span(english, "en") == english


def test_every_key_of_the_translated_screens_has_russian_text() -> None:
    classes = (
        ContactCardScreen,
        ContactListScreen,
        LeadDetailScreen,
        TaskQueueScreen,
        ReportsScreen,
        ScriptStatsScreen,
        SearchScreen,
        FormDialog,
        QuestionDialog,
        TaskDialog,
        CallScriptPane,
        PagedTable,
    )
    missing = [
        f"{cls.__name__}: {b.id}"
        for cls in classes
        for b in cls.BINDINGS
        if isinstance(b, Binding) and (not b.id or b.id not in STRINGS["ru"])
    ]
    assert missing == []


def test_a_binding_takes_its_label_and_tooltip_from_its_id() -> None:
    binding = Binding("s", "snooze", "Snooze", id="tasks.snooze", tooltip="15 min, 1 h or a time")
    russian = translate_binding(binding, "ru")
    assert (russian.description, russian.tooltip) == ("Отложить", t("tasks.snooze.tip", "ru"))
    palette = translate_binding(Binding("ctrl+p", "command_palette", "palette", tooltip="Open it"), "ru")
    assert palette.description == "Команды"
    assert translate_binding(Binding("x", "other", "Other"), "ru").description == "Other"
