"""What the rules wrote, said in Russian; what people wrote, left as it is."""

from __future__ import annotations

from crm_tui.i18n_words import event_words, linked_text, outcome_word, task_title

STAGES = {"Lead registered": "Первичное обращение", "Need discovery": "Выяснение потребности"}


def test_the_rules_wordings_are_said_in_russian_with_the_stages_russian_names() -> None:
    assert event_words("Lead #12 converted", "ru", STAGES, "conversion") == "Лид #12 конвертирован"
    assert (
        event_words("Deal #7 'Аудит: этап 2' opened at Lead registered", "ru", STAGES, "conversion")
        == "Сделка #7 «Аудит: этап 2» открыта на этапе «Первичное обращение»"
    )
    assert (
        event_words('Deal #8 "It\'s big" opened at Custom stage', "ru", STAGES, "conversion")
        == "Сделка #8 «It's big» открыта на этапе «Custom stage»"
    )
    assert (
        event_words("Аудит: этап 2: Lead registered → Need discovery", "ru", STAGES, "stage_change")
        == "Аудит: этап 2: Первичное обращение → Выяснение потребности"
    )
    assert event_words("Acts signed", "ru", STAGES, "note") == "Акты подписаны"
    repeat = event_words("Repeat request from Иван", "ru", STAGES, "repeat_request")
    assert repeat == "Повторное обращение: Иван"


def test_what_people_wrote_and_english_stay_as_written() -> None:
    typed = (
        "Discussed the audit scope",
        "Москва → Питер",
        "Lead #12 converted today",
        "",
        "Repeat request from the CFO, call Friday",
        "Lead #12 converted",
        "Аудит: Lead registered → Need discovery",
    )
    for text in typed:  # a note, whatever it says, is what someone typed
        assert event_words(text, "ru", STAGES, "note") == text
    assert event_words("Lead #12 converted", "en", STAGES, "conversion") == "Lead #12 converted"


def test_standard_outcomes_read_in_either_language_whichever_they_were_logged_in() -> None:
    assert outcome_word("reached", "ru") == "дозвонились"
    assert outcome_word("дозвонились", "en") == "reached"
    assert outcome_word("call back later", "ru") == "перезвонить позже"
    assert outcome_word("обещал подумать", "en") == "обещал подумать"


def test_the_first_call_task_as_the_rules_named_it_is_said_in_russian() -> None:
    named = task_title("Call Иван Смирнов", "first_call", "ru", "lead: Иван Смирнов")
    assert named == "Позвонить: Иван Смирнов"
    assert task_title("Call Иван Смирнов", "first_call", "en", "lead: Иван Смирнов") == "Call Иван Смирнов"
    renamed = "Call Иван Смирнов back after the demo"
    assert task_title(renamed, "first_call", "ru", "lead: Иван Смирнов") == renamed  # someone renamed it
    assert task_title("Call the bank", "task", "ru", "") == "Call the bank"  # typed by a person
    assert linked_text("lead: Иван", "ru") == "лид: Иван"
    assert linked_text("deal: Аудит", "en") == "deal: Аудит"
