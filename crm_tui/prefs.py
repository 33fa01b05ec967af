"""Personal preferences: one person's theme and language, in their own config file, whatever desk they open.

The file is ``$XDG_CONFIG_HOME/crm-tui/config.toml`` (``~/.config/crm-tui/config.toml``)::

    lang = "ru"
    theme = "nord"

The app writes ``theme`` when a theme is picked (``ctrl+p`` -> theme) and applies it at the next start;
``crm config set --personal KEY VALUE`` writes either. Keys this version does not know are kept as they
are. Desk settings, shared by everyone on the desk, live in the database (``services/settings.py``).

No Textual here: the CLI validates a theme against :data:`THEMES`, the names of the themes Textual ships
(a test keeps the list equal to the pinned Textual's).
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from platformdirs import user_config_path

from crm_tui.services.errors import CrmError, InvalidInput

LANGS = ("en", "ru")
THEMES = (
    "textual-dark",
    "textual-light",
    "nord",
    "gruvbox",
    "catppuccin-mocha",
    "dracula",
    "tokyo-night",
    "monokai",
    "flexoki",
    "catppuccin-latte",
    "catppuccin-frappe",
    "catppuccin-macchiato",
    "solarized-light",
    "solarized-dark",
    "rose-pine",
    "rose-pine-moon",
    "rose-pine-dawn",
    "atom-one-dark",
    "atom-one-light",
    "ansi-dark",
    "ansi-light",
)


class PrefsFileError(CrmError):
    """The personal config file exists but cannot be read or written."""

    title = "Personal settings"
    code = "prefs.file"


def _lang(text: str) -> str:
    code = text.strip().lower()
    if code not in LANGS:
        raise InvalidInput(
            f"Not a language of the app: {text!r}; one of: {', '.join(LANGS)}",
            {"lang": "unknown"},
            code="lang.unknown",
            params={"value": text, "known": list(LANGS)},
        )
    return code


def _theme(text: str) -> str:
    name = text.strip().lower()
    if name not in THEMES:
        raise InvalidInput(
            f"No theme {text!r}; one of: {', '.join(THEMES)}",
            {"theme": "unknown"},
            code="theme.unknown",
            params={"value": text, "known": list(THEMES)},
        )
    return name


@dataclass(frozen=True)
class Pref:
    name: str
    parse: Callable[[str], str]
    help: str


PREFS: dict[str, Pref] = {
    p.name: p
    for p in (
        Pref("theme", _theme, "the app's colours (ctrl+p -> theme in the app remembers the one picked)"),
        Pref("lang", _lang, "the app's language when --lang and CRM_LANG say nothing: en or ru"),
    )
}


@dataclass(frozen=True)
class PrefView:
    key: str
    value: str | None
    help: str


def path() -> Path:
    """``$XDG_CONFIG_HOME/crm-tui/config.toml``, read at each call (tests point XDG_CONFIG_HOME away)."""
    return user_config_path("crm-tui", appauthor=False) / "config.toml"


def pref(name: str) -> Pref:
    found = PREFS.get(name)
    if found is None:
        raise InvalidInput(
            f"No personal setting {name!r}; known: {', '.join(PREFS)}",
            {"key": "unknown"},
            code="prefs.unknown",
            params={"key": name, "known": list(PREFS)},
        )
    return found


def read_file() -> dict[str, Any]:
    """The whole file as TOML data (``{}`` when there is none); a broken file raises PrefsFileError."""
    where = path()
    try:
        with where.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PrefsFileError(
            f"Cannot read {where}: {error}", code="prefs.unreadable", params={"path": str(where)}
        ) from error


def get(name: str) -> str | None:
    """The valid value of a preference, else None (absent, or not one this version knows)."""
    raw = read_file().get(pref(name).name)
    if not isinstance(raw, str):
        return None
    try:
        return PREFS[name].parse(raw)
    except InvalidInput:
        return None


def quietly(name: str) -> str | None:
    """:func:`get` for start-up: a broken or unreadable file counts as no preference."""
    try:
        return get(name)
    except PrefsFileError:
        return None


def listing() -> list[PrefView]:
    data = read_file()
    views = []
    for p in PREFS.values():
        raw = data.get(p.name)
        views.append(PrefView(p.name, raw if isinstance(raw, str) else None, p.help))
    return views


def _write(data: dict[str, Any]) -> None:
    """Write the whole file at once: a temporary file beside it, then renamed over it."""
    where = path()
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=where.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                tomli_w.dump(data, handle)
            os.replace(temp, where)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise PrefsFileError(
            f"Cannot write {where}: {error}", code="prefs.unwritable", params={"path": str(where)}
        ) from error


def put(name: str, raw: str) -> str:
    """Validate and store a preference; returns the stored value. A bad value (or a broken file, which
    is never overwritten) writes nothing."""
    value = pref(name).parse(raw)
    data = read_file()
    data[name] = value
    _write(data)
    return value


def reset(name: str) -> None:
    """Forget a preference (the default applies again)."""
    pref(name)
    data = read_file()
    if name in data:
        del data[name]
        _write(data)
