"""Shared fixtures: a real SQLite file per test, a fixed clock, and a desk seeded through the services.

- ``now``: a fixed naive-UTC moment (:data:`NOW`); pass it as ``now=`` to every service call.
- ``db_path`` / ``db_url``: where the test's database file lives (in ``tmp_path``); nothing is opened.
- ``db``: that file opened and migrated, with the default admin and pipeline; the models are bound to it
  for the test (Peewee connects on first use) and it is closed afterwards.
- ``desk``: ``db`` plus a small desk built through the public services (see :class:`Desk`).
- ``counts``: a function returning the row count of every table, to prove a refusal wrote nothing.
- ``pg_url``: a fresh, empty PostgreSQL database on the server named by ``CRM_TEST_PG_URL`` (``.ci/run``
  starts one), dropped afterwards; the test is skipped when the variable is not set.
- ``any_db``: like ``db``, once on SQLite and once on PostgreSQL. A module that overrides ``db`` with it
  (``def db(any_db): return any_db``) runs its tests, and ``desk``, on both backends.

The CRM's environment variables are cleared for every test, so a developer's ``CRM_DB`` or ``CRM_USER``
never leaks into one, nor the locale (``LANG``...); ``XDG_DATA_HOME`` and ``XDG_CONFIG_HOME`` point into
``tmp_path``: the default desk and the developer's personal config file are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from peewee import Database

from crm_tui.data.db import database, is_sqlite, open_database
from crm_tui.services import deals, leads, pipelines, users
from tests.desk_fixtures import PG_URL, postgres_url

pytest_plugins = ["tests.mail_servers"]  # the real SMTP and IMAP servers the mail tests talk to

NOW = datetime(2026, 3, 2, 9, 0, 0)  # naive UTC: a Monday morning
CRM_ENV = ("CRM_DB", "CRM_USER", "CRM_LANG", "CRM_PHONE_REGION", "CRM_REMIND_EVERY")
LOCALE_ENV = ("LC_ALL", "LC_MESSAGES")


@pytest.fixture(autouse=True)
def clean_crm_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer's ``CRM_*`` settings, locale or personal config file (``~/.config/crm-tui``); a
    command that forgets ``--db`` lands in ``tmp_path``."""
    for name in (*CRM_ENV, *LOCALE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")  # no language from the locale; UTF-8 for subprocesses
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "crm.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


def _open_desk(url: str) -> Iterator[Database]:
    opened = open_database(url)
    with opened.connection_context():
        users.ensure_default(NOW)
        pipelines.ensure_default()
    yield opened
    for candidate in {id(opened): opened, id(database.obj): database.obj}.values():
        if candidate is not None and not candidate.is_closed():
            candidate.close()


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    yield from _open_desk(str(db_path))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server named by ``CRM_TEST_PG_URL``, dropped afterwards."""
    if not PG_URL:
        pytest.skip("CRM_TEST_PG_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
    with postgres_url() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Database]:
    url = str(db_path) if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield from _open_desk(url)


@dataclass(frozen=True)
class Desk:
    """A small desk, seeded at :data:`NOW` through the services (ids of what is there).

    - users: ``admin`` (admin) and ``anna`` "Анна Петрова" (manager);
    - ``new_lead_id``: "Иван Смирнов", ``8 (916) 123-45-67``, ivan@example.ru, "ООО Ромашка", from
      yandex / cpc / keyword "crm для отдела продаж", owned by anna, with its first-call task;
    - ``qualified_lead_id``: "Maria Ivanova", ``+7 903 555-12-34``, from google, qualified;
    - ``converted_lead_id``: "Пётр Сидоров", ``+7 495 200-30-40``, petr@vector.ru, "АО Вектор",
      converted into ``contact_id`` (+ ``company_id``) and ``deal_id`` (first stage, 150 000 ₽).
    """

    db_path: Path
    db_url: str
    now: datetime
    admin_id: int
    manager_id: int
    manager_login: str
    new_lead_id: int
    qualified_lead_id: int
    converted_lead_id: int
    contact_id: int
    company_id: int
    deal_id: int


@pytest.fixture
def desk(db: Database, db_path: Path, db_url: str) -> Desk:
    admin = users.by_login("admin")
    anna = users.create("anna", "Анна Петрова", "manager", now=NOW)
    new = leads.register(
        leads.NewLead(
            "Иван Смирнов",
            "8 (916) 123-45-67",
            email="ivan@example.ru",
            company_name="ООО Ромашка",
            owner_id=anna.id,
            utm_source="yandex",
            utm_medium="cpc",
            utm_term="crm для отдела продаж",
        ),
        by=admin.id,
        now=NOW,
    )
    maria = leads.register(
        leads.NewLead("Maria Ivanova", "+7 903 555-12-34", utm_source="google"), by=anna.id, now=NOW
    )
    leads.qualify(maria.id, by=anna.id, now=NOW)
    petr = leads.register(
        leads.NewLead("Пётр Сидоров", "+7 495 200-30-40", email="petr@vector.ru", company_name="АО Вектор"),
        by=anna.id,
        now=NOW,
    )
    converted = leads.convert(petr.id, by=anna.id, now=NOW, qualify_first=True)
    deals.update_amount(converted.deal_id, 15_000_000, by=anna.id, now=NOW)
    assert converted.company_id is not None
    return Desk(
        db_path=db_path,
        db_url=db_url,
        now=NOW,
        admin_id=admin.id,
        manager_id=anna.id,
        manager_login=anna.login,
        new_lead_id=new.id,
        qualified_lead_id=maria.id,
        converted_lead_id=petr.id,
        contact_id=converted.contact_id,
        company_id=converted.company_id,
        deal_id=converted.deal_id,
    )


Counts = Callable[[], dict[str, int]]


@pytest.fixture
def counts(db: Database) -> Counts:
    """``counts()`` -> ``{table: rows}`` for every table of the bound database (search index included)."""

    def table_counts() -> dict[str, int]:
        target = database.obj
        result: dict[str, int] = {}
        for name in target.get_tables():
            if is_sqlite(target) and name.startswith("search_index_"):
                continue  # FTS5 shadow tables: the index itself is counted as search_index
            result[name] = int(target.execute_sql(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0])
        if "search_index" not in result:
            result["search_index"] = int(
                target.execute_sql("SELECT COUNT(*) FROM search_index").fetchone()[0]
            )
        return result

    return table_counts
