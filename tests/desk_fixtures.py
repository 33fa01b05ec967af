"""Shared test helpers for the task queue, reminders and call scripts: a real SQLite desk and a D-Bus."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from peewee import Database

from crm_tui.data.db import open_database
from crm_tui.services import pipelines, users

NOW = datetime(2026, 3, 2, 9, 0, 0)  # naive UTC, a Monday morning
SERVER = Path(__file__).with_name("notify_server.py")


@dataclass
class Desk:
    url: str
    db: Database
    admin_id: int
    anna_id: int


def open_desk(tmp_path: Path, url: str | None = None) -> Desk:
    url = url or f"sqlite:///{tmp_path / 'crm.db'}"
    db = open_database(url)
    with db.connection_context():
        admin = users.ensure_default(NOW)
        anna = users.create("anna", "Анна Петрова", "manager", now=NOW)
        pipelines.ensure_default()
    return Desk(url, db, admin.id, anna.id)


PG_URL = os.environ.get("CRM_TEST_PG_URL", "")


@contextmanager
def postgres_url() -> Iterator[str]:
    """A fresh database on the server named by ``CRM_TEST_PG_URL``, dropped afterwards."""
    import uuid

    import psycopg2
    from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT

    from crm_tui.data.db import database

    base, _, _ = PG_URL.rpartition("/")
    name = f"crm_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(PG_URL)
    admin.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{base}/{name}"
    finally:
        if database.obj is not None and not database.is_closed():
            database.close()
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@contextmanager
def any_backend_desk(backend: str, tmp_path: Path) -> Iterator[Desk]:
    """A desk on SQLite, or on PostgreSQL when ``CRM_TEST_PG_URL`` is set (else the test is skipped)."""
    import pytest

    if backend == "sqlite":
        yield open_desk(tmp_path)
        return
    if not PG_URL:
        pytest.skip("CRM_TEST_PG_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
    with postgres_url() as url:
        yield open_desk(tmp_path, url)


@dataclass
class Bus:
    address: str
    record: Path

    def received(self) -> list[dict[str, str]]:
        import json

        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines()]


def _wait(predicate, what: str, tries: int = 200) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if predicate():
            return
        time.sleep(0.025)
    raise AssertionError(f"gave up waiting for {what}")


@contextmanager
def private_session_bus(tmp_path: Path, *, with_server: bool = True, mode: str = "") -> Iterator[Bus]:
    """A private ``dbus-daemon --session``; with a notification server recording to a file (``mode``:
    see ``tests/notify_server.py``)."""
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    server: subprocess.Popen[bytes] | None = None
    try:
        assert daemon.stdout is not None
        address = daemon.stdout.readline().strip()
        bus = Bus(address, tmp_path / "notifications.jsonl")
        if with_server:
            env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address}
            server = subprocess.Popen([sys.executable, str(SERVER), str(bus.record), mode], env=env)
            _wait(lambda: _name_owned(address), "the notification server on the bus")
        yield bus
    finally:
        for proc in (server, daemon):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=5)


def _name_owned(address: str) -> bool:
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus=address) as conn:
        reply = conn.send_and_get_reply(message_bus.NameHasOwner("org.freedesktop.Notifications"))
    return bool(reply.body[0])


# Every desk setting, in the order `crm config list` and settings.listing() show them: written out, so a
# key added, dropped or moved is a test to update on purpose.
DESK_SETTING_KEYS = [
    "first_call.delay",
    "first_call.retry",
    "reminders.every",
    "currency.default",
    "backups.keep",
    "mail.smtp.host",
    "mail.smtp.port",
    "mail.smtp.security",
    "mail.smtp.user",
    "mail.from",
    "mail.imap.host",
    "mail.imap.port",
    "mail.imap.security",
    "mail.imap.user",
    "mail.imap.folder",
    "vat.default",
    "documents.lang",
    "documents.templates",
    "documents.proposal_days",
    "company.name",
    "company.inn",
    "company.kpp",
    "company.ogrn",
    "company.address",
    "company.bank",
    "company.bik",
    "company.account",
    "company.corr_account",
    "company.director",
    "company.accountant",
]
