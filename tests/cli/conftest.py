"""Running ``crm`` in-process on the test's database file (``db_path``), as a user types it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crm_tui.cli import app
from crm_tui.data.db import database


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error(self) -> str:
        """The single error line (asserts there is exactly one and the command failed)."""
        lines = self.err.splitlines()
        assert self.code == 1, (self.code, self.out, self.err)
        assert len(lines) == 1, self.err
        assert lines[0].startswith("error: "), lines[0]
        return lines[0].removeprefix("error: ")


Crm = Callable[..., Run]


@pytest.fixture
def crm(db_path: Path) -> Iterator[Crm]:
    """``crm("lead", "list", "--json")`` runs ``crm lead list --json --db <db_path>``."""
    runner = CliRunner()

    def run(*args: str) -> Run:
        result = runner.invoke(app, [*args, "--db", str(db_path)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(result.exit_code, result.stdout, result.stderr)

    yield run
    if database.obj is not None and not database.is_closed():
        database.close()
