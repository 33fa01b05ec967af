"""Property: whatever a person types into a command, ``crm`` answers with its result (exit 0) or one
``error:`` line (exit 1) having written nothing; never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import typer.testing
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from crm_tui.cli import app
from tests.conftest import Desk
from tests.reliability.hostile import DUE, HOSTILE, NUMBERS, TEXT, row_counts

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "crm_tui" / "scripts" / "first-call-en.yaml").read_text(encoding="utf-8")

Run = Callable[..., Result]
MAYBE = st.none() | TEXT


@pytest.fixture
def run(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(["lead", "show"], options, positional)``: the command in-process on the desk's file, checked.

    The Typer app is turned into its click command once, not on every run (most of a run's time).
    """
    command_of = typer.testing._get_command
    built = command_of(app)
    monkeypatch.setattr(
        typer.testing, "_get_command", lambda typer_app: built if typer_app is app else command_of(typer_app)
    )
    runner = CliRunner()
    path = desk.db_path
    runner.invoke(app, ["script", "list", "--db", str(path)])  # the shipped scripts are installed once

    def invoke(command: Sequence[str], options: Sequence[str] = (), positional: Sequence[str] = ()) -> Result:
        before = row_counts(path)
        result = runner.invoke(app, [*command, "--db", str(path), *options, "--", *positional])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # the traceback a person would have seen
        assert "Traceback" not in result.stderr
        assert result.exit_code in (0, 1), (result.exit_code, result.stdout, result.stderr)
        if result.exit_code == 1:
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
            assert row_counts(path) == before, "a refused command wrote"
        return result

    return invoke


def opt(name: str, value: str | int | None) -> list[str]:
    return [] if value is None else [f"{name}={value}"]


@HOSTILE
@given(
    name=TEXT,
    phone=st.one_of(TEXT, st.just("8 (916) 123-45-67")),
    email=MAYBE,
    company=MAYBE,
    comment=MAYBE,
    source=MAYBE,
)
def test_lead_add(
    run: Run,
    name: str,
    phone: str,
    email: str | None,
    company: str | None,
    comment: str | None,
    source: str | None,
) -> None:
    options = [f"--name={name}", f"--phone={phone}", *opt("--email", email), *opt("--company", company)]
    result = run(["lead", "add"], [*options, *opt("--comment", comment), *opt("--source", source), "--json"])
    if result.exit_code == 0:  # stored as typed: never cut, never quietly cleaned
        lead = json.loads(result.stdout)["lead"]
        assert lead["name"] == name.strip()
        assert lead["company_name"] == (company or "").strip()


@HOSTILE
@given(lead=NUMBERS, text=MAYBE, after=st.none() | NUMBERS, limit=st.integers(-5, 2000))
def test_lead_show_list_and_disqualify(
    run: Run, lead: str, text: str | None, after: str | None, limit: int
) -> None:
    run(["lead", "show"], ["--json"], [lead])
    run(
        ["lead", "list"],
        [*opt("--status", text), *opt("--source", text), *opt("--after", after), f"--limit={limit}"],
    )
    run(["lead", "disqualify"], opt("--reason", text), [lead])


@HOSTILE
@given(
    deal=NUMBERS,
    stage=st.one_of(TEXT, NUMBERS, st.sampled_from(["Won", "Lost", "2", "need", "Провалено"])),
    reason=MAYBE,
)
def test_deal_show_move_and_lose(run: Run, deal: str, stage: str, reason: str | None) -> None:
    run(["deal", "show"], [], [deal])
    run(["deal", "move"], opt("--reason", reason), [deal, stage])
    run(["deal", "lose"], opt("--reason", reason), [deal])


@HOSTILE
@given(title=TEXT, due=DUE, lead=st.none() | NUMBERS, task=NUMBERS)
def test_task_add_done_and_snooze(run: Run, title: str, due: str, lead: str | None, task: str) -> None:
    run(["task", "add"], [f"--title={title}", f"--due={due}", *opt("--lead", lead)])
    run(["task", "done"], [], [task])
    run(["task", "snooze"], [], [task, due])


@HOSTILE
@given(
    text=TEXT,
    kind=st.none() | st.sampled_from(["lead", "deal", "contact", "company", "x"]),
    limit=st.integers(-2, 2**64),
)
def test_search(run: Run, text: str, kind: str | None, limit: int) -> None:
    run(["search"], [*opt("--kind", kind), f"--limit={limit}", "--json"], [text])


@HOSTILE
@given(name=TEXT, ru=MAYBE, after=st.integers(-3, 2**64), ref=st.one_of(TEXT, NUMBERS))
def test_stage_add_and_rename(run: Run, name: str, ru: str | None, after: int, ref: str) -> None:
    run(["stage", "add"], [f"--after={after}", *opt("--ru", ru)], [name])
    run(["stage", "rename"], opt("--ru", ru), [ref, name])


def _leaves(tree: object) -> list[tuple[object, object]]:
    """(container, key) of every leaf of a parsed script, to replace one."""
    found: list[tuple[object, object]] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _leaves(value) if isinstance(value, dict | list) else [(tree, key)]
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += _leaves(value) if isinstance(value, dict | list) else [(tree, index)]
    return found


LEAF = st.one_of(TEXT, st.integers(), st.none(), st.booleans(), st.lists(TEXT, max_size=3))


@HOSTILE
@given(data=st.data(), how=st.sampled_from(["leaf", "stage", "text", "bytes"]))
def test_script_import(run: Run, tmp_path: Path, data: st.DataObject, how: str) -> None:
    path = tmp_path / "script.yaml"
    if how in ("leaf", "stage"):
        tree = yaml.safe_load(SHIPPED)
        if how == "leaf":
            leaves = _leaves(tree)
            container, key = leaves[data.draw(st.integers(0, len(leaves) - 1))]
            container[key] = data.draw(LEAF)  # type: ignore[index]
        else:
            outcome = data.draw(st.sampled_from(sorted(tree["outcomes"])))
            tree["outcomes"][outcome]["stage"] = data.draw(st.one_of(TEXT, NUMBERS))
        text = yaml.safe_dump(tree, allow_unicode=True)
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
    elif how == "text":
        path.write_bytes(data.draw(st.text(max_size=400)).encode("utf-8", "surrogatepass"))
    else:
        path.write_bytes(data.draw(st.binary(max_size=400)))
    run(["script", "import"], [], [str(path)])


@HOSTILE
@given(
    lead=NUMBERS,
    duration=st.integers(-5, 90000) | st.integers(-(2**64), 2**64),
    summary=TEXT,
    outcome=TEXT,
    subject=TEXT,
    direction=st.sampled_from(["in", "out"]) | TEXT,
)
def test_log_call(
    run: Run, lead: str, duration: int, summary: str, outcome: str, subject: str, direction: str
) -> None:
    options = [f"--lead={lead}", f"--duration={duration}", f"--summary={summary}", f"--outcome={outcome}"]
    run(["log", "call"], [*options, f"--subject={subject}", f"--direction={direction}"])
