"""A realistic demo desk: users, leads from ad channels, contacts, deals at every stage, calls and tasks.

``generate(leads=N, now=...)`` appends a year of a sales desk's life ending at ``now``: leads with
Russian and English names, valid +7 mobile phones, UTM marks, statuses by age; converted leads with a
contact, a company and a deal moved through the default pipeline (history kept); interactions, tasks
(first calls, follow-ups, some overdue) and the search index entries of every new record.

It is a bulk loader, not a loop over the services: rows are generated as tuples and written with
``executemany`` of Peewee-generated INSERT statements, one transaction per chunk of leads, and the
search bodies are generated alongside the rows (the FTS index is fed in bulk, not by per-row triggers).
Each chunk runs under the write lock (``BEGIN IMMEDIATE`` on SQLite) and numbers its rows after the
highest ids it finds there, so loading into a desk that already has data (even one another process
is writing to) appends without clashing ids. The same ``seed`` and ``now`` give the same desk.
"""

from __future__ import annotations

import calendar
import math
import multiprocessing
import queue
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from peewee import Database, fn

from crm_tui.data import search as index
from crm_tui.data.db import database, is_postgres, is_sqlite
from crm_tui.data.models import (
    BaseModel,
    Company,
    Contact,
    ContactChannel,
    Deal,
    Interaction,
    Lead,
    Product,
    StageHistory,
    Task,
    User,
)
from crm_tui.services import pipelines, users
from crm_tui.services.errors import InvalidInput, RuleViolation

DEFAULT_LEADS = 300
CHUNK = 10_000  # leads generated and written at a time (one progress step)
TX_LEADS = 100_000  # leads per transaction: fewer commits, each page of the indexes written fewer times
BIG_LOAD = 50_000  # from this many leads the search index is merged once at the end, not as it grows
MAX_LEADS = 10_000_000

HOUR = 3600
DAY = 86400
SPAN_DAYS = 365

# login, name, role
DEMO_USERS: list[tuple[str, str, str]] = [
    ("olga", "Ольга Смирнова", "head"),
    ("ivan", "Иван Петров", "manager"),
    ("maria", "Мария Кузнецова", "manager"),
    ("alexey", "Алексей Соколов", "manager"),
    ("john", "John Carter", "manager"),
    ("katya", "Екатерина Волкова", "operator"),
    ("emily", "Emily Stone", "operator"),
]

# name, unit, price in roubles, quantity range for a deal
DEMO_PRODUCTS: list[tuple[str, str, int, tuple[int, int]]] = [
    ("Внедрение CRM", "проект", 350_000, (1, 1)),
    ("Лицензия CRM на 1 пользователя (год)", "шт", 12_000, (3, 60)),
    ("Настройка воронки продаж", "проект", 90_000, (1, 1)),
    ("Интеграция с IP-телефонией", "проект", 120_000, (1, 1)),
    ("Обучение менеджеров", "день", 45_000, (1, 5)),
    ("Аудит отдела продаж", "проект", 180_000, (1, 1)),
    ("Скрипты продаж под ключ", "пакет", 60_000, (1, 3)),
    ("Техподдержка", "месяц", 25_000, (3, 12)),
    ("Sales team onboarding", "day", 50_000, (1, 4)),
]

_MALE = (
    "Александр Алексей Андрей Антон Артём Борис Вадим Виктор Владимир Дмитрий Евгений Егор Иван Игорь "
    "Илья Кирилл Константин Максим Михаил Никита Николай Олег Павел Роман Сергей Станислав Тимур Фёдор "
    "Юрий Ярослав"
).split()
_FEMALE = (
    "Александра Алина Анастасия Анна Валентина Валерия Вера Виктория Галина Дарья Евгения Екатерина Елена "
    "Жанна Ирина Карина Ксения Лариса Любовь Марина Мария Наталья Нина Оксана Ольга Полина Светлана "
    "Софья Татьяна Юлия"
).split()
_SURNAMES = (
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков "
    "Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин "
    "Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов "
    "Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв Белов "
    "Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов Осипов "
    "Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Денисов Гаврилов "
    "Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов Ефимов Федотов "
    "Щербаков Назаров Калинин Исаев Быков Маслов Родионов Коновалов Лазарев Воронин Климов Филатов "
    "Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Трофимов Леонов Соболев Ермаков Колесников "
    "Гончаров Емельянов Никифоров Грачёв Котов Гришин Ефремов Архипов Громов Кириллов Малышев Панов "
    "Моисеев Румянцев Акимов Кондратьев Бирюков Горбунов Анисимов Галкин Лукьянов Скворцов Юдин "
    "Белоусов Нестеров Симонов Харитонов Князев Цветков Левин Воронов Мальцев Логинов Горшков Савин "
    "Краснов Майоров Демидов Елисеев Рыбаков Сафонов Плотников Хохлов Жданов Шубин Шестаков Ершов "
    "Третьяков Зуев Высоцкий Островский Покровский Коваленко Бондаренко Шевчук"
).split()
_EN_FIRST = (
    "James John Robert Michael David William Richard Thomas Daniel Matthew Oliver Jack Harry George "
    "Mary Patricia Jennifer Linda Elizabeth Sarah Emily Jessica Laura Emma Olivia Sophie"
).split()
_EN_LAST = (
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Anderson Thomas Moore Martin Jackson "
    "White Harris Clark Lewis Walker Hall Young King Wright Scott Green Baker Adams Nelson Carter "
    "Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart Morris"
).split()

_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya".split(),
        strict=True,
    )
)

