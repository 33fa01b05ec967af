"""Schema version 12 on a desk written before it: the new columns of contacts and companies, and the search
index built again (``ё`` as ``е``, a lead's comment and keyword, a contact's tags). SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_tui.data import migrations
from crm_tui.data import search as index
from crm_tui.data.db import connect_url, database
from crm_tui.data.models import Company, Contact
from crm_tui.services import contacts, leads, pipelines, search, users
from tests.conftest import NOW

NEW_COLUMNS = {
    "company": ("inn", "kpp", "phone", "email", "address", "website", "archived_at"),
    "contact": ("archived_at", "duplicate_of"),
}


def _upgrade_a_desk_from_before_12(url: str) -> None:
    db = connect_url(url)
    database.initialize(db)
    with db.connection_context():
        before = [m.version for m in migrations.all_migrations() if m.version < 12]
        assert migrations.upgrade(db, target=11) == before
        users.ensure_default(NOW)
        pipelines.ensure_default()
        lead = leads.register(
            leads.NewLead(
                "Пётр Ёжиков", "+7 916 500-00-01", company_name="ООО Ёлка", comment="нужна телефония",
                utm_term="crm для отдела продаж",
            ),
            by=None, now=NOW,
        )  # fmt: skip
        converted = leads.convert(lead.id, by=None, now=NOW, qualify_first=True)
        contacts.change(converted.contact_id, contacts.ContactChange(add_tags=("партнёр",)), by=None, now=NOW)
        # as the older version left it: its index entries folded only the case, and no new columns
        database.execute_sql(f"DELETE FROM {index.TABLE}")
        for kind, rid, body in (
            ("lead", lead.id, "пётр ёжиков ооо ёлка 79165000001"),
            ("contact", converted.contact_id, "пётр ёжиков ооо ёлка 79165000001"),
        ):
            index.upsert(kind, rid, body)
        database.execute_sql("DROP INDEX company_inn")
        for table, columns in NEW_COLUMNS.items():
            for column in columns:
                database.execute_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        assert search.search("петр") == []

        assert migrations.upgrade(db) == [m.version for m in migrations.all_migrations() if m.version >= 12]
        for table, columns in NEW_COLUMNS.items():
            have = {c.name for c in db.get_columns(table)}
            assert set(columns) <= have, (table, set(columns) - have)
        assert "company_inn" in {i.name for i in db.get_indexes("company")}
        company = Company.get_by_id(converted.company_id)
        assert (company.inn, company.archived_at) == ("", None)
        assert Contact.get_by_id(converted.contact_id).archived_at is None
        found = {(h.kind, h.id) for h in search.search("петр ежиков")}
        assert found == {("lead", lead.id), ("contact", converted.contact_id)}
        assert [(h.kind, h.id) for h in search.search("телефония")] == [("lead", lead.id)]
        assert [(h.kind, h.id) for h in search.search("отдела продаж")] == [("lead", lead.id)]
        assert [(h.kind, h.id) for h in search.search("партнер")] == [("contact", converted.contact_id)]
        assert ("company", converted.company_id) in {(h.kind, h.id) for h in search.search("елка")}
    db.close()


def test_step_12_upgrades_an_older_sqlite_desk(tmp_path: Path) -> None:
    _upgrade_a_desk_from_before_12(f"sqlite:///{tmp_path / 'crm.db'}")


@pytest.mark.postgres
def test_step_12_upgrades_an_older_postgresql_desk(pg_url: str) -> None:
    _upgrade_a_desk_from_before_12(pg_url)
