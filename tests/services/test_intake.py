"""Lead capture rules: form keys, where a lead came from, the honeypot and the repeat-request rule."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from peewee import Database

from crm_tui.data.db import open_database
from crm_tui.data.models import Interaction, Lead, Task
from crm_tui.services import intake, leads, pipelines, tasks, users
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from tests.conftest import NOW, Counts, Desk


@pytest.fixture
def form(desk: Desk) -> intake.FormView:
    return intake.add_form(
        "Landing: CRM",
        by=desk.admin_id,
        now=NOW,
        owner_id=desk.manager_id,
        default_source="site",
        allowed_origins=["https://Shop.Example/", "http://localhost:8080"],
    )


def visitor(**extra: str) -> dict[str, str]:
    return {"name": "Ольга Кузнецова", "phone": "8 (926) 111-22-33", **extra}


def test_a_form_key_routes_its_leads_to_the_owner(desk: Desk, form: intake.FormView) -> None:
    assert form.owner_login == desk.manager_login
    assert form.allowed_origins == ["https://shop.example", "http://localhost:8080"]
    assert len(form.key) >= 16
    result = intake.capture(form.key, visitor(), now=NOW)
    lead = leads.get(result.lead_id or 0)
    assert (result.status, lead.owner_login, lead.utm_source) == ("created", "anna", "site")
    assert lead.phone == "+79261112233"
    first_call = [t for t in tasks.open_for(lead_id=lead.id) if t.kind == "first_call"]
    assert [(t.title, t.due_at, t.assignee_login) for t in first_call] == [
        ("Call Ольга Кузнецова", NOW + timedelta(hours=1), "anna")
    ]


def test_forms_are_listed_and_a_revoked_key_is_refused(desk: Desk, form: intake.FormView) -> None:
    other = intake.add_form("Second", by=desk.admin_id, now=NOW)
    assert [f.name for f in intake.list_forms()] == ["Landing: CRM", "Second"]
    assert other.owner_id == desk.admin_id  # the creator by default
    intake.revoke_form("Second", by=desk.admin_id, now=NOW)
    assert [f.name for f in intake.list_forms()] == ["Landing: CRM"]
    assert [f.active for f in intake.list_forms(include_revoked=True)] == [True, False]
    with pytest.raises(intake.FormRevoked):
        intake.capture(other.key, visitor(), now=NOW)
    with pytest.raises(NotFound):
        intake.capture("no-such-key", visitor(), now=NOW)
    with pytest.raises(RuleViolation, match="already revoked"):
        intake.revoke_form(other.key, by=desk.admin_id, now=NOW)


def test_bad_form_settings_are_refused(desk: Desk, form: intake.FormView) -> None:
    with pytest.raises(InvalidInput) as error:
        intake.add_form("X", by=desk.admin_id, now=NOW, allowed_origins=["shop.example/page"])
    assert "allowed_origin" in error.value.fields
    with pytest.raises(InvalidInput, match="page address"):
        intake.add_form("X", by=desk.admin_id, now=NOW, redirect_url="javascript:alert(1)")
    with pytest.raises(InvalidInput, match="already exists"):
        intake.add_form("Landing: CRM", by=desk.admin_id, now=NOW)
    with pytest.raises(InvalidInput, match="needs a name"):
        intake.add_form("  ", by=desk.admin_id, now=NOW)


def test_hidden_fields_are_stored_on_the_lead(desk: Desk, form: intake.FormView) -> None:
    fields = visitor(
        email="Olga@Example.RU",
        company="ООО Берёзка",
        comment="Нужна CRM на 5 менеджеров",
        utm_source="yandex",
        utm_medium="cpc",
        utm_campaign="crm-spring",
        utm_term="crm для отдела продаж",
        utm_content="ad-2",
        referrer="https://yandex.ru/search/?text=crm",
        page_url="https://shop.example/crm",
    )
    lead = leads.get(intake.capture(form, fields, now=NOW).lead_id or 0)
    assert (lead.email, lead.company_name, lead.comment) == (
        "olga@example.ru",
        "ООО Берёзка",
        "Нужна CRM на 5 менеджеров",
    )
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign, lead.utm_term, lead.utm_content) == (
        "yandex",
        "cpc",
        "crm-spring",
        "crm для отдела продаж",
        "ad-2",
    )
    assert (lead.referrer, lead.landing_page) == (
        "https://yandex.ru/search/?text=crm",
        "https://shop.example/crm",
    )


@pytest.mark.parametrize(
    ("fields", "http_referer", "expected"),
    [
        # what Yandex Direct appends to the landing URL, carried by the page address
        (
            {"page_url": "https://shop.example/?utm_source=yandex&utm_medium=cpc&utm_term=%D1%81rm&yclid=77"},
            "",
            ("yandex", "cpc", "сrm"),
        ),
        # no page_url field: the page that posted the form (the Referer header)
        (
            {},
            "https://shop.example/crm?utm_source=google&utm_medium=cpc&utm_term=crm+tool",
            ("google", "cpc", "crm tool"),
        ),
        # a single-page site keeps them after the #
        (
            {"page_url": "https://shop.example/#/crm?utm_source=vk&utm_medium=social"},
            "",
            ("vk", "social", ""),
        ),
        # a Google Ads click with auto-tagging only
        ({"page_url": "https://shop.example/?gclid=Cj0KCQ"}, "", ("google", "cpc", "")),
        ({"page_url": "https://shop.example/?yclid=123456"}, "", ("yandex", "cpc", "")),
        # an untagged visit from a search engine
        ({"referrer": "https://www.google.ru/"}, "", ("google", "organic", "")),
        ({"referrer": "https://ya.ru/search/?text=crm"}, "", ("yandex", "organic", "")),
        # the tags in the referrer's address
        (
            {"referrer": "https://partner.example/?utm_source=partner&utm_medium=referral"},
            "",
            ("partner", "referral", ""),
        ),
        # explicit fields win over the address
        (
            {"utm_source": "email", "page_url": "https://shop.example/?utm_source=yandex&utm_term=x"},
            "",
            ("email", "", "x"),
        ),
        # nothing at all: the form's default source
        ({"referrer": "https://news.example/article"}, "", ("site", "", "")),
    ],
)
def test_where_the_lead_came_from(
    form: intake.FormView, fields: dict[str, str], http_referer: str, expected: tuple[str, str, str]
) -> None:
    found = intake.origin_of(fields, http_referer=http_referer, default_source=form.default_source)
    assert (found["utm_source"], found["utm_medium"], found["utm_term"]) == expected


def test_strings_are_stored_as_given_and_what_the_page_filled_in_is_capped(
    desk: Desk, form: intake.FormView
) -> None:
    fields = visitor(
        name="<script>alert('x')</script> [bold]Олег[/bold]",
        comment="<b>" + "я" * 4997,
        utm_campaign="c" * 5000,
        utm_source="ya\u202endex\x07",
        page_url="https://shop.example/" + "p" * 5000,
    )
    lead = leads.get(intake.capture(form, fields, now=NOW).lead_id or 0)
    assert lead.name == "<script>alert('x')</script> [bold]Олег[/bold]"
    assert lead.comment.startswith("<b>яяя") and len(lead.comment) == 5000
    assert len(lead.utm_campaign) == 200  # the column's size, on any database
    assert lead.utm_source == "yandex"  # control characters the page put there are dropped
    assert len(lead.landing_page) == 2000


def test_what_the_visitor_typed_is_refused_when_too_long_never_cut(
    desk: Desk, form: intake.FormView, counts: Counts
) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as error:
        intake.capture(form, visitor(comment="я" * 5001), now=NOW)
    assert error.value.message == "Comment is 5001 characters; at most 5000"
    assert (error.value.code, error.value.params["max"]) == ("text.too_long", 5000)
    with pytest.raises(InvalidInput, match="control character"):
        intake.capture(form, visitor(name="Олег\x1b[31m"), now=NOW)
    assert counts() == before


def test_invalid_fields_are_named_and_nothing_is_written(
    desk: Desk, form: intake.FormView, counts: Counts
) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as error:
        intake.capture(form, {"name": " ", "phone": "12", "email": "not-an-email"}, now=NOW)
    assert set(error.value.fields) == {"name", "phone", "email"}
    assert counts() == before


def test_a_filled_honeypot_is_accepted_and_not_stored(
    desk: Desk, form: intake.FormView, counts: Counts
) -> None:
    before = counts()
    result = intake.capture(form, visitor(website="http://spam.example"), now=NOW)
    assert (result.status, result.lead_id) == ("spam", None)
    assert counts() == before


def test_the_same_phone_within_a_day_is_a_repeat_request(
    desk: Desk, form: intake.FormView, counts: Counts
) -> None:
    first = intake.capture(form, visitor(), now=NOW)
    before = counts()
    later = NOW + timedelta(hours=23, minutes=59)
    again = intake.capture(
        form,
        {
            "name": "Ольга",
            "phone": "+7 926 111-22-33",
            "comment": "Жду звонка!",
            "page_url": "https://x.example/?utm_source=vk",
        },
        now=later,
    )
    assert (again.status, again.lead_id) == ("repeat", first.lead_id)
    after = counts()
    assert after["lead"] == before["lead"]
    assert after["interaction"] == before["interaction"] + 1
    assert after["task"] == before["task"] + 1
    lead = leads.get(first.lead_id or 0)
    assert lead.repeat_count == 1
    item = Interaction.get(Interaction.lead == lead.id)
    assert (item.kind, item.subject, item.at) == ("repeat_request", "Repeat request from Ольга", later)
    assert "Жду звонка!" in item.summary and json.loads(item.data)["utm_source"] == "vk"
    task = Task.get(Task.kind == "repeat_request")
    assert (task.title, task.due_at, task.assignee_id, task.lead_id) == (
        "Repeat request from Ольга",
        later,
        desk.manager_id,
        lead.id,
    )
    # the owner is reminded of it: it is due now
    assert [r.title for r in tasks.due_reminders(later, claim=False) if r.task_id == task.id] == [
        "Repeat request from Ольга"
    ]


def test_the_same_phone_after_a_day_is_a_new_lead(desk: Desk, form: intake.FormView) -> None:
    first = intake.capture(form, visitor(), now=NOW)
    second = intake.capture(form, visitor(), now=NOW + timedelta(hours=24, seconds=1))
    assert second.status == "created" and second.lead_id != first.lead_id
    assert Lead.select().where(Lead.phone == "+79261112233").count() == 2


def test_a_repeat_goes_to_the_most_recent_lead_of_that_phone(desk: Desk, form: intake.FormView) -> None:
    intake.capture(form, visitor(), now=NOW)
    newer = intake.capture(form, visitor(), now=NOW + timedelta(hours=30))
    again = intake.capture(form, visitor(), now=NOW + timedelta(hours=31))
    assert (again.status, again.lead_id) == ("repeat", newer.lead_id)


def test_the_repeat_rule_covers_leads_typed_in_by_hand(desk: Desk, form: intake.FormView) -> None:
    # the desk fixture registered Иван Смирнов, 8 (916) 123-45-67, at NOW
    result = intake.capture(form, {"name": "Иван", "phone": "+79161234567"}, now=NOW + timedelta(hours=2))
    assert (result.status, result.lead_id) == ("repeat", desk.new_lead_id)


def test_the_migration_creates_the_form_table(db: Database) -> None:
    assert "intake_form" in db.get_tables()


def test_racing_submissions_on_separate_connections_make_one_lead(desk: Desk, form: intake.FormView) -> None:
    """Two processes' worth of writers (one connection per thread) posting one phone at once."""
    from crm_tui.data.db import database

    database.close()
    results: list[str] = []
    start = threading.Barrier(6)

    def submit() -> None:
        with database.connection_context():
            start.wait()
            results.append(intake.capture(form, visitor(), now=NOW).status)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["created"] + ["repeat"] * 5
    with database.connection_context():
        assert Lead.select().where(Lead.phone == "+79261112233").count() == 1
        assert Lead.get(Lead.phone == "+79261112233").repeat_count == 5