_ORG_A = (
    "Север Юг Восток Строй Техно Агро Мед Транс Энерго Инфо Гео Эко Проф Спец Альфа Вектор Интер "
    "Нефте Металл Лес Торг Фарм Авто Сибирь Урал Волга Нева Балт Кедр Меридиан"
).split()
_ORG_B = (
    "Сервис Маркет Строй Снаб Консалт Логистик Групп Пром Трейд Софт Систем Холдинг Проект Мастер "
    "Ресурс Инвест Лайн Плюс Комплекс Технологии"
).split()
_EN_ORG_A = "Blue North Bright Silver Summit Pioneer Atlas Vertex Nova Apex Harbor Crown".split()
_EN_ORG_B = "Logistics Systems Consulting Solutions Trading Labs Media Partners Foods Retail".split()
_EN_ORG_C = ("LLC", "Ltd", "Inc", "GmbH")

_MAIL_DOMAINS = ("gmail.com", "yandex.ru", "mail.ru", "bk.ru", "inbox.ru", "outlook.com", "ya.ru")
_MOBILE_CODES = tuple(c for c in range(900, 1000) if c != 930 and not 940 <= c <= 949)

_COMMENTS = (
    "Хочу демо для отдела из 10 человек",
    "Перезвоните после 15:00",
    "Нужна интеграция с телефонией",
    "Сколько стоит на 5 пользователей?",
    "Заявка с формы обратной связи",
    "Интересует перенос базы из Excel",
    "Нужен счёт для юрлица",
    "Interested in a demo for our sales team",
    "Please call back in the morning",
)
_DISQUALIFY_REASONS = (
    "Нет потребности",
    "Не целевой: частное лицо",
    "Спам",
    "Не дозвонились за 5 попыток",
    "Ошиблись номером",
    "Нет бюджета",
    "Выбрали другое решение",
    "Not a fit: looking for a free tool",
)
_DUPLICATE_REASON = "Дубликат: повторное обращение"
_LOST_REASONS = (
    "Выбрали конкурента",
    "Дорого",
    "Нет бюджета в этом году",
    "Пропала связь",
    "Отложили проект",
    "Сделали своими силами",
    "Chose a competitor",
)
_STAGE_TASKS = (
    "Назначить звонок-знакомство",
    "Выяснить потребность и бюджет",
    "Подготовить КП",
    "Согласовать КП и договор",
    "Проверить ход работ",
    "Подписать акты и взять отзыв",
)
_STAGE_TOUCHES: tuple[tuple[str, str, str, str], ...] = (
    ("call_out", "Звонок-знакомство", "Договорились о встрече", "agreed"),
    ("call_out", "Выяснение потребности", "Отдел продаж 8 человек, работают в Excel", "interested"),
    ("email_out", "Коммерческое предложение", "КП отправлено на почту", "sent"),
    ("meeting", "Встреча: согласование условий", "Обсудили сроки и оплату", "agreed"),
    ("call_in", "Клиент перезвонил с вопросами", "Вопросы по обучению сотрудников", "answered"),
    ("email_in", "Отзыв клиента", "Спасибо, всё работает!", "feedback"),
)
# per open stage: mean days spent there, chance to be lost when leaving it
_STAGE_MEAN_DAYS = (1.0, 4.0, 4.0, 9.0, 20.0, 6.0)
_STAGE_LOSS = (0.08, 0.2, 0.15, 0.25, 0.05, 0.02)
_STALL = 0.2  # some deals sit much longer at a stage: the stale deals the kanban highlights

# UTM profiles: (weight, source, medium, campaigns, terms, referrer, landing pages)
_TERMS_RU = (
    "crm для отдела продаж",
    "купить crm",
    "crm система цена",
    "crm для малого бизнеса",
    "программа для учета клиентов",
    "внедрение crm",
    "crm для колл центра",
    "автоматизация отдела продаж",
    "воронка продаж crm",
    "crm в терминале",
    "учет заявок с сайта",
)
_TERMS_EN = ("crm for sales team", "terminal crm", "sales pipeline software", "small business crm")
_LANDINGS = (
    "https://crm-desk.ru/",
    "https://crm-desk.ru/demo",
    "https://crm-desk.ru/tseny",
    "https://crm-desk.ru/crm-dlya-otdela-prodazh",
    "https://crm-desk.ru/en/",
)
_UTM_PROFILES: tuple[tuple[int, str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        25,
        "yandex",
        "cpc",
        ("crm_search_msk", "crm_search_spb", "brand_search"),
        _TERMS_RU,
        ("https://yandex.ru/",),
    ),
    (6, "yandex", "cpc", ("crm_rsya_retarget",), ("",), ("https://yandex.ru/",)),
    (8, "yandex", "organic", ("",), ("",), ("https://yandex.ru/search/",)),
    (
        10,
        "google",
        "cpc",
        ("crm_search_ru", "crm_search_en"),
        _TERMS_RU + _TERMS_EN,
        ("https://www.google.com/",),
    ),
    (7, "google", "organic", ("",), ("",), ("https://www.google.com/",)),
    (18, "direct", "(none)", ("",), ("",), ("",)),
    (8, "vk", "cpc", ("vk_leadform_autumn", "vk_retarget"), ("",), ("https://vk.com/",)),
    (3, "vk", "social", ("",), ("",), ("https://vk.com/crmdesk",)),
    (
        8,
        "referral",
        "referral",
        ("",),
        ("",),
        ("https://vc.ru/crm/obzor-crm-2026", "https://habr.com/ru/articles/crm/", "https://partner-it.ru/"),
    ),
    (7, "", "", ("",), ("",), ("",)),  # registered by hand from a phone call
)

