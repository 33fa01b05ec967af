"""Counts said with their nouns in the right form (CLDR plural rules for English and Russian)."""

from __future__ import annotations

import pytest

from crm_tui.i18n import plural_category, tn


@pytest.mark.parametrize(
    ("numbers", "category"),
    [
        ((1, 21, 31, 101, 121, 1001), "one"),
        ((2, 3, 4, 22, 23, 24, 102, 1004), "few"),
        ((0, 5, 9, 10, 11, 12, 13, 14, 15, 20, 25, 100, 111, 112, 114, 1000), "many"),
    ],
)
def test_russian_categories(numbers: tuple[int, ...], category: str) -> None:
    assert {n: plural_category(n, "ru") for n in numbers} == dict.fromkeys(numbers, category)


def test_english_categories() -> None:
    assert [plural_category(n, "en") for n in (0, 1, 2, 11, 21)] == [
        "other",
        "one",
        "other",
        "other",
        "other",
    ]


def test_overdue_tasks_in_russian_and_english() -> None:
    said = [tn("reminders.overdue-tasks", n, "ru") for n in (1, 2, 5, 11, 21, 22, 112)]
    assert said == [
        "1 просроченная задача",
        "2 просроченные задачи",
        "5 просроченных задач",
        "11 просроченных задач",
        "21 просроченная задача",
        "22 просроченные задачи",
        "112 просроченных задач",
    ]
    assert [tn("reminders.overdue-tasks", n, "en") for n in (1, 2, 0)] == [
        "1 overdue task",
        "2 overdue tasks",
        "0 overdue tasks",
    ]
    assert tn("reminders.due-tasks", 3, "ru") == "Пора: 3 задачи"


def test_a_language_without_the_key_falls_back_to_english_forms() -> None:
    assert tn("reminders.overdue-tasks", 1, "de") == "1 overdue task"
    assert tn("reminders.overdue-tasks", 3, "de") == "3 overdue tasks"
