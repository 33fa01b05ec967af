"""``crm config``: the desk's settings, and ``--personal`` preferences in the XDG config file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from crm_tui import prefs
from crm_tui.data.models import Setting
from tests.cli.conftest import Crm
from tests.conftest import Counts
from tests.desk_fixtures import DESK_SETTING_KEYS


def test_list_shows_each_key_its_value_where_it_comes_from_and_what_it_is(
    crm: Crm, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = crm("config", "list").out.splitlines()
    assert lines[0].split() == ["KEY", "VALUE", "FROM", "DEFAULT", "WHAT", "IT", "IS"]
    assert lines[1].split()[:4] == ["first_call.delay", "1h", "default", "1h"]
    assert lines[1].endswith("how soon a new lead is to be called")
    assert [line.split()[0] for line in lines[1:]] == DESK_SETTING_KEYS
    assert crm("config", "set", "first_call.retry", "45").out == "first_call.retry = 45m\n"
    monkeypatch.setenv("CRM_REMIND_EVERY", "2h")
    data = {row["key"]: row for row in crm("config", "list", "--json").json()}
    assert data["first_call.retry"] == {
        "key": "first_call.retry",
        "value": "45m",
        "default": "30m",
        "is_default": False,
        "source": "desk",
        "help": "when to call again after no answer or busy",
        "env": None,
    }
    assert (data["reminders.every"]["value"], data["reminders.every"]["source"]) == ("2h", "env")
    line = next(x for x in crm("config", "list").out.splitlines() if x.startswith("reminders.every"))
    assert line.split()[:4] == ["reminders.every", "2h", "env", "CRM_REMIND_EVERY"]


def test_set_then_get_for_scripts(crm: Crm) -> None:
    assert crm("config", "set", "currency.default", "usd").out == "currency.default = USD\n"
    assert crm("config", "get", "currency.default").out == "USD\n"
    assert crm("config", "get", "currency.default", "--json").json()["source"] == "desk"
    assert crm("config", "reset", "currency.default").out == "currency.default = RUB (default)\n"
    assert crm("config", "get", "currency.default", "--json").json()["is_default"] is True


def test_remind_every_and_config_set_are_one_setting(crm: Crm) -> None:
    assert crm("remind", "--every", "20m", "--no-desktop").code == 0
    assert crm("config", "get", "reminders.every").out == "20m\n"
    assert crm("config", "set", "reminders.every", "1d").code == 0
    assert [(r.key, r.value) for r in Setting.select()] == [("reminders.every", "1d")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["set", "reminders.evry", "1h"],
            "No desk setting 'reminders.evry'; known: backups.keep, company.account, ",
        ),
        (["set", "reminders.every", "hourly"], "Not an interval: 'hourly' (use 30m, 1h, 90s)"),
        (["set", "first_call.delay", "0"], "An interval must be at least one minute: '0'"),
        (["set", "currency.default", "руб"], "Not a currency code: 'руб' (three letters, e.g. RUB)"),
        (["get", "theme"], "No desk setting 'theme'; known: "),
        (["reset", "nope"], "No desk setting 'nope'; known: "),
    ],
)
def test_refusals_are_one_line_and_write_nothing(
    crm: Crm, counts: Counts, args: list[str], message: str
) -> None:
    crm("config", "set", "reminders.every", "15m")
    before = counts()
    assert crm("config", *args).error.startswith(message)
    assert counts() == before
    assert crm("config", "get", "reminders.every").out == "15m\n"


def test_personal_preferences_go_to_the_xdg_config_file(crm: Crm, tmp_path: Path) -> None:
    where = tmp_path / "xdg-config" / "crm-tui" / "config.toml"
    assert prefs.path() == where
    assert crm("config", "set", "--personal", "theme", "Nord").out == f"theme = nord ({where})\n"
    assert crm("config", "set", "--personal", "lang", "ru").code == 0
    assert tomllib.loads(where.read_text()) == {"theme": "nord", "lang": "ru"}
    assert crm("config", "get", "--personal", "lang").out == "ru\n"
    listed = crm("config", "list", "--personal", "--json").json()
    assert listed["file"] == str(where)
    assert [(s["key"], s["value"]) for s in listed["settings"]] == [("theme", "nord"), ("lang", "ru")]
    assert crm("config", "list", "--personal").out.splitlines()[-1] == f"file: {where}"
    assert crm("config", "reset", "--personal", "lang").code == 0
    assert tomllib.loads(where.read_text()) == {"theme": "nord"}


def test_personal_keys_unknown_to_this_version_are_kept(crm: Crm, tmp_path: Path) -> None:
    where = tmp_path / "xdg-config" / "crm-tui" / "config.toml"
    where.parent.mkdir(parents=True)
    where.write_text('editor = "vim"\n[keys]\nquit = "ctrl+q"\n')
    assert crm("config", "set", "--personal", "theme", "dracula").code == 0
    assert tomllib.loads(where.read_text()) == {
        "editor": "vim",
        "keys": {"quit": "ctrl+q"},
        "theme": "dracula",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "--personal", "lang", "de"], "Not a language of the app: 'de'; one of: en, ru"),
        (["set", "--personal", "theme", "pink"], "No theme 'pink'; one of: textual-dark, "),
        (["set", "--personal", "font", "x"], "No personal setting 'font'; known: theme, lang"),
    ],
)
def test_personal_refusals_leave_the_file_alone(
    crm: Crm, tmp_path: Path, args: list[str], message: str
) -> None:
    where = tmp_path / "xdg-config" / "crm-tui" / "config.toml"
    assert crm("config", "set", "--personal", "theme", "nord").code == 0
    before = where.read_bytes()
    assert crm("config", *args).error.startswith(message)
    assert where.read_bytes() == before


def test_a_broken_personal_file_is_reported_not_overwritten(crm: Crm, tmp_path: Path) -> None:
    where = tmp_path / "xdg-config" / "crm-tui" / "config.toml"
    where.parent.mkdir(parents=True)
    where.write_text('theme = "nord\n')
    assert crm("config", "set", "--personal", "lang", "ru").error.startswith(f"Cannot read {where}: ")
    assert where.read_text() == 'theme = "nord\n'
