"""A merge in a contact's history is said in the desk's language, with its own mark in the timeline."""

from __future__ import annotations

from crm_tui.i18n_words import event_words
from crm_tui.widgets.timeline import kind_label


def test_merge_events_in_russian() -> None:
    assert (
        event_words("Merged contact #31 Сидоров П.", "ru", {}, "merge") == "Сюда слит контакт №31 Сидоров П."
    )
    assert event_words("Merged into contact #9 Пётр Сидоров", "ru", {}, "merge") == (
        "Слит с контактом №9 Пётр Сидоров"
    )
    assert event_words("Company #3 Вектор, АО merged into #1 АО Вектор", "ru", {}, "merge") == (
        "Компания №3 Вектор, АО слита с №1 АО Вектор"
    )
    assert event_words("Merged contact #31 by hand", "ru", {}, "note") == "Merged contact #31 by hand"
    assert kind_label("merge", "ru")[0] == "⇄ слияние" and kind_label("merge")[0] == "⇄ merged"
