"""``crm script list|import|export|stats``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_tui.cli import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("CRM_DB", raising=False)
    monkeypatch.delenv("CRM_USER", raising=False)
    return str(tmp_path / "crm.db")


def crm(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_list_shows_the_shipped_scripts_in_both_languages(db: str) -> None:
    code, out, _ = crm("script", "list", "--db", db, "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["first-call-ru"]["title"] == "Первый звонок по заявке с сайта"
    assert rows["first-call-en"]["offer"] == ["lead:new", "lead:in_work", "lead"]
    assert {r["lang"] for r in rows.values()} == {"en", "ru"} and len(rows) == 6


def test_export_edit_import_round_trip(db: str, tmp_path: Path) -> None:
    code, out, _ = crm("script", "export", "first-call-en", "--db", db)
    assert code == 0 and out.startswith("# First call to a new web lead")
    edited = tmp_path / "mine.yaml"
    edited.write_text(out.replace("name: first-call-en", "name: my-first-call"), encoding="utf-8")
    code, out, _ = crm("script", "import", str(edited), "--db", db)
    assert code == 0 and out.strip() == "imported my-first-call (version 1, 7 nodes)"
    code, out, _ = crm("script", "list", "--db", db)
    assert "my-first-call" in out


def test_a_bad_file_is_refused_with_the_wrong_line_and_nothing_imported(db: str, tmp_path: Path) -> None:
    code, out, _ = crm("script", "export", "discovery-en", "--db", db)
    bad = tmp_path / "bad.yaml"
    text = out.replace("name: discovery-en", "name: broken").replace("goto: deadline", "goto: dedline")
    bad.write_text(text, encoding="utf-8")
    code, out, err = crm("script", "import", str(bad), "--db", db)
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "dedline" in t)
    assert code == 1 and out == ""
    assert err.startswith(f"error: {bad}:{line}: node 'budget': answer leads to 'dedline'")
    code, out, _ = crm("script", "list", "--db", db)
    assert "broken" not in out


def test_stats_of_a_script_with_no_calls(db: str) -> None:
    code, out, _ = crm("script", "stats", "proposal-followup-ru", "--db", db, "--json")
    assert code == 0
    st = json.loads(out)
    assert st["calls"] == 0 and st["nodes"][0]["node"] == "hello" and st["nodes"][0]["reached"] == 0
    code, out, _ = crm("script", "stats", "proposal-followup-ru", "--db", db)
    assert "calls 0, successful 0 (-), ended early 0" in out and "  Условия согласованы: 0" in out
    code, _, err = crm("script", "stats", "nope", "--db", db)
    assert code == 1 and err.strip() == "error: No call script 'nope'"