# status order and cumulative chances by the lead's age (younger than an hour, a day, a week, older)
_STATUSES = ("new", "in_work", "qualified", "converted", "disqualified")
_STATUS_BY_AGE: tuple[tuple[int, tuple[float, ...]], ...] = (
    (HOUR, (0.92, 1.0, 1.0, 1.0, 1.0)),
    (DAY, (0.55, 0.88, 0.93, 0.93, 1.0)),
    (7 * DAY, (0.1, 0.4, 0.52, 0.78, 1.0)),
    (10**12, (0.004, 0.04, 0.07, 0.345, 1.0)),
)
_DUPLICATE_RATE = 0.03


@dataclass(frozen=True)
class DemoSummary:
    """What the demo added to the desk."""

    users: int
    leads: int
    contacts: int
    companies: int
    deals: int
    stage_moves: int
    interactions: int
    tasks: int
    products: int
    search_entries: int


@dataclass(frozen=True)
class _Desk:
    """Ids the generator needs: who works here and the default pipeline's stages."""

    managers: tuple[int, ...]
    operators: tuple[int, ...]
    pipeline_id: int
    open_stages: tuple[int, ...]
    open_names: tuple[str, ...]
    won_stage: int
    lost_stage: int


class _Rows:
    """The rows of one chunk, in insert order, plus running totals."""

    def __init__(self) -> None:
        self.leads: list[tuple[Any, ...]] = []
        self.companies: list[tuple[Any, ...]] = []
        self.contacts: list[tuple[Any, ...]] = []
        self.channels: list[tuple[Any, ...]] = []
        self.deals: list[tuple[Any, ...]] = []
        self.history: list[tuple[Any, ...]] = []
        self.interactions: list[tuple[Any, ...]] = []
        self.tasks: list[tuple[Any, ...]] = []
        self.search: list[tuple[str, int, str]] = []


# Column order of every bulk insert; each must name every column of its table (checked when built).
_COLUMNS: dict[type[BaseModel], tuple[str, ...]] = {
    Lead: (
        "id", "name", "phone", "email", "company_name", "comment", "status", "disqualify_reason",
        "owner_id", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer",
        "landing_page", "created_at", "qualified_at", "converted_at", "closed_at", "contact_id",
        "repeat_count", "deal_id",
    ),
    Company: ("id", "name", "owner_id", "created_at"),
    Contact: ("id", "name", "company_id", "owner_id", "birthday", "tags", "created_at"),
    ContactChannel: ("contact_id", "kind", "value", "label", "position"),
    Deal: (
        "id", "title", "contact_id", "company_id", "pipeline_id", "stage_id", "amount", "currency",
        "owner_id", "lead_id", "expected_close", "acts_signed_at", "lost_reason", "won_at", "lost_at",
        "stage_entered_at", "created_at",
    ),
    StageHistory: ("deal_id", "from_stage_id", "to_stage_id", "by_id", "at"),
    Interaction: (
        "kind", "by_id", "at", "duration", "subject", "summary", "outcome", "lead_id", "contact_id",
        "deal_id", "data",
    ),
    Task: (
        "title", "due_at", "done_at", "assignee_id", "created_by_id", "lead_id", "contact_id", "deal_id",
        "kind", "reminded_slot", "reminded_at", "next_remind_at", "created_at",
    ),
}  # fmt: skip


