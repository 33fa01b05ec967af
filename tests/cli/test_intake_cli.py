"""``crm intake``: form keys, the landing-page snippet, and ``crm intake serve`` end to end."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx

from tests.cli.conftest import Crm

ROOT = Path(__file__).resolve().parents[2]


class FormFields(HTMLParser):
    """The action and the input names of the first form in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.inputs: dict[str, str] = {}  # name -> type
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action") or ""
        elif tag in ("input", "textarea") and values.get("name"):
            self.inputs[values["name"] or ""] = values.get("type") or tag
        elif tag == "script":
            self.scripts += 1


def test_add_list_and_revoke_forms(crm: Crm) -> None:
    assert crm("user", "add", "anna", "--name", "Анна").code == 0
    made = crm(
        "intake",
        "add-form",
        "Landing: CRM",
        "--owner",
        "anna",
        "--redirect",
        "https://shop.example/thanks",
        "--allowed-origin",
        "https://shop.example",
        "--allowed-origin",
        "https://www.shop.example/",
        "--source",
        "site",
        "--json",
    )
    assert made.code == 0, made.err
    form = made.json()
    assert (form["owner_login"], form["redirect_url"], form["default_source"], form["active"]) == (
        "anna",
        "https://shop.example/thanks",
        "site",
        True,
    )
    assert form["allowed_origins"] == ["https://shop.example", "https://www.shop.example"]
    listed = crm("intake", "list")
    assert form["key"] in listed.out and "Landing: CRM" in listed.out
    revoked = crm("intake", "revoke", "Landing: CRM")
    assert revoked.code == 0 and "revoked" in revoked.out
    assert "no forms" in crm("intake", "list").out
    assert [f["active"] for f in crm("intake", "list", "--all", "--json").json()] == [False]
    assert crm("intake", "revoke", form["key"]).error == "Form 'Landing: CRM' is already revoked"
    assert crm("intake", "snippet", form["key"]).error == "form 'Landing: CRM' is revoked"


def test_bad_form_settings_are_one_error_line(crm: Crm) -> None:
    assert crm("intake", "add-form", "X", "--owner", "ghost").error == "No user with login 'ghost'"
    assert "Not a site origin" in crm("intake", "add-form", "X", "--allowed-origin", "shop.example").error
    assert "Not a page address" in crm("intake", "add-form", "X", "--redirect", "/thanks").error
    assert crm("intake", "snippet", "nope").error == "No form 'nope'"
    assert crm("intake", "list", "--json").json() == []


def test_the_snippet_is_a_ready_form(crm: Crm) -> None:
    key = crm("intake", "add-form", "Лендинг <весна>", "--json").json()["key"]
    html = crm("intake", "snippet", "Лендинг <весна>", "--url", "https://leads.example/", "--lang", "ru")
    assert html.code == 0, html.err
    page = FormFields()
    page.feed(html.out)
    assert page.action == f"https://leads.example/forms/{key}"
    assert page.inputs["name"] == "text" and page.inputs["phone"] == "tel"
    for hidden in (
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "page_url",
        "referrer",
    ):
        assert page.inputs[hidden] == "hidden"
    assert "website" in page.inputs  # the honeypot
    assert page.scripts == 1 and "URLSearchParams(window.location.search)" in html.out
    assert "Перезвоните мне" in html.out
    assert "<весна>" not in html.out and "&lt;весна&gt;" in html.out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_crm_intake_serve_takes_the_snippets_post(crm: Crm, db_path: Path) -> None:
    key = crm("intake", "add-form", "Landing", "--source", "site", "--json").json()["key"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    page = FormFields()
    page.feed(crm("intake", "snippet", key, "--url", base).out)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "crm_tui", "intake", "serve", "--port", str(port), "--db", str(db_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        fields = dict.fromkeys(page.inputs, "")
        fields.update(
            name="Ольга",
            phone="8 926 111 22 33",
            utm_source="yandex",
            utm_term="crm",
            page_url="https://shop.example/?utm_source=yandex&utm_term=crm",
        )
        response = httpx.post(page.action, data=fields, timeout=30)
        assert response.status_code == 200 and "Thank you!" in response.text
    finally:
        server.terminate()
        server.wait(timeout=30)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT name, phone, utm_source, utm_term FROM lead").fetchall() == [
            ("Ольга", "+79261112233", "yandex", "crm")
        ]
