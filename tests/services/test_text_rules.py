"""What a person types: too long is refused with the limit named, control characters and text direction
overrides are refused, on every service that stores text (so every face says the same)."""

from __future__ import annotations

import pytest

from crm_tui.services import contacts, deals, interactions, leads, pipelines, tasks, users
from crm_tui.services.errors import InvalidInput
from crm_tui.services.validation import optional_text, required_text
from tests.conftest import NOW, Counts, Desk


def test_a_long_name_is_refused_with_its_length_and_the_limit() -> None:
    with pytest.raises(InvalidInput) as caught:
        required_text("я" * 312, "name", "Name")
    assert caught.value.message == "Name is 312 characters; at most 300"
    assert caught.value.code == "text.too_long"
    assert caught.value.params == {"field": "name", "label": "Name", "length": 312, "max": 300}
    assert caught.value.fields == {"name": "at most 300 characters"}
    assert required_text("я" * 300, "name", "Name") == "я" * 300


@pytest.mark.parametrize(
    ("typed", "code", "char"),
    [
        ("Иван\x00", "text.control", "U+0000"),
        ("Иван\x1b[31m", "text.control", "U+001B"),
        ("Иван\tСмирнов", "text.control", "U+0009"),
        ("Иван\nСмирнов", "text.control", "U+000A"),
        ("Ив\x85ан", "text.control", "U+0085"),
        ("Иван\x7f", "text.control", "U+007F"),
        ("Иван\u2028Смирнов", "text.control", "U+2028"),
        ("\u202eвонмиС", "text.bidi", "U+202E"),
        ("Иван\u2066x", "text.bidi", "U+2066"),
        ("Иван\udcff", "text.encoding", "U+DCFF"),
    ],
)
def test_a_single_line_field_refuses_controls_and_direction_overrides(
    typed: str, code: str, char: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        required_text(typed, "name", "Name")
    assert (caught.value.code, caught.value.params["char"]) == (code, char)
    assert char in caught.value.message and caught.value.message.startswith("Name ")


def test_a_multi_line_field_keeps_newlines_and_tabs_and_takes_cr_lf_as_a_newline() -> None:
    assert optional_text("раз\r\nдва\rтри\tчетыре", "comment", "Comment", 50, multiline=True) == (
        "раз\nдва\nтри\tчетыре"
    )
    with pytest.raises(InvalidInput, match="U\\+0007"):
        optional_text("раз\x07", "comment", "Comment", multiline=True)
    with pytest.raises(InvalidInput, match="U\\+202D"):
        optional_text("раз\n\u202d", "comment", "Comment", multiline=True)
    assert optional_text("   ", "comment", "Comment") == ""


def test_every_service_that_stores_text_refuses_it_and_writes_nothing(desk: Desk, counts: Counts) -> None:
    before = counts()
    refusals = [
        lambda: leads.register(
            leads.NewLead("Иван", "8 916 123-45-67", comment="x" * 5001), by=desk.admin_id, now=NOW
        ),
        lambda: leads.register(
            leads.NewLead("Иван", "8 916 123-45-67", company_name="ООО\u202e"), by=desk.admin_id, now=NOW
        ),
        lambda: leads.register(
            leads.NewLead("Иван", "8 916 123-45-67", utm_source="s" * 201), by=desk.admin_id, now=NOW
        ),
        lambda: leads.disqualify(desk.new_lead_id, "r" * 501, by=desk.admin_id, now=NOW),
        lambda: deals.create("Сделка\x1b", contact_id=None, by=desk.admin_id, now=NOW),
        lambda: deals.move(desk.deal_id, "Lost", reason="r" * 501, by=desk.admin_id, now=NOW),
        lambda: tasks.create("t" * 301, NOW, by=desk.admin_id, now=NOW),
        lambda: contacts.create(contacts.ContactEdit(name="Анна\x00"), by=desk.admin_id, now=NOW),
        lambda: interactions.log(
            "note", by=desk.admin_id, now=NOW, lead_id=desk.new_lead_id, summary="x" * 20001
        ),
        lambda: pipelines.add_stage(pipelines.default_pipeline_id(), "s" * 101, after_position=0),
        lambda: pipelines.rename_stage(pipelines.stages()[0].id, "Этап\u2069"),
        lambda: users.create("bob\x07", "Bob", now=NOW),
    ]
    for refuse in refusals:
        with pytest.raises(InvalidInput) as caught:
            refuse()
        assert caught.value.code in ("text.too_long", "text.control", "text.bidi"), caught.value
    assert counts() == before


def test_every_bad_lead_field_is_named_at_once_with_each_code(desk: Desk, counts: Counts) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        leads.register(leads.NewLead("я" * 301, "12", comment="\x07"), by=desk.admin_id, now=NOW)
    assert set(caught.value.fields) == {"name", "phone", "comment"}
    assert caught.value.code == "fields.invalid"
    assert [e["code"] for e in caught.value.params["errors"]] == [
        "text.too_long",
        "phone.invalid",
        "text.control",
    ]
    assert counts() == before
