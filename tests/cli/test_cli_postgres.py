"""The same commands on a PostgreSQL desk (``CRM_TEST_PG_URL``, started by ``.ci/run``)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from crm_tui.cli import app
from crm_tui.data.db import database

PG_URL = os.environ.get("CRM_TEST_PG_URL", "")
pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("CRM_TEST_PG_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
    import psycopg2
    from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT

    base, _, _ = PG_URL.rpartition("/")
    name = f"crm_cli_{uuid.uuid4().hex[:12]}"
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


def test_a_lead_to_a_won_deal_on_postgresql(pg_url: str) -> None:
    runner = CliRunner()

    def crm(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, [*args, "--db", pg_url])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    def ok(*args: str) -> Any:
        code, out, err = crm(*args)
        assert code == 0, err
        return json.loads(out) if "--json" in args else out

    code, out, _ = crm("init")
    assert code == 0 and out.splitlines()[0] == f"database: {pg_url}"
    lead = ok("lead", "add", "--name", "Иван Смирнов", "--phone", "8 916 123-45-67", "--json")["lead"]
    lead_id = lead["id"]
    code, out, _ = crm("lead", "add", "--name", "Иван", "--phone", "12345")
    assert code == 1
    deal_id = ok("lead", "convert", str(lead_id), "--qualify", "--json")["deal_id"]
    code, _, err = crm("deal", "move", str(deal_id), "Won")
    assert code == 1 and err.startswith("error: Acts not signed")
    assert crm("deal", "move", str(deal_id), "6")[0] == 0
    assert crm("deal", "sign-acts", str(deal_id))[0] == 0
    assert crm("deal", "move", str(deal_id), "Успешно")[0] == 0
    history = ok("deal", "show", str(deal_id), "--json")["history"]
    assert [m["to"] for m in history] == ["Lead registered", "Acts closed & feedback", "Won"]
    assert ("lead", lead_id) in [(h["kind"], h["id"]) for h in ok("search", "ИВАН", "--json")]
    assert [h["id"] for h in ok("search", "916 123", "--kind", "lead", "--json")] == [lead_id]
    assert [r["id"] for r in ok("lead", "list", "--json")] == [lead_id]
