"""Desk settings: defaults, typed values, validated writes, the environment's override, older desks' key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from peewee import Database

from crm_tui.data import migrations
from crm_tui.data.db import database
from crm_tui.data.models import SchemaVersion, Setting
from crm_tui.services import reminders, settings
from crm_tui.services.errors import InvalidInput
from tests.conftest import Counts
from tests.desk_fixtures import DESK_SETTING_KEYS


@pytest.fixture
def db(any_db: Database) -> Database:
    """These rules run on SQLite and on PostgreSQL."""
    return any_db


def test_a_new_desk_has_every_default(db: Database) -> None:
    rows = {v.key: v for v in settings.listing()}
    assert list(rows) == DESK_SETTING_KEYS
    assert all(v.is_default and v.source == "default" for v in rows.values())
    assert rows["first_call.retry"].value == "30m"
    assert settings.value("first_call.delay") == timedelta(hours=1)
    assert settings.value("first_call.retry") == timedelta(minutes=30)
    assert settings.value("currency.default") == "RUB"
    assert Setting.select().count() == 0


def test_a_value_is_stored_as_one_spelling_and_shared(db: Database) -> None:
    assert settings.put("first_call.delay", " 90 ") == timedelta(minutes=90)
    assert settings.put("reminders.every", "120m") == timedelta(hours=2)
    assert settings.put("currency.default", "usd") == "USD"
    stored = {row.key: row.value for row in Setting.select()}
    assert stored == {"first_call.delay": "90m", "reminders.every": "2h", "currency.default": "USD"}
    delay = settings.view("first_call.delay")
    assert (delay.value, delay.source, delay.is_default) == ("90m", "desk", False)
    assert settings.put("first_call.delay", "60m") == timedelta(hours=1)
    assert settings.view("first_call.delay").is_default  # stored, but the same as the default
    assert settings.reset("first_call.delay") == timedelta(hours=1)
    assert settings.view("first_call.delay").source == "default"
    assert Setting.get_or_none(Setting.key == "first_call.delay") is None


@pytest.mark.parametrize(
    ("name", "raw", "code", "message"),
    [
        ("first_call.deley", "1h", "setting.unknown", "No desk setting 'first_call.deley'; known: "),
        ("first_call.delay", "soon", "interval.invalid", "Not an interval: 'soon' (use 30m, 1h, 90s)"),
        ("reminders.every", "30s", "interval.too_short", "An interval must be at least one minute: '30s'"),
        ("first_call.retry", "400d", "interval.too_long", "An interval must be at most a year: '400d'"),
        ("currency.default", "рубль", "currency.invalid", "Not a currency code: 'рубль'"),
        ("currency.default", "R1B", "currency.invalid", "Not a currency code: 'R1B'"),
    ],
)
def test_a_bad_value_is_refused_and_nothing_is_written(
    db: Database, counts: Counts, name: str, raw: str, code: str, message: str
) -> None:
    settings.put("reminders.every", "15m")
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        settings.put(name, raw)
    assert refused.value.code == code
    assert refused.value.message.startswith(message)
    assert counts() == before
    assert settings.text("reminders.every") == "15m"


def test_the_environment_overrides_the_reminder_interval_without_storing_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.put("reminders.every", "15m")
    assert reminders.interval() == timedelta(minutes=15)
    monkeypatch.setenv("CRM_REMIND_EVERY", "120")
    assert reminders.interval() == timedelta(hours=2)
    view = settings.view("reminders.every")
    assert (view.value, view.source, view.env) == ("2h", "env", "CRM_REMIND_EVERY")
    assert settings.text("reminders.every") == "15m"


def test_the_reminder_interval_is_one_setting_with_crm_remind_every(db: Database) -> None:
    reminders.set_interval("45m")  # what `crm remind --every 45m` does
    assert settings.value("reminders.every") == timedelta(minutes=45)
    assert [(r.key, r.value) for r in Setting.select()] == [("reminders.every", "45m")]


def _downgrade_to_before_14(stored: dict[str, str]) -> None:
    """The desk as an older version left it: step 14 not recorded, the interval under its old key."""
    Setting.delete().execute()
    for name, raw in stored.items():
        Setting.create(key=name, value=raw)
    SchemaVersion.delete().where(SchemaVersion.version == 14).execute()


def test_an_older_desks_reminder_interval_is_carried_over(db: Database) -> None:
    _downgrade_to_before_14({"remind_every": "20m", "first_call.delay": "2h"})
    assert migrations.upgrade(database.obj) == [14]
    assert {r.key: r.value for r in Setting.select()} == {"reminders.every": "20m", "first_call.delay": "2h"}
    assert reminders.interval() == timedelta(minutes=20)


def test_a_newer_value_stands_over_the_old_key(db: Database) -> None:
    _downgrade_to_before_14({"remind_every": "20m", "reminders.every": "3h"})
    assert migrations.upgrade(database.obj) == [14]
    assert {r.key: r.value for r in Setting.select()} == {"reminders.every": "3h"}
