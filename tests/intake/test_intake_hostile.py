"""The intake server against hostile input: never a 500, a clear 4xx, nothing stored; slow clients are
dropped; pages carry security headers; a Russian visitor reads the refusal in Russian."""

from __future__ import annotations

import re
import socket
import time
from base64 import b64encode
from hashlib import sha256

import httpx
import pytest

from crm_tui.data.db import open_database
from crm_tui.services import intake
from tests.intake.conftest import NOW, IntakeDesk, StartServer
from tests.intake.test_intake_server import VISITOR, lead_count, post, rows

DEEP = ('{"name": ' * 3000) + '"x"' + ("}" * 3000)


def test_json_nested_three_thousand_levels_is_a_400(server: str, intake_db: IntakeDesk) -> None:
    assert len(DEEP) < 64 * 1024
    answer = post(server, intake_db.key, content=DEEP, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json() == {
        "ok": False,
        "error": "The JSON is nested too deeply (at most 32 levels)",
        "code": "request.too_deep",
        "params": {"max": 32},
    }
    assert lead_count(intake_db.path) == 0


@pytest.mark.parametrize("where", ["value", "key", "key of a nested value"])
def test_a_lone_surrogate_in_json_is_a_400(server: str, intake_db: IntakeDesk, where: str) -> None:
    body = {
        "value": '{"name": "Ольга \\ud800", "phone": "+79261112233"}',
        "key": '{"name": "Ольга", "phone": "+79261112233", "x\\udfff": "1"}',
        # the refusal of a nested value names its field: a field named by a lone surrogate is refused first
        "key of a nested value": '{"\\ud800": []}',
    }[where]
    answer = post(server, intake_db.key, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "request.surrogate"
    assert "surrogate" in answer.json()["error"]
    assert lead_count(intake_db.path) == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"name=%FF%FE&phone=%2B79261112233", "application/x-www-form-urlencoded"),
        (b"name=\xd0\x9e\xff&phone=%2B79261112233", "application/x-www-form-urlencoded"),
        (
            b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\n\xc0\xaf\r\n'
            b'--b\r\nContent-Disposition: form-data; name="phone"\r\n\r\n+79261112233\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
        ),
    ],
)
def test_a_form_body_that_is_not_utf8_is_refused_not_stored_as_replacement_characters(
    server: str, intake_db: IntakeDesk, body: bytes, content_type: str
) -> None:
    answer = post(server, intake_db.key, content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 400
    assert "The form is not valid UTF-8 text" in answer.text
    assert lead_count(intake_db.path) == 0


def test_a_form_in_a_declared_charset_is_read_in_it(server: str, intake_db: IntakeDesk) -> None:
    body = "name=Ольга&phone=%2B79261112233".encode("cp1251")
    content_type = "application/x-www-form-urlencoded; charset=windows-1251"
    answer = post(server, intake_db.key, content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 200
    assert rows(intake_db.path, "SELECT name FROM lead") == [("Ольга",)]


def test_the_pages_carry_security_headers_and_their_style_is_allowed(
    server: str, intake_db: IntakeDesk
) -> None:
    thanks = post(server, intake_db.key, data=VISITOR)
    refused = post(
        server,
        intake_db.key,
        data={"name": "Ольга", "phone": "123"},
        headers={"Referer": "https://shop.example/crm?utm_source=ya"},
    )
    for page in (thanks, refused):
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "form-action 'none'" in csp
        style = re.search(r"<style>(.*)</style>", page.text, re.S)
        assert style is not None
        digest = b64encode(sha256(style.group(1).encode()).digest()).decode()
        assert f"style-src 'sha256-{digest}'" in csp
        assert "style=" not in page.text and "javascript:" not in page.text and "<script" not in page.text
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
    # the form lists its site: that site may show the pages in a frame, no other
    assert "frame-ancestors https://shop.example" in thanks.headers["content-security-policy"]
    assert "x-frame-options" not in thanks.headers
    # the way back to fix the form is a plain link to the page it came from
    assert '<a href="https://shop.example/crm?utm_source=ya">' in refused.text
    unknown = post(server, "no-such-key", data=VISITOR)
    assert unknown.status_code == 404
    assert "frame-ancestors 'none'" in unknown.headers["content-security-policy"]
    assert unknown.headers["x-frame-options"] == "DENY"
    json_answer = post(server, intake_db.key, json={"name": "Пётр", "phone": "+79035550011"})
    assert json_answer.headers["x-content-type-options"] == "nosniff"


def test_a_russian_visitor_reads_every_refusal_in_russian(server: str, intake_db: IntakeDesk) -> None:
    ru = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}
    bad_phone = post(server, intake_db.key, data={"name": "Ольга", "phone": "123"}, headers=ru)
    assert bad_phone.status_code == 422
    assert "Проверьте форму" in bad_phone.text
    assert "Такого номера телефона не бывает: «123»" in bad_phone.text
    assert "Not a valid phone number" not in bad_phone.text and "not a valid number" not in bad_phone.text
    several = post(server, intake_db.key, data={"name": "я" * 301, "phone": "12"}, headers=ru)
    assert "В поле «Имя» 301 симв., а можно не больше 300" in several.text
    assert "Такого номера телефона не бывает: «12»" in several.text
    assert not re.search(r"[A-Za-z]{4,}", re.sub(r"<[^>]*>", "", several.text.split("<body>")[1]))
    control = post(server, intake_db.key, data={"name": "Оль\x07га", "phone": "+79261112233"}, headers=ru)
    assert "В поле «Имя» есть служебный символ (U+0007), позиция 4" in control.text
    not_utf8 = post(
        server,
        intake_db.key,
        content=b"name=%FF&phone=%2B79261112233",
        headers={**ru, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert not_utf8.status_code == 400 and "Текст формы не в кодировке UTF-8" in not_utf8.text
    assert lead_count(intake_db.path) == 0


def test_a_client_that_sends_its_headers_slowly_is_dropped(
    start_server: StartServer, intake_db: IntakeDesk
) -> None:
    base = start_server(rate=0, header_timeout=1.0)
    port = int(base.rsplit(":", 1)[1])
    request = (
        f"POST /forms/{intake_db.key} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "X-Padding: "
        + "a" * 500
        + "\r\n\r\n"
    ).encode()
    closed = False
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.settimeout(0.2)
        deadline = time.monotonic() + 30  # a bound on the wait, not a measurement
        for byte in request:
            if time.monotonic() > deadline:
                break
            try:
                sock.sendall(bytes([byte]))
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            answer += chunk
            if not chunk:
                closed = True
                break
    assert closed, "the server kept a connection whose headers never finished"
    assert answer.startswith(b"HTTP/1.1 408")
    # a normal client on the same server is served
    assert httpx.get(base + "/", timeout=10).status_code == 200


def test_a_trusted_proxy_that_is_not_an_address_is_one_error_line(intake_db: IntakeDesk) -> None:
    from typer.testing import CliRunner

    from crm_tui.cli import app

    result = CliRunner().invoke(
        app,
        [
            "intake",
            "serve",
            "--trusted-proxy",
            "10.0.0.1",
            "--trusted-proxy",
            "proxy.local",
            "--db",
            str(intake_db.path),
        ],
    )
    assert result.exit_code == 1
    assert result.stderr == "error: --trusted-proxy: not an IP address or network: 'proxy.local'\n"


def test_unknown_and_revoked_form_errors_carry_codes(intake_db: IntakeDesk) -> None:
    db = open_database(intake_db.url)
    with db.connection_context():
        with pytest.raises(intake.NotFound) as unknown:
            intake.active_form("nope")
        intake.revoke_form(intake_db.key, by=intake_db.admin_id, now=NOW)
        with pytest.raises(intake.FormRevoked) as revoked:
            intake.active_form(intake_db.key)
    db.close()
    assert (unknown.value.code, revoked.value.code) == ("form.unknown", "form.revoked")
