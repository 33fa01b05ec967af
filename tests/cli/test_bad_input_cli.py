"""Bad input on the command line is one ``error:`` line and exit 1, never a traceback, nothing written:
ids out of range, due times out of range, YAML that is not a script, too long or control-laden text."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_tui.data.script_models import CallScript
from tests.cli.conftest import Crm
from tests.conftest import Counts, Desk

ROOT = Path(__file__).resolve().parents[2]
HUGE = "99999999999999999999999"
RANGE = "ids are whole numbers from 1 to 9223372036854775807"


@pytest.mark.parametrize(
    "args",
    [
        ["lead", "show", HUGE],
        ["lead", "qualify", HUGE],
        ["lead", "disqualify", HUGE, "--reason", "x"],
        ["lead", "convert", HUGE],
        ["lead", "list", "--after", HUGE],
        ["deal", "show", HUGE],
        ["deal", "move", HUGE, "2"],
        ["deal", "lose", HUGE, "--reason", "x"],
        ["deal", "sign-acts", "0"],
        ["task", "done", HUGE],
        ["task", "snooze", "abc", "+1h"],
        ["task", "add", "--title", "x", "--due", "+1h", "--lead", HUGE],
        ["task", "add", "--title", "x", "--due", "+1h", "--deal", "9223372036854775808"],
        ["log", "call", "--contact", HUGE, "--duration", "5"],
    ],
)
def test_an_id_out_of_range_is_one_error_line(desk: Desk, crm: Crm, counts: Counts, args: list[str]) -> None:
    before = counts()
    run = crm(*args)
    assert RANGE in run.error
    assert "Traceback" not in run.err
    assert counts() == before


def test_the_largest_id_is_looked_up_and_an_id_may_be_written_with_a_hash(desk: Desk, crm: Crm) -> None:
    assert crm("lead", "show", "9223372036854775807").error == "No lead #9223372036854775807"
    assert crm("lead", "show", f"#{desk.new_lead_id}", "--json").json()["id"] == desk.new_lead_id


@pytest.mark.parametrize(
    "due", ["+99999999h", "+3651d", "9999-12-31 10:00", "0001-01-01", "today 99999999999:00"]
)
def test_a_due_time_out_of_range_names_the_range(desk: Desk, crm: Crm, counts: Counts, due: str) -> None:
    before = counts()
    error = crm("task", "add", "--title", "Позвонить", "--due", due).error
    assert error == (
        f"Due time {due!r} is out of range: at most 10 years from now (+3650d, +87600h, +5256000m)"
    )
    assert crm("task", "snooze", str(1), due).error.startswith(f"Due time {due!r} is out of range")
    assert counts() == before


def test_a_due_time_ten_years_ahead_is_taken(desk: Desk, crm: Crm) -> None:
    assert crm("task", "add", "--title", "Продлить договор", "--due", "+3650d").code == 0


def write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "script.yaml"
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name: a\x00b\ntitle: t\n", "script.yaml:1: character U+0000 is not allowed in a script"),
        (b"name: x\ntitle: t\n\x00", "script.yaml:3: character U+0000 is not allowed in a script"),
        (
            b"? [a]\n: b\n",
            "script.yaml:1: not valid YAML: a key must be a plain word, not a list or a mapping",
        ),
        (b"[" * 3000 + b"]" * 3000, "script.yaml:1: nested deeper than 50 levels"),
        (b'name: x\ntitle: "t\\u202e"\n', "'title' contains a text direction control (U+202E)"),
    ],
)
def test_yaml_that_is_no_script_is_refused_with_its_line(
    desk: Desk, crm: Crm, counts: Counts, tmp_path: Path, data: bytes, message: str
) -> None:
    crm("script", "list")  # the shipped scripts are installed
    before = counts()
    run = crm("script", "import", write(tmp_path, data))
    assert message in run.error
    assert "Traceback" not in run.err
    assert counts() == before


def test_an_outcome_naming_a_stage_the_desk_does_not_have_is_refused(
    desk: Desk, crm: Crm, counts: Counts, tmp_path: Path
) -> None:
    crm("script", "list")
    shipped = (ROOT / "crm_tui" / "scripts" / "first-call-en.yaml").read_text(encoding="utf-8")
    assert "    stage: Need discovery\n" in shipped
    before = counts()
    data = shipped.replace("    stage: Need discovery\n", "    stage: Nowhere\n").encode()
    error = crm("script", "import", write(tmp_path, data)).error
    line = shipped.splitlines().index("    stage: Need discovery") + 1
    assert error.endswith(
        f"script.yaml:{line}: outcome 'meeting_booked': no stage 'Nowhere' in the desk's pipelines"
    )
    assert counts() == before
    ok = crm("script", "import", write(tmp_path, shipped.replace("Need discovery", "2").encode()))
    assert ok.code == 0, ok.err
    assert CallScript.get(CallScript.name == "first-call-en").version == 2


def test_too_long_and_control_characters_are_refused_by_every_command(
    desk: Desk, crm: Crm, counts: Counts
) -> None:
    before = counts()
    phone = "8 (916) 000-11-22"
    assert (
        crm("lead", "add", "--name", "я" * 312, "--phone", phone).error
        == "Name is 312 characters; at most 300"
    )
    assert crm("lead", "add", "--name", "Ив\x1bан", "--phone", phone).error == (
        "Name contains a control character (U+001B) at character 3"
    )
    assert crm("lead", "add", "--name", "Иван", "--phone", phone, "--comment", "x" * 5001).error == (
        "Comment is 5001 characters; at most 5000"
    )
    assert crm("task", "add", "--title", "\u202eкупить", "--due", "+1h").error == (
        "Title contains a text direction control (U+202E) at character 1"
    )
    assert crm("deal", "lose", str(desk.deal_id), "--reason", "r" * 501).error == (
        "Reason is 501 characters; at most 500"
    )
    assert counts() == before
