"""``crm config``: the desk's settings (in the database, shared by everyone on the desk) and, with
``--personal``, one person's preferences (``~/.config/crm-tui/config.toml``: theme, language)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, session, table

if TYPE_CHECKING:
    from crm_tui.prefs import PrefView
    from crm_tui.services.settings import SettingView

app = typer.Typer(no_args_is_help=True)

KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="A setting's key, as `crm config list` shows.")]
PersonalOpt = Annotated[
    bool,
    typer.Option(
        "--personal",
        help="Your own preferences (theme, lang) in ~/.config/crm-tui/config.toml, not the desk's.",
    ),
]


def _source(view: SettingView) -> str:
    """Where the value comes from: the default, the desk (stored), or an environment variable."""
    if view.source == "env":
        return f"env {view.env}"
    if view.source == "desk":
        return "desk (= default)" if view.is_default else "desk"
    return "default"


def _render_settings(rows: list[SettingView]) -> list[str]:
    return table(
        [[v.key, v.value, _source(v), v.default, v.help] for v in rows],
        ["KEY", "VALUE", "FROM", "DEFAULT", "WHAT IT IS"],
    )


def _render_prefs(rows: list[PrefView], where: str) -> list[str]:
    lines = table([[v.key, v.value or "-", v.help] for v in rows], ["KEY", "VALUE", "WHAT IT IS"])
    return [*lines, f"file: {where}"]


def _prefs_json(rows: list[PrefView], where: str) -> dict[str, Any]:
    from crm_tui.services.views import to_json

    return {"file": where, "settings": to_json(rows)}


def _prefs(call: Any, *args: Any) -> Any:
    """A preferences call with its refusal as one ``error:`` line (no database is opened)."""
    from crm_tui.services.errors import CrmError

    try:
        return call(*args)
    except CrmError as error:
        raise fail(error.message) from error


@app.command("list")
def config_list(
    personal: PersonalOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every desk setting: its value, whether it is the default, the default and what it is for."""
    if personal:
        from crm_tui import prefs

        rows = _prefs(prefs.listing)
        where = str(prefs.path())
        if as_json:
            emit(_prefs_json(rows, where), True)
        else:
            emit(rows, False, lambda data: _render_prefs(data, where))
        return
    from crm_tui.services import settings

    with session(db, user):
        views = settings.listing()
    emit(views, as_json, _render_settings)


@app.command("get")
def config_get(
    name: KeyArg,
    personal: PersonalOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One setting's value (alone on its line, for scripts)."""
    if personal:
        from crm_tui import prefs

        value = _prefs(prefs.get, name)
        emit({"key": name, "value": value}, as_json, lambda d: [d["value"] or ""])
        return
    from crm_tui.services import settings

    with session(db, user):
        view = settings.view(name)
    emit(view, as_json, lambda v: [v.value])


@app.command("set")
def config_set(
    name: KeyArg,
    value: Annotated[str, typer.Argument(metavar="VALUE", help="30m, 1h, 90s, 1d for intervals; RUB...")],
    personal: PersonalOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a setting for the whole desk (checked first: a bad value changes nothing)."""
    if personal:
        from crm_tui import prefs

        stored = _prefs(prefs.put, name, value)
        where = str(prefs.path())
        emit(
            {"key": name, "value": stored, "file": where}, as_json, lambda d: [f"{name} = {stored} ({where})"]
        )
        return
    from crm_tui.services import settings

    with session(db, user):
        settings.put(name, value)
        view = settings.view(name)
    notes = []
    if view.source == "env":
        stored = settings.KEYS[name].show(settings.KEYS[name].parse(value))
        notes = [f"note: {view.env}={view.value} overrides it for processes that have it set"]
        emit({**_json(view), "stored": stored}, as_json, lambda _d: [f"{name} = {stored}", *notes])
        return
    emit(view, as_json, lambda v: [f"{v.key} = {v.value}"])


@app.command("reset")
def config_reset(
    name: KeyArg,
    personal: PersonalOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Back to the default."""
    if personal:
        from crm_tui import prefs

        _prefs(prefs.reset, name)
        emit({"key": name, "value": None}, as_json, lambda _d: [f"{name}: not set"])
        return
    from crm_tui.services import settings

    with session(db, user):
        settings.reset(name)
        view = settings.view(name)
    emit(view, as_json, lambda v: [f"{v.key} = {v.value} (default)"])


def _json(view: SettingView) -> dict[str, Any]:
    from crm_tui.services.views import to_json

    data: dict[str, Any] = to_json(view)
    return data


def register(root: typer.Typer) -> None:
    root.add_typer(
        app,
        name="config",
        help="Settings: the desk's (shared, in the database) and, with --personal, your own.",
    )
