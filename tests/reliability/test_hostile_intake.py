"""Property: whatever a landing page (or anyone) posts to the intake endpoint, the answer is never a 500;
a refusal is a 4xx saying why, and it stored nothing."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_tui.data.db import database, open_database
from crm_tui.intake.server import make_asgi_app
from crm_tui.services import intake, pipelines, users
from tests.conftest import NOW
from tests.reliability.hostile import CHARS, HOSTILE, TEXT, row_counts

with warnings.catch_warnings():  # starlette's TestClient warns that it runs over httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@dataclass(frozen=True)
class Endpoint:
    client: TestClient
    path: Path
    key: str


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    path = tmp_path / "crm.db"
    db = open_database(str(path))
    with db.connection_context():
        admin = users.ensure_default(NOW)
        pipelines.ensure_default()
        form = intake.add_form("Landing", by=admin.id, now=NOW, allowed_origins=["https://shop.example"])
    db.close()
    app = make_asgi_app(f"sqlite:///{path}", rate=0)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Endpoint(client, path, form.key)
    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()


def check(endpoint: Endpoint, content: bytes, headers: dict[str, str], key: str | None = None) -> None:
    before = row_counts(endpoint.path)
    answer = endpoint.client.post(f"/forms/{key or endpoint.key}", content=content, headers=headers)
    assert answer.status_code < 500, (answer.status_code, answer.text[:500])
    if answer.status_code >= 400:
        if answer.headers.get("content-type", "").startswith("application/json"):
            body = answer.json()
            assert body["ok"] is False and body["error"] and body["code"], body
        else:
            assert "<h1>" in answer.text and "<p>" in answer.text, answer.text[:500]
        assert row_counts(endpoint.path) == before, "a refused post stored something"
    else:
        assert answer.status_code in (200, 201, 202, 303), answer.status_code


ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=windows-1251",
            "application/x-www-form-urlencoded; charset=nope",
            "multipart/form-data; boundary=b",
            "multipart/form-data",
            "text/plain",
            "",
        ]
    ),
    ASCII,
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Accept": st.sampled_from(["application/json", "text/html", "*/*"]) | ASCII,
        "Accept-Language": st.sampled_from(["ru", "ru-RU,ru;q=0.9", "en;q=abc", "de"]) | ASCII,
        "Origin": st.sampled_from(["https://shop.example", "https://evil.example", "null"]) | ASCII,
        "Referer": st.sampled_from(["https://shop.example/?utm_source=ya", "javascript:alert(1)"]) | ASCII,
        "X-Forwarded-For": ASCII,
    },
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(CHARS, max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
FIELD_NAMES = st.sampled_from(
    ["name", "phone", "email", "company", "comment", "utm_source", "page_url", "website", "fio", "tel"]
)
PHONES = st.sampled_from(["8 (926) 111-22-33", "+79261112233", "123", ""]) | TEXT
VISITORS = st.fixed_dictionaries(
    {"name": TEXT, "phone": PHONES},
    optional={n: SCALARS for n in ["email", "company", "comment", "utm_source", "page_url", "website"]},
)


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()  # lone surrogates travel as \\udXXX escapes


@HOSTILE
@given(value=st.one_of(VISITORS, JSON_VALUES), headers=HEADERS)
def test_json_of_any_shape(endpoint: Endpoint, value: object, headers: dict[str, str]) -> None:
    check(endpoint, _json(value), {**headers, "Content-Type": "application/json"})


@HOSTILE
@given(depth=st.integers(1, 20000), opener=st.sampled_from(["[", '{"a":']), headers=HEADERS)
def test_json_of_any_depth(endpoint: Endpoint, depth: int, opener: str, headers: dict[str, str]) -> None:
    closer = "]" if opener == "[" else "}"
    check(
        endpoint,
        (opener * depth + "1" + closer * depth).encode(),
        {**headers, "Content-Type": "application/json"},
    )


@HOSTILE
@given(body=st.binary(max_size=3000), content_type=CONTENT_TYPES, headers=HEADERS)
def test_random_bytes_under_any_content_type(
    endpoint: Endpoint, body: bytes, content_type: str, headers: dict[str, str]
) -> None:
    check(endpoint, body, {**headers, "Content-Type": content_type})


@HOSTILE
@given(
    fields=st.lists(st.tuples(FIELD_NAMES | st.text(CHARS, max_size=8), TEXT), max_size=8),
    raw=st.booleans(),
    headers=HEADERS,
)
def test_form_bodies_with_hostile_values(
    endpoint: Endpoint, fields: list[tuple[str, str]], raw: bool, headers: dict[str, str]
) -> None:
    def encode(text: str) -> str:
        return quote(text.encode("utf-8", "surrogatepass"), safe="")

    if raw:  # as a browser sends it: percent-encoded UTF-8 (with a stray surrogate's bytes when present)
        body = "&".join(f"{encode(k)}={encode(v)}" for k, v in fields).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        parts = [
            b'--b\r\nContent-Disposition: form-data; name="'
            + k.encode("utf-8", "surrogatepass").replace(b'"', b"")
            + b'"\r\n\r\n'
            + v.encode("utf-8", "surrogatepass")
            + b"\r\n"
            for k, v in fields
        ]
        body = b"".join(parts) + b"--b--\r\n"
        content_type = "multipart/form-data; boundary=b"
    check(endpoint, body, {**headers, "Content-Type": content_type})


@HOSTILE
@given(
    key=st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(lambda c: c not in "/?#%"),
        min_size=1,
        max_size=40,
    ),
    visitor=VISITORS,
)
def test_any_form_key(endpoint: Endpoint, key: str, visitor: dict[str, object]) -> None:
    check(endpoint, _json(visitor), {"Content-Type": "application/json"}, key=key)
