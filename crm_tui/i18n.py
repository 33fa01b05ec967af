"""UI text in English and Russian: one flat dict per language. Add keys freely; English is the fallback.

``t("inbox.title", "ru")`` -> the Russian text, else the English one, else the key itself.
"""

from __future__ import annotations

import os

LANGS = ("en", "ru")
ENV_LANG = "CRM_LANG"

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        # modes and app bindings
        "mode.leads": "Leads",
        "mode.deals": "Deals",
        "mode.contacts": "Contacts",
        "mode.tasks": "Tasks",
        "mode.reports": "Reports",
        "app.search": "Search",
        "app.help": "Help",
        "app.palette": "Commands",
        "app.quit": "Quit",
        "placeholder.tasks": "Tasks arrive with the task queue.",
        "placeholder.reports": "Reports arrive with the reports screen.",
        # lead inbox
        "inbox.title": "Lead inbox",
        "inbox.empty": (
            "No leads yet.\n\nPress  n  to add the first lead by hand,\n"
            "or load the demo desk from a shell:  crm demo"
        ),
        "inbox.none-match": "No leads match these filters. Press  f  to clear them.",
        "inbox.col.new": "",
        "inbox.col.name": "Name",
        "inbox.col.phone": "Phone",
        "inbox.col.source": "Source / keyword",
        "inbox.col.age": "Age",
        "inbox.col.owner": "Owner",
        "inbox.col.status": "Status",
        "inbox.new": "New lead",
        "inbox.open": "Open",
        "inbox.take": "Take",
        "inbox.convert": "Convert",
        "inbox.disqualify": "Disqualify",
        "inbox.duplicate": "Match",
        "inbox.status": "Status",
        "inbox.source": "Source",
        "inbox.mine": "Mine/all",
        "inbox.clear": "Clear filters",
        "inbox.arrived": "new lead(s) arrived",
        "filter.all": "all",
        "filter.mine": "mine",
        "filter.everyone": "everyone",
        # contacts
        "contacts.title": "Contacts",
        "contacts.empty": "No contacts yet. A lead becomes a contact when you convert it (c in the inbox).",
        "contacts.col.name": "Name",
        "contacts.col.company": "Company",
        "contacts.col.phone": "Phone",
        "contacts.col.email": "E-mail",
        "contacts.col.owner": "Owner",
        "contacts.col.since": "Since",
        # search
        "search.title": "Search",
        "search.placeholder": "Name, company, e-mail or phone (3+ characters)",
        "search.none": "Nothing found.",
        "search.hint": "Type to search leads, contacts, companies and deals; enter opens.",
        # help
        "help.title": "Keys of this screen",
        "help.close": "escape closes",
        # lead form
        "form.title": "New lead",
        "form.name": "Name",
        "form.phone": "Phone",
        "form.email": "E-mail",
        "form.company": "Company",
        "form.source": "Source",
        "form.comment": "Comment",
        "form.save": "Save",
        "form.cancel": "Cancel",
        # reason / confirm
        "reason.placeholder": "The reason",
        "reason.required": "A reason is required",
        "confirm.yes": "Yes",
        "confirm.no": "No",
        # lead detail
        "lead.duplicates": "Possible duplicates (enter opens)",
        "lead.no-duplicates": "No other lead or contact has this phone or e-mail.",
        "lead.tasks": "Open tasks",
        "lead.history": "History",
    },
    "ru": {
        "mode.leads": "Лиды",
        "mode.deals": "Сделки",
        "mode.contacts": "Контакты",
        "mode.tasks": "Задачи",
        "mode.reports": "Отчёты",
        "app.search": "Поиск",
        "app.help": "Справка",
        "app.palette": "Команды",
        "app.quit": "Выход",
        "placeholder.tasks": "Задачи появятся вместе с очередью задач.",
        "placeholder.reports": "Отчёты появятся вместе с экраном отчётов.",
        "inbox.title": "Входящие лиды",
        "inbox.empty": (
            "Лидов пока нет.\n\nНажмите  n, чтобы добавить первый лид вручную,\n"
            "или загрузите демо-базу из терминала:  crm demo"
        ),
        "inbox.none-match": "Нет лидов под эти фильтры. Нажмите  f, чтобы сбросить их.",
        "inbox.col.name": "Имя",
        "inbox.col.phone": "Телефон",
        "inbox.col.source": "Источник / ключевое слово",
        "inbox.col.age": "Возраст",
        "inbox.col.owner": "Ответственный",
        "inbox.col.status": "Статус",
        "inbox.new": "Новый лид",
        "inbox.open": "Открыть",
        "inbox.take": "Взять",
        "inbox.convert": "Конвертировать",
        "inbox.disqualify": "Отклонить",
        "inbox.duplicate": "Совпадение",
        "inbox.status": "Статус",
        "inbox.source": "Источник",
        "inbox.mine": "Мои/все",
        "inbox.clear": "Сбросить фильтры",
        "inbox.arrived": "новых лидов",
        "filter.all": "все",
        "filter.mine": "мои",
        "filter.everyone": "все",
        "contacts.title": "Контакты",
        "contacts.empty": "Контактов пока нет. Лид становится контактом при конвертации (c во входящих).",
        "contacts.col.name": "Имя",
        "contacts.col.company": "Компания",
        "contacts.col.phone": "Телефон",
        "contacts.col.email": "E-mail",
        "contacts.col.owner": "Ответственный",
        "contacts.col.since": "С",
        "search.title": "Поиск",
        "search.placeholder": "Имя, компания, e-mail или телефон (от 3 символов)",
        "search.none": "Ничего не найдено.",
        "search.hint": "Ищите лиды, контакты, компании и сделки; enter открывает.",
        "help.title": "Клавиши этого экрана",
        "help.close": "escape закрывает",
        "form.title": "Новый лид",
        "form.name": "Имя",
        "form.phone": "Телефон",
        "form.email": "E-mail",
        "form.company": "Компания",
        "form.source": "Источник",
        "form.comment": "Комментарий",
        "form.save": "Сохранить",
        "form.cancel": "Отмена",
        "reason.placeholder": "Причина",
        "reason.required": "Нужна причина",
        "confirm.yes": "Да",
        "confirm.no": "Нет",
        "lead.duplicates": "Возможные дубли (enter открывает)",
        "lead.no-duplicates": "Ни у одного другого лида или контакта нет этого телефона или e-mail.",
        "lead.tasks": "Открытые задачи",
        "lead.history": "История",
    },
}

STATUS_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "new": "new",
        "in_work": "in work",
        "qualified": "qualified",
        "converted": "converted",
        "disqualified": "disqualified",
        "open": "open",
    },
    "ru": {
        "new": "новый",
        "in_work": "в работе",
        "qualified": "квалифицирован",
        "converted": "конвертирован",
        "disqualified": "отклонён",
        "open": "открытые",
    },
}


def pick_lang(value: str | None = None) -> str:
    """``--lang`` if given, else ``CRM_LANG``, else English; anything unknown falls back to English."""
    wanted = (value or os.environ.get(ENV_LANG) or "en").strip().lower()[:2]
    return wanted if wanted in LANGS else "en"


def t(key: str, lang: str = "en") -> str:
    return STRINGS.get(lang, {}).get(key) or STRINGS["en"].get(key) or key


def status_name(status: str, lang: str = "en") -> str:
    return STATUS_NAMES.get(lang, STATUS_NAMES["en"]).get(status, status)