PG_URL = os.environ.get("CRM_TEST_PG_URL", "")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated desk on SQLite and on PostgreSQL (``CRM_TEST_PG_URL``); yields its URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.db'}"
        drop: Callable[[], None] = lambda: None  # noqa: E731
    else:
        if not PG_URL:
            pytest.skip("CRM_TEST_PG_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
        import psycopg2
        from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT

        name = f"crm_intake_{uuid.uuid4().hex[:10]}"
        admin = psycopg2.connect(PG_URL)
        admin.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        url = f"{PG_URL.rpartition('/')[0]}/{name}"

        def drop() -> None:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.close()

    opened = open_database(url)
    with opened.connection_context():
        users.ensure_default(NOW)
        pipelines.ensure_default()
    try:
        yield url
    finally:
        if not opened.is_closed():
            opened.close()
        drop()


def test_capture_and_the_repeat_race_on_each_backend(any_backend: str) -> None:
    from crm_tui.data.db import database

    with database.connection_context():
        admin = users.by_login("admin")
        form = intake.add_form("Landing", by=admin.id, now=NOW, default_source="site")
        first = intake.capture(form.key, visitor(page_url="https://x.example/?utm_source=yandex"), now=NOW)
        assert leads.get(first.lead_id or 0).utm_source == "yandex"
    results: list[str] = []
    start = threading.Barrier(4)

    def submit() -> None:
        with database.connection_context():
            start.wait()
            results.append(intake.capture(form, {"name": "Пётр", "phone": "+79035550011"}, now=NOW).status)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["created", "repeat", "repeat", "repeat"]
    with database.connection_context():
        assert Lead.select().count() == 2
        assert Lead.get(Lead.phone == "+79035550011").repeat_count == 3
        later = intake.capture(form, visitor(), now=NOW + timedelta(hours=1))
        assert (later.status, later.lead_id) == ("repeat", first.lead_id)
        assert Task.select().where(Task.kind == "repeat_request").count() == 4
