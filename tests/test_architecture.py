"""The layering holds: the CLI never loads Textual, and import-linter's contracts pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_cli_does_not_import_textual() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import crm_tui.cli, sys; print('textual' in sys.modules)"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_cli_command_runs_without_textual(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from crm_tui.cli import app\n"
        f"try:\n    app(['lead', 'list', '--db', {str(tmp_path / 'crm.db')!r}])\n"
        "except SystemExit:\n    pass\n"
        "print('textual' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stderr.strip().splitlines()[-1] == "False"
    assert "no leads" in result.stdout


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
