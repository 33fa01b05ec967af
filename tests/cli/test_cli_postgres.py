"""The same commands on a PostgreSQL desk (``CRM_TEST_PG_URL``, started by ``.ci/run``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from crm_tui.cli import app

pytestmark = pytest.mark.postgres


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
    moves = [m["to"] for m in history if m["kind"] in ("created", "stage")]
    assert moves == ["Won", "Acts closed & feedback", "Need discovery"]  # newest first
    assert ("lead", lead_id) in [(h["kind"], h["id"]) for h in ok("search", "ИВАН", "--json")]
    assert [h["id"] for h in ok("search", "916 123", "--kind", "lead", "--json")] == [lead_id]
    assert [r["id"] for r in ok("lead", "list", "--json")] == [lead_id]
