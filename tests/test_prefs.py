"""Personal preferences: the config file, the themes it accepts, and the language's precedence."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App

from crm_tui import prefs
from crm_tui.i18n import pick_lang


def test_the_themes_accepted_are_those_textual_has() -> None:
    assert set(prefs.THEMES) == set(App[None]().available_themes)


def test_no_file_means_no_preference() -> None:
    assert not prefs.path().exists()
    assert prefs.get("theme") is None and prefs.listing()[0].value is None


def test_the_language_is_lang_then_crm_lang_then_the_personal_file_then_the_locale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert pick_lang() == "en"  # LANG=C.UTF-8
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    assert pick_lang() == "ru"
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")  # LC_ALL outranks LANG
    assert pick_lang() == "en"
    prefs.put("lang", "ru")
    assert pick_lang() == "ru"  # the personal file outranks the locale
    monkeypatch.setenv("CRM_LANG", "en")
    assert pick_lang() == "en"
    assert pick_lang("ru") == "ru"
    monkeypatch.setenv("CRM_LANG", "de")
    assert pick_lang() == "en"  # a language the app does not speak: English


def test_a_broken_file_does_not_stop_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefs.path().parent.mkdir(parents=True)
    prefs.path().write_text("lang = ru\n")  # not TOML: a bare word
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    assert prefs.quietly("lang") is None
    assert pick_lang() == "ru"
    with pytest.raises(prefs.PrefsFileError, match="Cannot read"):
        prefs.get("lang")


def test_a_value_this_version_does_not_accept_is_ignored() -> None:
    prefs.path().parent.mkdir(parents=True)
    prefs.path().write_text('lang = "fr"\ntheme = 3\n')
    assert prefs.get("lang") is None and prefs.get("theme") is None
    assert pick_lang() == "en"