def insert_sql(model: type[BaseModel], columns: Sequence[str]) -> str:
    """Peewee's INSERT statement for ``columns`` of ``model`` (once per shape; rows go to executemany).

    Every column of the table but an omitted ``id`` must be listed, so a new column fails loudly here
    instead of being left NULL.
    """
    by_column = {f.column_name: f for f in model._meta.sorted_fields}
    missing = set(by_column) - set(columns) - {"id"}
    unknown = set(columns) - set(by_column)
    if missing or unknown:
        raise RuntimeError(
            f"{model.__name__} bulk insert: missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    sql, _ = model.insert({by_column[c]: None for c in columns}).sql()
    return str(sql)


def generate(
    *,
    leads: int,
    now: datetime,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Append a demo desk of ``leads`` leads created over the year before ``now``; return what was added.

    The caller owns the connection (``with database.connection_context():``). ``progress(done, total)``
    is called after each chunk of leads is committed.
    """
    if leads < 0 or leads > MAX_LEADS:
        raise InvalidInput(f"Number of leads must be between 0 and {MAX_LEADS:,}", {"leads": "out of range"})
    db: Database = database.obj
    if db is None:
        raise RuleViolation("No database is open")
    now = now.replace(microsecond=0)
    rng = random.Random(seed)
    with db.atomic():
        created_users = _ensure_users(now)
        desk = _desk()
        products = _ensure_products()
    totals = dict.fromkeys(
        ("leads", "contacts", "companies", "deals", "moves", "interactions", "tasks", "search"), 0
    )
    if progress:
        progress(0, leads)
    if leads:
        with _bulk_mode(db, big=leads >= BIG_LOAD):
            gen = _Generator(rng, desk, now)
            times = gen.lead_times(leads)
            parallel = leads >= BIG_LOAD and _can_fork()
            with _Chunks(gen, times, _existing_companies(), seed=seed, parallel=parallel) as chunks:
                done = 0
                while done < leads:
                    with db.atomic("IMMEDIATE") if is_sqlite(db) else db.atomic():
                        bases = _next_ids(db)
                        end = min(leads, done + TX_LEADS)
                        while done < end:
                            stop = min(leads, done + CHUNK)  # whole chunks: the same in both modes
                            rows = chunks.take(done, stop, bases)
                            _write(db, rows)
                            for key, value in (
                                ("leads", rows.leads),
                                ("contacts", rows.contacts),
                                ("companies", rows.companies),
                                ("deals", rows.deals),
                                ("moves", rows.history),
                                ("interactions", rows.interactions),
                                ("tasks", rows.tasks),
                                ("search", rows.search),
                            ):
                                totals[key] += len(value)
                            done = stop
                            if progress:
                                progress(done, leads)
            if is_postgres(db):
                _advance_sequences(db)
    return DemoSummary(
        users=created_users,
        leads=totals["leads"],
        contacts=totals["contacts"],
        companies=totals["companies"],
        deals=totals["deals"],
        stage_moves=totals["moves"],
        interactions=totals["interactions"],
        tasks=totals["tasks"],
        products=products,
        search_entries=totals["search"],
    )


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class _Chunks:
    """The rows of each chunk of leads, generated here or, for a big load, by a forked process.

    The forked generator works one chunk or two ahead while this process writes, numbering rows as if
    nobody else writes to the desk. Each transaction checks that against the ids it finds; if another
    process did write in between, the forked generator is stopped and the rest is generated here,
    numbered after what is really there (a fresh random stream, so only then is the desk not the
    same for the seed).
    """

    def __init__(
        self,
        gen: _Generator,
        times: list[int],
        companies: dict[str, int],
        *,
        seed: int,
        parallel: bool,
    ) -> None:
        self.gen = gen
        self.times = times
        self.companies = companies
        self.seed = seed
        self.parallel = parallel
        self.process: Any = None
        self.queue: Any = None

    def __enter__(self) -> _Chunks:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def take(self, start: int, stop: int, bases: dict[str, int]) -> _Rows:
        """Rows for leads ``start:stop``, numbered from ``bases`` (advanced past the rows returned)."""
        if self.parallel:
            if self.process is None:
                self._start(bases)
            expected, after, data = self._next(start)
            if expected == bases:
                bases.update(after)
                rows = _Rows()
                rows.__dict__.update(data)
                return rows
            self._stop()
            self.parallel = False
            self.gen = _Generator(random.Random(f"{self.seed}:{start}"), self.gen.desk, self.gen.now)
            self.companies = _existing_companies()
        return self.gen.chunk(self.times[start:stop], bases, self.companies)

    def _start(self, bases: dict[str, int]) -> None:
        context = multiprocessing.get_context("fork")
        self.queue = context.Queue(maxsize=2)
        self.process = context.Process(
            target=_produce,
            args=(self.gen, self.times, self.companies, dict(bases), self.queue),
            daemon=True,
        )
        self.process.start()

    def _next(self, start: int) -> tuple[dict[str, int], dict[str, int], dict[str, Any]]:
        while True:
            try:
                item = self.queue.get(timeout=1.0)
            except queue.Empty:
                if not self.process.is_alive():
                    raise RuntimeError("the demo generator process stopped unexpectedly") from None
                continue
            if item[0] == "error":
                raise RuntimeError(f"the demo generator process failed: {item[1]}")
            if item[1] != start:
                raise RuntimeError(f"the demo generator sent leads from {item[1]}, expected {start}")
            return item[2], item[3], item[4]

    def _stop(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.process.terminate()
            self.process.join(timeout=5)
            self.queue.close()
            self.process = None


def _produce(
    gen: _Generator, times: list[int], companies: dict[str, int], bases: dict[str, int], out: Any
) -> None:
    """The forked generator: every chunk in order, each with the ids it expects to start from."""
    try:
        for start in range(0, len(times), CHUNK):
            before = dict(bases)
            rows = gen.chunk(times[start : start + CHUNK], bases, companies)
            out.put(("rows", start, before, dict(bases), rows.__dict__))
    except BaseException as error:  # noqa: BLE001 - reported to the writing process, which raises it
        out.put(("error", repr(error), 0, None, None))


def _ensure_users(now: datetime) -> int:
    users.ensure_default(now)
    created = 0
    for login, name, role in DEMO_USERS:
        if not User.select().where(User.login == login).exists():
            users.create(login, name, role, now=now - timedelta(days=SPAN_DAYS + 30))
            created += 1
    return created


def _desk() -> _Desk:
    by_login = {u.login: (u.id, u.role) for u in User.select(User.id, User.login, User.role)}
    managers = tuple(by_login[login][0] for login, _, role in DEMO_USERS if role == "manager")
    operators = tuple(by_login[login][0] for login, _, role in DEMO_USERS if role == "operator")
    pipeline_id = pipelines.ensure_default()
    stages = pipelines.stages(pipeline_id)
    open_stages = [s for s in stages if s.kind == "open"]
    won = next((s for s in stages if s.kind == "won"), None)
    lost = next((s for s in stages if s.kind == "lost"), None)
    if not open_stages or won is None or lost is None:
        raise RuleViolation("The default pipeline needs open stages, a Won and a Lost stage for the demo")
    return _Desk(
        managers=managers,
        operators=operators,
        pipeline_id=pipeline_id,
        open_stages=tuple(s.id for s in open_stages),
        open_names=tuple(s.name for s in open_stages),
        won_stage=won.id,
        lost_stage=lost.id,
    )


def _ensure_products() -> int:
    have = {name for (name,) in Product.select(Product.name).tuples()}
    new = [
        {"name": name, "unit": unit, "price": price * 100, "currency": "RUB", "active": True}
        for name, unit, price, _ in DEMO_PRODUCTS
        if name not in have
    ]
    if new:
        Product.insert_many(new).execute()
    return len(new)


def _existing_companies() -> dict[str, int]:
    found: dict[str, int] = {}
    for cid, name in Company.select(Company.id, Company.name).order_by(Company.id).tuples():
        found.setdefault(name, cid)
    return found


def _next_ids(db: Database) -> dict[str, int]:
    """The first free id of each table the generator numbers itself (read under the write lock)."""
    row = db.execute_sql(
        "SELECT (SELECT MAX(id) FROM lead), (SELECT MAX(id) FROM contact), "
        "(SELECT MAX(id) FROM company), (SELECT MAX(id) FROM deal)"
    ).fetchone()
    return {
        name: int(value or 0) + 1
        for name, value in zip(("lead", "contact", "company", "deal"), row, strict=True)
    }


def _advance_sequences(db: Database) -> None:
    """PostgreSQL: explicit ids do not move the serial sequences; set them past the rows written."""
    for table in ("lead", "contact", "company", "deal"):
        db.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'GREATEST((SELECT MAX(id) FROM "{table}"), 1))'
        )


def _write(db: Database, rows: _Rows) -> None:
    cursor = db.cursor()
    for model, data in (
        (Company, rows.companies),
        (Contact, rows.contacts),
        (ContactChannel, rows.channels),
        (Lead, rows.leads),
        (Deal, rows.deals),
        (StageHistory, rows.history),
        (Interaction, rows.interactions),
        (Task, rows.tasks),
    ):
        if data:
            cursor.executemany(insert_sql(model, _COLUMNS[model]), data)
    if rows.search:
        index.upsert_many(rows.search, db)


@contextmanager
def _bulk_mode(db: Database, *, big: bool) -> Iterator[None]:
    """SQLite settings for the bulk load only, restored afterwards.

    ``synchronous=OFF``: a crash mid-load may lose the last chunks (WAL keeps the file consistent);
    a big page cache keeps the index B-trees in memory; foreign keys are not checked row by row
    because the generator writes consistent ids (tests run ``PRAGMA foreign_key_check`` on its
    output). For a big load the search index does not merge its segments while it grows
    (``automerge=0``) and is merged once at the end (``optimize``), which is faster overall and
    leaves the index in one segment.
    """
    if not is_sqlite(db):
        yield
        return
    saved = {
        name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]
        for name in ("synchronous", "cache_size", "foreign_keys")
    }
    db.execute_sql("PRAGMA synchronous=OFF")
    db.execute_sql("PRAGMA cache_size=-1000000")
    db.execute_sql("PRAGMA foreign_keys=OFF")
    automerge = _fts_setting(db, "automerge", 4) if big else None
    try:
        if automerge is not None:
            _fts_command(db, "automerge", 0)
        yield
    finally:
        try:
            if automerge is not None:
                _fts_command(db, "automerge", automerge)
                with db.atomic():
                    db.execute_sql(f"INSERT INTO {index.TABLE}({index.TABLE}) VALUES ('optimize')")
        finally:
            for name, value in saved.items():
                db.execute_sql(f"PRAGMA {name}={int(value)}")


def _fts_setting(db: Database, key: str, default: int) -> int:
    row = db.execute_sql(f"SELECT v FROM {index.TABLE}_config WHERE k = ?", (key,)).fetchone()
    return int(row[0]) if row else default


def _fts_command(db: Database, key: str, value: int) -> None:
    with db.atomic():
        db.execute_sql(f"INSERT INTO {index.TABLE}({index.TABLE}, rank) VALUES (?, ?)", (key, value))


class _Generator:
    """Generates the rows. All randomness comes from one seeded ``random.Random``, in a fixed order."""

    def __init__(self, rng: random.Random, desk: _Desk, now: datetime) -> None:
        self.rng = rng
        self.desk = desk
        self.now = now
        self.now_ts = calendar.timegm(now.timetuple())
        self._days: dict[int, str] = {}
        self._tod = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
        self.recent: list[tuple[str, str, str | None, str]] = []  # (name, folded, email, phone) ring
        self._build_tables()

    # -- lookup tables -------------------------------------------------------------------------
    def _build_tables(self) -> None:
        people: list[tuple[str, str, str, str, bool]] = []  # (first, last, first latin, last latin, ru)
        for first in _MALE:
            for last in _SURNAMES:
                people.append((first, last, _latin(first), _latin(last), True))
        for first in _FEMALE:
            for last in _SURNAMES:
                people.append((first, _feminine(last), _latin(first), _latin(last), True))
        self.ru_people = people
        self.en_people = [
            (first, last, first.lower(), last.lower(), False) for first in _EN_FIRST for last in _EN_LAST
        ]
        bag: list[tuple[str, str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = []
        for weight, source, medium, campaigns, terms, referrers in _UTM_PROFILES:
            bag.extend([(source, medium, campaigns[0], terms, referrers, campaigns)] * weight)
        self.utm_bag = bag
        owners = list(self.desk.managers) * 4 + list(self.desk.operators)
        self.owners = owners or [None]  # type: ignore[list-item]
        self.products = DEMO_PRODUCTS

    # -- time ---------------------------------------------------------------------------------
    def ts(self, moment: int) -> str:
        day, rest = divmod(moment, DAY)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = (date(1970, 1, 1) + timedelta(days=day)).isoformat() + " "
            self._days[day] = prefix
        return prefix + self._tod[rest]

    def lead_times(self, count: int) -> list[int]:
        """``count`` moments over the last year, increasing: office hours (Moscow), fewer at weekends,
        more leads lately (the desk grows)."""
        hours = SPAN_DAYS * 24
        start = self.now_ts - hours * HOUR
        office = (0.05, 0.03, 0.02, 0.02, 0.03, 0.06, 0.15, 0.35, 0.7, 1.0, 1.0, 0.95, 0.85, 0.95, 1.0, 0.95)
        office += (0.9, 0.75, 0.55, 0.45, 0.35, 0.25, 0.15, 0.08)
        weights: list[float] = []
        for h in range(hours):
            moment = start + h * HOUR
            msk = moment + 3 * HOUR
            weekday = (msk // DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
            weights.append(
                office[(msk // HOUR) % 24] * (0.4 if weekday >= 5 else 1.0) * math.exp(2.2 * h / hours)
            )
        total = sum(weights)
        randrange = self.rng.randrange
        times: list[int] = []
        acc = 0.0
        placed = 0
        for h, weight in enumerate(weights):
            acc += weight
            upto = count if h == hours - 1 else round(count * acc / total)
            n = upto - placed
            if n > 0:
                base = start + h * HOUR
                times.extend(base + offset for offset in sorted(randrange(HOUR) for _ in range(n)))
                placed = upto
        return times

    # -- one chunk ------------------------------------------------------------------------------
    def chunk(self, times: list[int], bases: dict[str, int], companies: dict[str, int]) -> _Rows:
        rng = self.rng
        rnd = rng.random
        now_ts = self.now_ts
        ts = self.ts
        rows = _Rows()
        plans: list[list[Any]] = []
        lead_id = bases["lead"]
        for moment in times:
            plans.append(self._lead_plan(lead_id, moment, rnd, now_ts))
            lead_id += 1
        # conversions in the order they happened: contacts, companies and deals numbered by time
        converted = sorted((p for p in plans if p[_P_STATUS] == "converted"), key=lambda p: p[_P_CONVERTED])
        contact_id = bases["contact"]
        company_id = bases["company"]
        deal_id = bases["deal"]
        for plan in converted:
            company_name = plan[_P_COMPANY]
            cid: int | None = None
            if company_name:
                cid = companies.get(company_name)
                if cid is None:
                    cid = company_id
                    company_id += 1
                    companies[company_name] = cid
                    rows.companies.append((cid, company_name, plan[_P_OWNER], ts(plan[_P_CONVERTED])))
                    rows.search.append(("company", cid, company_name.casefold()))
            plan[_P_CONTACT] = contact_id
            plan[_P_DEAL] = deal_id
            self._convert(plan, contact_id, cid, deal_id, rows)
            contact_id += 1
            deal_id += 1
        bases.update(lead=lead_id, contact=contact_id, company=company_id, deal=deal_id)
        for plan in plans:
            self._lead_rows(plan, rows)
        rows.interactions.sort(key=lambda r: r[2])
        rows.tasks.sort(key=lambda r: r[12])
        rows.history.sort(key=lambda r: r[4])
        return rows

    def _lead_plan(self, lead_id: int, moment: int, rnd: Callable[[], float], now_ts: int) -> list[Any]:
        recent = self.recent
        duplicate = len(recent) > 20 and rnd() < _DUPLICATE_RATE
        if duplicate:
            name, folded, email, phone = recent[int(rnd() * len(recent))]
            company = ""
        else:
            if rnd() < 0.82:
                person = self.ru_people[int(rnd() * len(self.ru_people))]
            else:
                person = self.en_people[int(rnd() * len(self.en_people))]
            first, last, first_lat, last_lat, ru = person
            name = f"{first} {last}"
            folded = name.casefold()
            phone = f"+7{_MOBILE_CODES[int(rnd() * len(_MOBILE_CODES))]}{int(rnd() * 10_000_000):07d}"
            email = None
            if rnd() < 0.62:
                shape = rnd()
                domain = _MAIL_DOMAINS[int(rnd() * len(_MAIL_DOMAINS))]
                if shape < 0.4:
                    email = f"{first_lat}.{last_lat}@{domain}"
                elif shape < 0.7:
                    email = f"{first_lat[0]}{last_lat}{int(rnd() * 100)}@{domain}"
                else:
                    email = f"{last_lat}.{first_lat}{1960 + int(rnd() * 45)}@{domain}"
            company = self._company(rnd, last, first, ru) if rnd() < 0.55 else ""
            if len(recent) < 2000:
                recent.append((name, folded, email, phone))
            else:
                recent[int(rnd() * 2000)] = (name, folded, email, phone)
        age = now_ts - moment
        chances = next(c for limit, c in _STATUS_BY_AGE if age < limit)
        r = rnd()
        status = "disqualified"
        for value, chance in zip(_STATUSES, chances, strict=True):
            if r < chance:
                status = value
                break
        reason = None
        if duplicate and status in ("converted", "qualified"):
            status, reason = "disqualified", _DUPLICATE_REASON
        elif status == "disqualified":
            reason = _DISQUALIFY_REASONS[int(rnd() * len(_DISQUALIFY_REASONS))]
        owners = self.owners
        owner = None if status == "new" and rnd() < 0.3 else owners[int(rnd() * len(owners))]
        profile = self.utm_bag[int(rnd() * len(self.utm_bag))]
        comment = _COMMENTS[int(rnd() * len(_COMMENTS))] if rnd() < 0.3 else ""
        first_call = self._within(moment, 300 + int(rnd() * 3000), rnd)
        qualified = converted = closed = None
        if status in ("qualified", "converted"):
            qualified = self._within(first_call, 600 + int(rnd() * 2 * DAY), rnd)
        if status == "converted":
            converted = self._within(qualified, 600 + int(rnd() * 2 * DAY), rnd)  # type: ignore[arg-type]
        if status == "disqualified":
            closed = self._within(first_call, int(rnd() * 5 * DAY), rnd)
        return [
            lead_id, name, folded, phone, email, company, comment, status, reason, owner, profile,
            moment, first_call, qualified, converted, closed, None, None, int(rnd() * 1_000_000),
        ]  # fmt: skip

    def _within(self, start: int, delta: int, rnd: Callable[[], float]) -> int:
        """``start + delta``, or a moment between ``start`` and now when that would be in the future."""
        end = start + delta
        if end <= self.now_ts:
            return end
        return start + int(max(0, self.now_ts - start) * rnd())

    def _company(self, rnd: Callable[[], float], last: str, first: str, ru: bool) -> str:
        r = rnd()
        if not ru or r < 0.1:
            a = _EN_ORG_A[int(rnd() * len(_EN_ORG_A))]
            b = _EN_ORG_B[int(rnd() * len(_EN_ORG_B))]
            return f"{a} {b} {_EN_ORG_C[int(rnd() * len(_EN_ORG_C))]}"
        if r < 0.35:
            patronymic = _MALE[int(rnd() * len(_MALE))][0]
            return f"ИП {_SURNAMES[int(rnd() * len(_SURNAMES))]} {first[0]}.{patronymic}."
        a = _ORG_A[int(rnd() * len(_ORG_A))]
        b = _ORG_B[int(rnd() * len(_ORG_B))].lower()
        form = "АО" if r > 0.93 else "ООО"
        return f"{form} «{a}{b}»"

    def _lead_rows(self, p: list[Any], rows: _Rows) -> None:
        rnd = self.rng.random
        ts = self.ts
        lead_id, name, folded, phone, email, company = p[0:6]
        status, owner, moment, first_call = p[_P_STATUS], p[_P_OWNER], p[_P_CREATED], p[_P_FIRST_CALL]
        source, medium, campaign, terms, referrers, campaigns = p[_P_UTM]
        if len(campaigns) > 1:
            campaign = campaigns[int(rnd() * len(campaigns))]
        term = terms[int(rnd() * len(terms))]
        referrer = referrers[int(rnd() * len(referrers))]
        content = f"ad_{1000 + int(rnd() * 40)}" if medium == "cpc" else ""
        landing = _LANDINGS[int(rnd() * len(_LANDINGS))] if source else ""
        qualified, converted, closed = p[_P_QUALIFIED], p[_P_CONVERTED], p[_P_CLOSED]
        rows.leads.append(
            (
                lead_id, name, phone, email, company, p[_P_COMMENT], status, p[_P_REASON], owner,
                source, medium, campaign, term, content, referrer, landing, ts(moment),
                ts(qualified) if qualified is not None else None,
                ts(converted) if converted is not None else None,
                ts(closed) if closed is not None else None,
                p[_P_CONTACT], 0, p[_P_DEAL],
            )
        )  # fmt: skip
        parts = [folded]
        if company:
            parts.append(company.casefold())
        if email:
            parts.append(email)
        parts.append(phone[1:])
        rows.search.append(("lead", lead_id, " ".join(parts)))
        if status == "new":
            due = moment + HOUR
            rows.tasks.append(
                (f"Call {name}", ts(due), None, owner, owner, lead_id, None, None, "first_call", -1, None,
                 ts(due), ts(moment))
            )  # fmt: skip
        elif status == "in_work":
            answered = rnd() < 0.5
            rows.interactions.append(
                (
                    "call_out", owner, ts(first_call), 60 + int(rnd() * 400) if answered else int(rnd() * 25),
                    "Первый звонок", "Просил перезвонить позже" if answered else "Не взял трубку",
                    "call back" if answered else "no answer", lead_id, None, None, "",
                )
            )  # fmt: skip
            rows.tasks.append(
                (f"Call {name}", ts(moment + HOUR), ts(first_call), owner, owner, lead_id, None, None,
                 "first_call", -1, None, ts(moment + HOUR), ts(moment))
            )  # fmt: skip
            due = max(first_call + HOUR, self.now_ts + int((rnd() * 5 - 2) * DAY))
            rows.tasks.append(
                (f"Перезвонить: {name}", ts(due), None, owner, owner, lead_id, None, None, "todo", -1, None,
                 ts(due), ts(first_call))
            )  # fmt: skip
        elif status == "disqualified" and rnd() < 0.05:
            rows.interactions.append(
                ("note", owner, ts(closed), None, "Disqualified", p[_P_REASON], "disqualified", lead_id, None,
                 None, "")
            )  # fmt: skip

    def _convert(
        self, p: list[Any], contact_id: int, company_id: int | None, deal_id: int, rows: _Rows
    ) -> None:
        rnd = self.rng.random
        ts = self.ts
        desk = self.desk
        now_ts = self.now_ts
        lead_id, name, folded, phone, email, company = p[0:6]
        owner, first_call, converted = p[_P_OWNER], p[_P_FIRST_CALL], p[_P_CONVERTED]
        birthday = None
        if rnd() < 0.2:
            birthday = (date(1965, 1, 1) + timedelta(days=int(rnd() * 35 * 365))).isoformat()
        tags = ("", "", "", "", "", "", "vip", "опт", "партнёр", "госсектор")[int(rnd() * 10)]
        rows.contacts.append((contact_id, name, company_id, owner, birthday, tags, ts(converted)))
        phones = [phone]
        emails = [email] if email else []
        rows.channels.append((contact_id, "phone", phone, "mobile", 0))
        if rnd() < 0.2:
            extra = f"+7{(495, 499, 812)[int(rnd() * 3)]}{int(rnd() * 10_000_000):07d}"
            phones.append(extra)
            rows.channels.append((contact_id, "phone", extra, "work", 1))
        if email:
            rows.channels.append((contact_id, "email", email, "", 0))
        if rnd() < 0.1:
            extra_mail = f"sales{int(rnd() * 90) + 10}@{_MAIL_DOMAINS[int(rnd() * len(_MAIL_DOMAINS))]}"
            emails.append(extra_mail)
            rows.channels.append((contact_id, "email", extra_mail, "work", 1))
        parts = [folded]
        if company:
            parts.append(company.casefold())
        parts.extend(emails)
        parts.extend(ph[1:] for ph in phones)
        rows.search.append(("contact", contact_id, " ".join(parts)))

        # the deal: simulate its way through the open stages until now, a loss or the win
        product, unit, price, (qmin, qmax) = self.products[int(rnd() * len(self.products))]
        quantity = qmin + int(rnd() * (qmax - qmin + 1))
        english = company.endswith(_EN_ORG_C) or not any("а" <= ch <= "я" for ch in folded)
        currency = "USD" if english and rnd() < 0.5 else "RUB"
        amount = price * quantity * (0.8 + 0.5 * rnd())
        amount = int(amount / 90) if currency == "USD" else int(amount)
        amount = max(1, round(amount, -2 if currency == "USD" else -3)) * 100
        title = f"{product} — {company or name}"
        stages = desk.open_stages
        stage = 0
        entered = converted
        history = [(deal_id, None, stages[0], owner, ts(converted))]
        touches: list[tuple[Any, ...]] = []
        acts = won = lost = None
        lost_reason = None
        while True:
            mean = _STAGE_MEAN_DAYS[min(stage, len(_STAGE_MEAN_DAYS) - 1)]
            dwell = int(-math.log(1.0 - rnd()) * mean * DAY) + 600
            if rnd() < _STALL:
                dwell *= 6
            if entered + dwell > now_ts:
                break
            left = entered + dwell
            if rnd() < _STAGE_LOSS[min(stage, len(_STAGE_LOSS) - 1)]:
                lost = left
                lost_reason = _LOST_REASONS[int(rnd() * len(_LOST_REASONS))]
                history.append((deal_id, stages[stage], desk.lost_stage, owner, ts(left)))
                entered = left
                break
            if stage == len(stages) - 1:
                acts = entered + int((left - entered) * rnd())
                won = left
                history.append((deal_id, stages[stage], desk.won_stage, owner, ts(left)))
                entered = left
                break
            if rnd() < 0.12:
                kind, subject, summary, outcome = _STAGE_TOUCHES[min(stage, len(_STAGE_TOUCHES) - 1)]
                at = entered + int((left - entered) * rnd())
                duration = 60 + int(rnd() * 900) if kind.startswith("call") else None
                touches.append((kind, owner, ts(at), duration, subject, summary, outcome, None, contact_id,
                                deal_id, ""))  # fmt: skip
            history.append((deal_id, stages[stage], stages[stage + 1], owner, ts(left)))
            stage += 1
            entered = left
        if won is None and lost is None and stage == len(stages) - 1 and rnd() < 0.5:
            acts = entered + int((now_ts - entered) * rnd())
        stage_id = (
            desk.won_stage if won is not None else desk.lost_stage if lost is not None else stages[stage]
        )
        expected = (
            date(1970, 1, 1) + timedelta(days=(converted + int((20 + rnd() * 70) * DAY)) // DAY)
        ).isoformat()
        rows.deals.append(
            (
                deal_id, title, contact_id, company_id, desk.pipeline_id, stage_id, amount, currency, owner,
                lead_id, expected, ts(acts) if acts is not None else None, lost_reason,
                ts(won) if won is not None else None, ts(lost) if lost is not None else None, ts(entered),
                ts(converted),
            )
        )  # fmt: skip
        rows.history.extend(history)
        deal_body = title.casefold() + (" " + company.casefold() if company else "")
        rows.search.append(("deal", deal_id, deal_body))
        # the calls and notes of the way there
        rows.interactions.append(
            ("call_out", owner, ts(first_call), 120 + int(rnd() * 780), "Первый звонок",
             "Выяснили задачу, договорились о следующем шаге", "interested", lead_id, contact_id, None, "")
        )  # fmt: skip
        rows.interactions.append(
            ("conversion", owner, ts(converted), None, f"Lead #{lead_id} converted",
             f"Deal #{deal_id} {title!r} opened at {desk.open_names[0]}", "", lead_id, contact_id, deal_id,
             "")
        )  # fmt: skip
        rows.interactions.extend(touches)
        if acts is not None:
            rows.interactions.append(
                ("note", owner, ts(acts), None, "Acts signed", "", "acts_signed", None, contact_id, deal_id,
                 "")
            )  # fmt: skip
        if won is None and lost is None and rnd() < 0.75:
            due = max(entered + DAY, now_ts + int((rnd() * 13 - 4) * DAY))
            title_task = _STAGE_TASKS[min(stage, len(_STAGE_TASKS) - 1)]
            rows.tasks.append(
                (f"{title_task}: {company or name}", ts(due), None, owner, owner, None, contact_id, deal_id,
                 "todo", -1, None, ts(due), ts(entered))
            )  # fmt: skip


# positions in a lead plan
_P_STATUS, _P_REASON, _P_OWNER, _P_UTM, _P_CREATED = 7, 8, 9, 10, 11
_P_FIRST_CALL, _P_QUALIFIED, _P_CONVERTED, _P_CLOSED, _P_CONTACT, _P_DEAL = 12, 13, 14, 15, 16, 17
_P_COMPANY, _P_COMMENT = 5, 6


def _latin(word: str) -> str:
    return "".join(_TRANSLIT.get(ch, ch) for ch in word.lower()).replace("-", "")


def _feminine(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ий"):
        return surname[:-2] + "ая"
    return surname


def lead_count() -> int:
    return int(Lead.select(fn.COUNT(Lead.id)).scalar() or 0)
