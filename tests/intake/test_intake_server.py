"""The intake server as a landing page meets it: real posts over loopback to a real uvicorn server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm_tui.data.models import utcnow
from tests.intake.conftest import IntakeDesk, StartServer

ROOT = Path(__file__).resolve().parents[2]
VISITOR = {"name": "Ольга Кузнецова", "phone": "8 (926) 111-22-33"}


def rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the file through its own connection, as another process would."""
    with sqlite3.connect(path) as raw:
        return raw.execute(sql, params).fetchall()


def lead_count(path: Path) -> int:
    return int(rows(path, "SELECT count(*) FROM lead")[0][0])


def post(base: str, key: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{base}/forms/{key}", timeout=30, **kwargs)


def test_a_browser_form_post_becomes_a_lead_with_every_field(server: str, intake_db: IntakeDesk) -> None:
    fields = {
        **VISITOR,
        "email": "olga@example.ru",
        "company": "ООО Берёзка",
        "comment": "Нужна CRM",
        "utm_source": "yandex",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
        "utm_term": "crm для отдела продаж",
        "utm_content": "ad-2",
        "referrer": "https://yandex.ru/",
        "page_url": "https://shop.example/crm",
    }
    response = post(server, intake_db.key, data=fields)
    assert response.status_code == 200
    assert "Thank you! We will call you shortly." in response.text
    assert rows(
        intake_db.path,
        "SELECT name, phone, email, company_name, comment, utm_source, utm_medium, utm_campaign, utm_term,"
        " utm_content, referrer, landing_page, status FROM lead",
    ) == [
        (
            "Ольга Кузнецова",
            "+79261112233",
            "olga@example.ru",
            "ООО Берёзка",
            "Нужна CRM",
            "yandex",
            "cpc",
            "spring",
            "crm для отдела продаж",
            "ad-2",
            "https://yandex.ru/",
            "https://shop.example/crm",
            "new",
        )
    ]


def test_the_call_task_an_hour_later_is_there_for_the_owner(server: str, intake_db: IntakeDesk) -> None:
    response = post(server, intake_db.key, json=VISITOR)
    assert response.status_code == 201
    lead_id = response.json()["lead_id"]
    ((created, owner),) = rows(intake_db.path, "SELECT created_at, owner_id FROM lead WHERE id = ?", lead_id)
    ((title, due, assignee, kind),) = rows(
        intake_db.path, "SELECT title, due_at, assignee_id, kind FROM task WHERE lead_id = ?", lead_id
    )
    assert (owner, assignee, kind, title) == (
        intake_db.anna_id,
        intake_db.anna_id,
        "first_call",
        "Call Ольга Кузнецова",
    )
    assert datetime.fromisoformat(due) - datetime.fromisoformat(created) == timedelta(hours=1)


def test_json_gets_the_lead_id_and_multipart_works_like_a_form(server: str, intake_db: IntakeDesk) -> None:
    response = post(server, intake_db.key, json={**VISITOR, "company": "ACME"})
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True and body["status"] == "created" and isinstance(body["lead_id"], int)
    multipart = post(
        server,
        intake_db.key,
        files={"name": (None, "Пётр"), "phone": (None, "+7 903 555-00-11"), "utm_source": (None, "vk")},
    )
    assert multipart.status_code == 200 and "Thank you!" in multipart.text
    assert rows(intake_db.path, "SELECT name, utm_source FROM lead ORDER BY id") == [
        ("Ольга Кузнецова", "site"),
        ("Пётр", "vk"),
    ]


def test_utm_tags_come_from_the_landing_page_address(server: str, intake_db: IntakeDesk) -> None:
    landing = "https://shop.example/crm?utm_source=yandex&utm_medium=cpc&utm_campaign=c1&utm_term=crm&yclid=9"
    # a plain form without hidden fields: the browser's Referer is the landing page
    assert post(server, intake_db.key, data=VISITOR, headers={"Referer": landing}).status_code == 200
    assert (
        post(
            server,
            intake_db.key,
            json={"name": "Пётр", "phone": "+79035550011", "page_url": "https://shop.example/?gclid=x"},
        ).status_code
        == 201
    )
    assert rows(
        intake_db.path, "SELECT utm_source, utm_medium, utm_campaign, utm_term, landing_page FROM lead"
    ) == [
        ("yandex", "cpc", "c1", "crm", landing),
        ("google", "cpc", "", "", "https://shop.example/?gclid=x"),
    ]


def test_the_thank_you_page_speaks_russian_and_a_form_can_redirect(
    start_server: StartServer, intake_db: IntakeDesk
) -> None:
    from crm_tui.data.db import database
    from crm_tui.services import intake

    base = start_server(rate=0)
    with database.connection_context():
        form = intake.add_form(
            "With thanks page", by=intake_db.admin_id, now=_now(), redirect_url="https://shop.example/thanks"
        )
    russian = post(base, intake_db.key, data=VISITOR, headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"})
    assert russian.status_code == 200 and "Спасибо! Мы скоро перезвоним." in russian.text
    redirected = post(base, form.key, data={"name": "Пётр", "phone": "+79035550011"})
    assert redirected.status_code == 303
    assert redirected.headers["location"] == "https://shop.example/thanks"


def _now() -> datetime:
    return utcnow()


def test_a_repeat_submission_is_recorded_on_the_lead_and_the_owner_told(
    server: str, intake_db: IntakeDesk
) -> None:
    first = post(server, intake_db.key, json=VISITOR).json()
    again = post(server, intake_db.key, json={"name": "Ольга", "phone": "+79261112233", "comment": "Жду!"})
    assert again.status_code == 200
    assert again.json() == {"ok": True, "status": "repeat", "lead_id": first["lead_id"]}
    assert rows(intake_db.path, "SELECT id, repeat_count FROM lead") == [(first["lead_id"], 1)]
    assert rows(intake_db.path, "SELECT kind, subject FROM interaction") == [
        ("repeat_request", "Repeat request from Ольга")
    ]
    assert rows(intake_db.path, "SELECT title, assignee_id FROM task WHERE kind = 'repeat_request'") == [
        ("Repeat request from Ольга", intake_db.anna_id)
    ]


def test_simultaneous_posts_of_one_phone_make_one_lead(server: str, intake_db: IntakeDesk) -> None:
    answers: list[int] = []

    def send() -> None:
        answers.append(post(server, intake_db.key, json=VISITOR).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200] * 7 + [201]
    assert rows(intake_db.path, "SELECT count(*), max(repeat_count) FROM lead") == [(1, 7)]


def test_bad_fields_get_a_message_each_and_nothing_is_stored(server: str, intake_db: IntakeDesk) -> None:
    response = post(server, intake_db.key, json={"name": "", "phone": "12345", "email": "nope"})
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "name": "required",
        "phone": "not a valid number",
        "email": "not a valid e-mail",
    }
    page = post(server, intake_db.key, data={"name": "<i>x</i>", "phone": "<script>alert(1)</script>"})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert "phone" in page.text
    assert post(server, intake_db.key, json=["not", "an", "object"]).status_code == 422
    assert post(server, intake_db.key, json={**VISITOR, "comment": {"nested": 1}}).status_code == 422
    assert lead_count(intake_db.path) == 0


def test_refusals_are_never_500(start_server: StartServer, intake_db: IntakeDesk) -> None:
    base = start_server(rate=0, body_limit=4096)
    big = {**VISITOR, "comment": "я" * 5000}
    assert post(base, intake_db.key, data=big).status_code == 413
    assert post(base, intake_db.key, json=big).status_code == 413

    def chunks() -> Any:
        yield b"name=x&phone=%2B79261112233&comment="
        for _ in range(10):
            yield b"a" * 1000

    chunked = post(
        base, intake_db.key, content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert chunked.status_code == 413
    assert (
        post(base, intake_db.key, content=b"name=x", headers={"Content-Type": "text/plain"}).status_code
        == 415
    )
    assert post(base, intake_db.key, content=b"name=x").status_code == 415
    assert (
        post(base, intake_db.key, content=b"{oops", headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    assert (
        post(
            base, intake_db.key, content=b"\xff\xfe", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    broken = post(
        base, intake_db.key, content=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data"}
    )
    assert broken.status_code == 400
    upload = post(base, intake_db.key, data=VISITOR, files={"cv": ("cv.txt", b"hello")})
    assert upload.status_code == 400
    assert post(base, "unknown-key", data=VISITOR).status_code == 404
    assert httpx.get(f"{base}/forms/{intake_db.key}").status_code == 405
    assert lead_count(intake_db.path) == 0


def test_a_revoked_key_is_refused(server: str, intake_db: IntakeDesk) -> None:
    from crm_tui.data.db import database
    from crm_tui.services import intake

    assert post(server, intake_db.key, json=VISITOR).status_code == 201
    with database.connection_context():
        intake.revoke_form(intake_db.key, by=intake_db.admin_id, now=_now())
    refused = post(server, intake_db.key, json={"name": "Пётр", "phone": "+79035550011"})
    assert refused.status_code == 410
    assert lead_count(intake_db.path) == 1


def test_a_flood_from_one_address_gets_429(start_server: StartServer, intake_db: IntakeDesk) -> None:
    base = start_server(rate=3, rate_window=3600)
    codes = [
        post(base, intake_db.key, json={"name": "Bot", "phone": f"+7926111220{i}"}).status_code
        for i in range(5)
    ]
    assert codes == [201, 201, 201, 429, 429]
    limited = post(base, intake_db.key, json={"name": "Bot", "phone": "+79261112299"})
    assert int(limited.headers["retry-after"]) > 0
    # naming another address itself does not get a client past the limit: no proxy is trusted
    dodge = post(base, intake_db.key, json=VISITOR, headers={"X-Forwarded-For": "203.0.113.7"})
    assert dodge.status_code == 429
    assert lead_count(intake_db.path) == 3


def test_behind_a_trusted_proxy_each_visitor_has_their_own_limit(
    start_server: StartServer, intake_db: IntakeDesk
) -> None:
    base = start_server(rate=1, rate_window=3600, trusted_proxies=["127.0.0.1"])
    first = {"X-Forwarded-For": "203.0.113.7"}
    assert post(base, intake_db.key, json=VISITOR, headers=first).status_code == 201
    again = {"name": "Пётр", "phone": "+79035550011"}
    # the visitor's own X-Forwarded-For entry before the proxy's is not believed: the proxy appended .7
    spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert post(base, intake_db.key, json=again, headers=spoofed).status_code == 429
    other = {"X-Forwarded-For": "203.0.113.8"}
    assert post(base, intake_db.key, json=again, headers=other).status_code == 201
    assert lead_count(intake_db.path) == 2


def test_a_filled_honeypot_is_thanked_and_not_stored(server: str, intake_db: IntakeDesk) -> None:
    page = post(server, intake_db.key, data={**VISITOR, "website": "http://spam.example"})
    assert page.status_code == 200 and "Thank you!" in page.text
    assert post(server, intake_db.key, json={**VISITOR, "website": "x"}).status_code == 202
    assert lead_count(intake_db.path) == 0


def test_cors_only_for_the_allowed_origins(server: str, intake_db: IntakeDesk) -> None:
    url = f"{server}/forms/{intake_db.key}"
    preflight = httpx.options(
        url, headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    stranger = httpx.options(
        url, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert stranger.status_code == 403 and "access-control-allow-origin" not in stranger.headers
    allowed = post(server, intake_db.key, json=VISITOR, headers={"Origin": "https://shop.example"})
    assert allowed.status_code == 201
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    refused = post(
        server,
        intake_db.key,
        json={"name": "X", "phone": "+79035550011"},
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    assert lead_count(intake_db.path) == 1


def test_a_busy_database_is_answered_503_and_nothing_is_lost(
    start_server: StartServer, intake_db: IntakeDesk
) -> None:
    base = start_server(rate=0, busy_timeout=0.05, retries=2, retry_after=3)
    locker = sqlite3.connect(intake_db.path, isolation_level=None, timeout=0)
    locker.execute("BEGIN IMMEDIATE")
    try:
        busy = post(base, intake_db.key, json=VISITOR)
        page = post(base, intake_db.key, data={"name": "Пётр", "phone": "+79035550011"})
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert (busy.status_code, busy.headers["retry-after"]) == (503, "3")
    assert busy.json()["ok"] is False
    assert page.status_code == 503 and "text/html" in page.headers["content-type"]
    assert lead_count(intake_db.path) == 0
    # the visitor tries again once the desk is free
    assert post(base, intake_db.key, json=VISITOR).status_code == 201
    assert lead_count(intake_db.path) == 1


def test_a_short_lock_is_waited_out(start_server: StartServer, intake_db: IntakeDesk) -> None:
    base = start_server(rate=0, busy_timeout=0.2, retries=10)
    locker = sqlite3.connect(intake_db.path, isolation_level=None, timeout=0, check_same_thread=False)
    locker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: locker.execute("ROLLBACK"))
    release.start()
    try:
        response = post(base, intake_db.key, json=VISITOR)
    finally:
        release.join()
        locker.close()
    assert response.status_code == 201
    assert lead_count(intake_db.path) == 1


def test_another_process_sees_the_new_lead(server: str, intake_db: IntakeDesk) -> None:
    """What the open app's inbox does: a separate process reading the same file after the answer."""
    lead_id = post(server, intake_db.key, json={**VISITOR, "utm_source": "yandex"}).json()["lead_id"]
    result = subprocess.run(
        [sys.executable, "-m", "crm_tui", "lead", "list", "--json", "--db", str(intake_db.path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [(r["id"], r["name"], r["utm_source"], r["owner_login"]) for r in listed] == [
        (lead_id, "Ольга Кузнецова", "yandex", "anna")
    ]


def test_html_in_fields_is_stored_as_text(server: str, intake_db: IntakeDesk) -> None:
    payload = {"name": "<img src=x onerror=alert(1)>", "phone": "+79261112233", "comment": "[red]x[/red] <b>"}
    assert post(server, intake_db.key, json=payload).status_code == 201
    assert rows(intake_db.path, "SELECT name, comment FROM lead") == [
        ("<img src=x onerror=alert(1)>", "[red]x[/red] <b>")
    ]


@pytest.mark.parametrize("ctype", ["application/json", "application/x-www-form-urlencoded"])
def test_an_unknown_key_is_refused_before_the_fields_are_checked(
    server: str, intake_db: IntakeDesk, ctype: str
) -> None:
    body = b"{}" if ctype == "application/json" else b""
    assert post(server, "nope", content=body, headers={"Content-Type": ctype}).status_code == 404
