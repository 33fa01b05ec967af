"""The kinds of record a file can bring: contacts, companies, leads (see :mod:`crm_tui.services.imports`).

Rows are checked with the services' own rules (``validation.normalize_phone`` and ``normalize_email``,
``contacts.parse_birthday``, ``companies`` INN/KPP checks, ``leads.validate``). Two fast paths keep
100,000 rows within seconds, and give the same answer as the full check:

- a phone written plainly the Russian way (``+7``/``8``/``7`` and 10 digits, with spaces, dashes or
  brackets) is read directly; whether its range is a valid one is asked of phonenumbers once per
  first five digits and remembered;
- a plain ASCII e-mail (``ivan.petrov@mail.ru``) is checked by a strict pattern; anything else goes to
  email-validator.

New contacts are written in bulk (one ``executemany`` per chunk for the rows, their phones and e-mails,
the search index and the import items), not row by row.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, ClassVar

from peewee import fn

from crm_tui.data import search as index
from crm_tui.data.db import database, is_postgres
from crm_tui.data.import_models import ImportItem
from crm_tui.data.models import Company, Contact, ContactChannel, Deal, Interaction, Lead, StageHistory, Task
from crm_tui.services import companies, contacts, leads
from crm_tui.services.errors import CrmError, InvalidInput
from crm_tui.services.imports import (
    Context,
    ImportKind,
    Problem,
    Row,
    RowInvalid,
    digest,
    register_kind,
)
from crm_tui.services.validation import normalize_email, normalize_phone, optional_text, required_text

# --- fast, equivalent checks ----------------------------------------------------------------------------

_PLAIN_RU = re.compile(r"(?:\+7|8|7)[\s()\-]*(\d[\s()\-]*){10}")
_RU_RANGE_VALID: dict[str, bool] = {}


def phone(raw: str) -> str:
    """``normalize_phone``, quicker for a plainly Russian number."""
    text = raw.strip()
    if _PLAIN_RU.fullmatch(text):
        digits = re.sub(r"\D", "", text)
        national = digits[1:] if len(digits) == 11 else ""
        if len(national) == 10:
            known = _RU_RANGE_VALID.get(national[:5])
            if known:
                return "+7" + national
            if known is None:
                result = normalize_phone(text)  # raises for a range that is not valid
                _RU_RANGE_VALID[national[:5]] = result == "+7" + national
                return result
    return normalize_phone(text)


_PLAIN_EMAIL = re.compile(
    r"[a-z0-9](?:[a-z0-9_%+\-]|\.(?!\.))*(?<!\.)@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
)
_SPECIAL_TLD = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test", "internal", "home"})


def email(raw: str) -> str:
    """``normalize_email``, quicker for a plain ASCII address."""
    text = raw.strip().lower()
    if (
        len(text) <= 254
        and _PLAIN_EMAIL.fullmatch(text)
        and len(text.partition("@")[0]) <= 64
        and text.rsplit(".", 1)[1] not in _SPECIAL_TLD
    ):
        return text
    return normalize_email(raw) or ""


def _text(value: str, field: str, label: str, most: int = 300, *, required: bool = False) -> str:
    """``required_text``/``optional_text``; a short printable value (no control, separator or direction
    character can be in it) skips the character-by-character scan and gives the same answer."""
    text = value.strip()
    if text and len(text) <= most and text.isprintable():
        return text
    if required:
        return required_text(value, field, label, most)
    return optional_text(value, field, label, most)


_SEPARATORS = re.compile(r"[;,\n]|:::")


def _split(text: str) -> list[str]:
    """Several values in one cell: ``;``, ``,``, a line break, or Google's `` ::: ``."""
    if not text:
        return []
    return [p.strip() for p in _SEPARATORS.split(text) if p.strip()]


def _problems(error: InvalidInput, default: str) -> list[Problem]:
    names = list(error.fields) or [default]
    codes = error.params.get("fields") if isinstance(error.params.get("fields"), dict) else None
    if codes and len(names) > 1:
        return [Problem(n, str(codes.get(n, error.code)), f"{n}: {error.fields[n]}") for n in names]
    return [Problem(names[0], error.code, error.message)]


def _ids_where(model: Any, column: Any, values: list[Any]) -> Any:
    return model.select().where(column.in_(values))


def _chunked(values: list[Any], size: int = 500) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _insert(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> list[int]:
    """Insert rows in bulk and return their ids, in order.

    SQLite: the transaction already holds the write lock (the batch row was written first), so the ids
    are given from ``max(id) + 1`` and the rows go through one ``executemany``. PostgreSQL: multi-row
    ``INSERT ... RETURNING id``, so the sequences stay right.
    """
    if not rows:
        return []
    if is_postgres():
        ids: list[int] = []
        cursor = database.cursor()
        marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for part in _chunked(rows, 1000):
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                + ", ".join([marks] * len(part))
                + " RETURNING id"
            )
            cursor.execute(sql, [v for r in part for v in r])
            ids.extend(int(r[0]) for r in cursor.fetchall())
        return ids
    start = int(database.execute_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]) + 1
    ids = list(range(start, start + len(rows)))
    marks = ", ".join(["?"] * (len(columns) + 1))
    database.cursor().executemany(
        f"INSERT INTO {table} (id, {', '.join(columns)}) VALUES ({marks})",
        [(i, *r) for i, r in zip(ids, rows, strict=True)],
    )
    return ids


def _raw_in(sql: str, values: list[Any], size: int = 500) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (with one ``IN ({})``) for ``values``, asked ``size`` at a time (plain SQL: building
    a query of 500 values through the ORM costs more than running it)."""
    p = "%s" if is_postgres() else "?"
    found: list[tuple[Any, ...]] = []
    for part in _chunked(values, size):
        found.extend(database.execute_sql(sql.format(", ".join([p] * len(part))), part).fetchall())
    return found


def _remove_index(kind: str, ids: list[int]) -> None:
    p = "%s" if is_postgres() else "?"
    database.cursor().executemany(
        f"DELETE FROM {index.TABLE} WHERE rowid = {p}", [(index.rowid_of(kind, i),) for i in ids]
    )


# --- contacts -------------------------------------------------------------------------------------------


def contact_states(ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each contact's fields and channels as an import records them (for the digest and a restore)."""
    states: dict[int, dict[str, Any]] = {}
    for part in _chunked(ids):
        for c in Contact.select().where(Contact.id.in_(part)):
            states[c.id] = {
                "name": c.name,
                "company_id": c.company_id,
                "owner_id": c.owner_id,
                "birthday": c.birthday.isoformat() if c.birthday else None,
                "tags": c.tags,
                "archived": c.archived_at is not None,
                "phones": [],
                "emails": [],
            }
        channels = (
            ContactChannel.select(ContactChannel.contact, ContactChannel.kind, ContactChannel.value)
            .where(ContactChannel.contact.in_(part))
            .order_by(ContactChannel.contact, ContactChannel.kind, ContactChannel.position, ContactChannel.id)
            .tuples()
        )
        for contact_id, kind, value in channels:
            if contact_id in states:
                states[contact_id]["phones" if kind == "phone" else "emails"].append(value)
    return states


def _has_history(table_model: Any, column: Any, ids: list[int]) -> set[int]:
    found: set[int] = set()
    for part in _chunked(ids):
        found.update(
            int(r) for (r,) in table_model.select(column).where(column.in_(part)).distinct().tuples()
        )
    return found


class Contacts(ImportKind):
    name = "contacts"
    table = "contact"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "name": (
            "фио",
            "ф и о",
            "полное имя",
            "имя фамилия",
            "фамилия имя",
            "фамилия имя отчество",
            "контакт",
            "контактное лицо",
            "клиент",
            "full name",
            "display name",
            "fn",
            "contact",
            "contact name",
        ),
        "first_name": ("имя", "first name", "firstname", "given name", "given"),
        "middle_name": ("отчество", "middle name", "additional name", "patronymic"),
        "last_name": ("фамилия", "last name", "lastname", "surname", "family name"),
        "phone": (
            "телефон",
            "тел",
            "телефоны",
            "моб телефон",
            "моб",
            "мобильный",
            "мобильный телефон",
            "сотовый",
            "сотовый телефон",
            "рабочий телефон",
            "домашний телефон",
            "телефон мобильный",
            "телефон рабочий",
            "phone",
            "phones",
            "tel",
            "telephone",
            "mobile",
            "mobile phone",
            "cell",
            "cell phone",
            "work phone",
            "home phone",
            "business phone",
            "primary phone",
            "phone number",
        ),
        "email": (
            "e mail",
            "email",
            "почта",
            "эл почта",
            "электронная почта",
            "адрес электронной почты",
            "e mail address",
            "email address",
            "emails",
            "mail",
        ),
        "company": (
            "компания",
            "организация",
            "фирма",
            "место работы",
            "company",
            "organization",
            "organisation",
            "org",
            "company name",
        ),
        "inn": ("инн", "инн компании", "inn", "tax id"),
        "birthday": (
            "дата рождения",
            "день рождения",
            "др",
            "birthday",
            "birth date",
            "date of birth",
            "dob",
            "bday",
        ),
        "tags": ("теги", "тэги", "метки", "категории", "группы", "tags", "labels", "categories", "groups"),
        "owner": ("ответственный", "менеджер", "owner", "manager", "responsible", "assigned to"),
    }
    patterns = (
        (r"(?:phone|телефон) ?\d+(?: value)?", "phone"),
        (r"e ?mail ?\d+(?: value)?", "email"),
        (r"organization ?\d+ name", "company"),
        (r"group membership", "tags"),
    )
    multi = frozenset({"phone", "email", "tags"})
    required = (("name", "first_name", "last_name"), ("phone", "email"))

    def check(self, values: dict[str, str], ctx: Context) -> dict[str, Any]:
        problems: list[Problem] = []
        clean: dict[str, Any] = {}
        name = values.get("name", "")
        if not name:
            parts = [values.get("first_name", ""), values.get("middle_name", ""), values.get("last_name", "")]
            if values.get("middle_name"):  # Russian order: Фамилия Имя Отчество
                parts = [parts[2], parts[0], parts[1]]
            name = " ".join(p for p in parts if p)
        try:
            clean["name"] = _text(name, "name", "Name", required=True)
        except InvalidInput as error:
            problems += _problems(error, "name")
        phones: list[str] = []
        for raw in _split(values.get("phone", "")):
            try:
                phones.append(phone(raw))
            except InvalidInput as error:
                problems += _problems(error, "phone")
        emails: list[str] = []
        for raw in _split(values.get("email", "")):
            try:
                emails.append(email(raw))
            except InvalidInput as error:
                problems += _problems(error, "email")
        if not problems and not phones and not emails:
            problems.append(
                Problem("phone", "contact.channel_required", "A contact needs a phone or an e-mail")
            )
        clean["phones"] = list(dict.fromkeys(phones))
        clean["emails"] = list(dict.fromkeys(e for e in emails if e))
        try:
            birthday = contacts.parse_birthday(values.get("birthday") or None, today=ctx.now.date())
            clean["birthday"] = birthday.isoformat() if birthday else None
        except InvalidInput as error:
            problems += _problems(error, "birthday")
        try:
            clean["company"] = _text(values.get("company", ""), "company", "Company")
        except InvalidInput as error:
            problems += _problems(error, "company")
        try:
            clean["inn"] = companies.normalize_inn(values.get("inn"))
        except InvalidInput as error:
            problems += _problems(error, "inn")
        clean["tags"] = list(dict.fromkeys(t.replace(",", " ")[:60] for t in _split(values.get("tags", ""))))
        try:
            clean["owner_id"] = ctx.owner_for(values.get("owner", ""))
        except RowInvalid as error:
            problems += error.problems
        if problems:
            raise RowInvalid(problems)
        return clean

    def plan(self, rows: list[Row], ctx: Context) -> None:
        values = list({v for r in rows for v in (*r.clean["phones"], *r.clean["emails"])})
        owners: dict[str, int] = {}
        for value, contact_id in _raw_in(
            "SELECT value, contact_id FROM contact_channel WHERE value IN ({}) ORDER BY contact_id", values
        ):
            owners.setdefault(value, int(contact_id))
        matched = sorted(
            {owners[v] for r in rows for v in (*r.clean["phones"], *r.clean["emails"]) if v in owners}
        )
        states = contact_states(matched) if ctx.options.update else {}
        names = (
            dict(Contact.select(Contact.id, Contact.name).where(Contact.id.in_(matched)).tuples())
            if matched
            else {}
        )
        for row in rows:
            keys = [*row.clean["phones"], *row.clean["emails"]]
            earlier = next(((k, ctx.seen[k]) for k in keys if k in ctx.seen), None)
            if earlier is not None:
                row.verdict, row.note = "duplicate", f"{earlier[0]} is on line {earlier[1]} too"
                continue
            for key in keys:
                ctx.seen[key] = row.line
            match = next(((k, owners[k]) for k in keys if k in owners), None)
            if match is None:
                row.verdict = "created"
                continue
            value, contact_id = match
            row.record_id = contact_id
            if not ctx.options.update:
                row.verdict = "duplicate"
                row.note = (
                    f"contact #{contact_id} {names.get(contact_id, '')} has {value} (--update updates it)"
                )
                continue
            before = states[contact_id]
            found = _find_company(row.clean["company"], row.clean["inn"])
            after = self._merged(before, row.clean, found if found is not None else "new")
            row.verdict = "updated" if after != before else "unchanged"
            if row.verdict == "updated":
                row.note = ", ".join(k.removesuffix("_id") for k in after if after[k] != before[k])

    @staticmethod
    def _merged(
        before: dict[str, Any], clean: dict[str, Any], company_id: int | str | None
    ) -> dict[str, Any]:
        """The contact as an update leaves it: given fields replace, phones, e-mails and tags are added;
        ``company_id`` is the row's company (``"new"`` for one the import creates)."""
        after = dict(before)
        after["name"] = clean["name"] or before["name"]
        after["phones"] = list(dict.fromkeys([*before["phones"], *clean["phones"]]))
        after["emails"] = list(dict.fromkeys([*before["emails"], *clean["emails"]]))
        if clean["birthday"]:
            after["birthday"] = clean["birthday"]
        tags = [t for t in before["tags"].split(",") if t]
        after["tags"] = ",".join(dict.fromkeys([*tags, *clean["tags"]]))
        if clean["company"] or clean["inn"]:
            after["company_id"] = company_id
        return after

    def write(self, rows: list[Row], ctx: Context) -> None:
        company_ids = self._companies(rows, ctx)
        created = [r for r in rows if r.verdict == "created"]
        records = []
        for r in created:
            company_id = company_ids.get((r.clean["company"], r.clean["inn"]))
            r.clean["company_id"] = company_id
            records.append(
                (
                    r.clean["name"],
                    company_id,
                    r.clean["owner_id"],
                    r.clean["birthday"],
                    ",".join(r.clean["tags"]),
                    ctx.now,
                )
            )
        ids = _insert(
            "contact", ["name", "company_id", "owner_id", "birthday", "tags", "created_at"], records
        )
        channels: list[tuple[Any, ...]] = []
        bodies: list[tuple[str, int, str]] = []
        company_names = self._company_names(company_ids)
        for row, contact_id in zip(created, ids, strict=True):
            row.record_id = contact_id
            c = row.clean
            channels += [(contact_id, "phone", p, i) for i, p in enumerate(c["phones"])]
            channels += [(contact_id, "email", e, i) for i, e in enumerate(c["emails"])]
            bodies.append(
                (
                    "contact",
                    contact_id,
                    index.contact_body(
                        c["name"], company_names.get(c["company_id"]), c["tags"], c["emails"], c["phones"]
                    ),
                )
            )
            state = {
                "name": c["name"],
                "company_id": c["company_id"],
                "owner_id": c["owner_id"],
                "birthday": c["birthday"],
                "tags": ",".join(c["tags"]),
                "archived": False,
                "phones": sorted(c["phones"], key=c["phones"].index),
                "emails": c["emails"],
            }
            ctx.items.append(("contact", contact_id, "created", None, digest(state)))
        p = "%s" if is_postgres() else "?"
        database.cursor().executemany(
            "INSERT INTO contact_channel (contact_id, kind, value, position, label) "
            f"VALUES ({p}, {p}, {p}, {p}, '')",
            channels,
        )
        index.upsert_many(bodies)
        for row in rows:
            if row.verdict == "updated":
                self._update(row, company_ids, ctx)

    def _companies(self, rows: list[Row], ctx: Context) -> dict[tuple[str, str], int | None]:
        """The company of each (name, INN) the rows give: found by INN, else by exact name, else created
        (and recorded in the batch)."""
        cache: dict[tuple[str, str], int | None] = ctx.cache.setdefault("companies", {})
        # with an INN first: a row naming the same company without one then finds it by name
        wanted = sorted(
            {(r.clean["company"], r.clean["inn"]) for r in rows} - set(cache), key=lambda p: (not p[1], p)
        )
        found = _find_companies(wanted)
        owner = ctx.options.owner_id if ctx.options.owner_id is not None else ctx.by
        made: dict[str, int] = ctx.cache.setdefault("companies_made", {})
        for name, inn in wanted:
            company_id = found.get((name, inn)) or (made.get(name) if name and not inn else None)
            if company_id is None and (name or inn):
                company_id = companies.create_named(name or f"INN {inn}", owner_id=owner, now=ctx.now)
                if inn:
                    Company.update(inn=inn).where(Company.id == company_id).execute()
                    companies.reindex(company_id)
                state = dict.fromkeys(_COMPANY_FIELDS, "") | {"archived": False}
                state |= {"name": (name or f"INN {inn}")[:300], "inn": inn, "owner_id": owner}
                ctx.items.append(("company", company_id, "created", None, digest(state)))
                made.setdefault(name, company_id)
            cache[(name, inn)] = company_id
        return cache

    @staticmethod
    def _company_names(ids: dict[tuple[str, str], int | None]) -> dict[int | None, str]:
        wanted = [i for i in ids.values() if i is not None]
        names: dict[int | None, str] = {}
        for part in _chunked(wanted):
            names.update(Company.select(Company.id, Company.name).where(Company.id.in_(part)).tuples())
        return names

    def _update(self, row: Row, company_ids: dict[tuple[str, str], int | None], ctx: Context) -> None:
        contact_id = int(row.record_id or 0)
        query = Contact.select().where(Contact.id == contact_id)
        if is_postgres():
            query = query.for_update()
        query.first()
        before = contact_states([contact_id])[contact_id]
        after = self._merged(before, row.clean, company_ids.get((row.clean["company"], row.clean["inn"])))
        _restore_contact(contact_id, after)
        contacts.reindex(contact_id)
        ctx.items.append(
            (
                "contact",
                contact_id,
                "updated",
                json.dumps(before, ensure_ascii=False),
                digest(contact_states([contact_id])[contact_id]),
            )
        )

    def changed_since(self, items: list[ImportItem]) -> list[str]:
        changed: list[str] = []
        by_table: dict[str, list[ImportItem]] = {}
        for item in items:
            by_table.setdefault(item.table_name, []).append(item)
        people = by_table.get("contact", [])
        states = contact_states([i.record_id for i in people])
        created = [i.record_id for i in people if i.action == "created"]
        busy = (
            _has_history(Deal, Deal.contact, created)
            | _has_history(Interaction, Interaction.contact, created)
            | _has_history(Task, Task.contact, created)
            | _has_history(Lead, Lead.contact, created)
        )
        for item in people:
            state = states.get(item.record_id)
            if state is None:
                if item.action == "updated":
                    changed.append(f"contact #{item.record_id} (deleted since)")
                continue
            if digest(state) != item.after:
                changed.append(f"contact #{item.record_id} {state['name']} (edited)")
            elif item.record_id in busy:
                changed.append(f"contact #{item.record_id} {state['name']} (has deals, calls or tasks)")
        mine = {i.record_id for i in people}
        for item in by_table.get("company", []):
            changed += _company_changed(item, mine)
        return changed

    def revert(self, items: list[ImportItem]) -> None:
        created = [i.record_id for i in items if i.table_name == "contact" and i.action == "created"]
        for part in _chunked(created):
            ContactChannel.delete().where(ContactChannel.contact.in_(part)).execute()
            Contact.delete().where(Contact.id.in_(part)).execute()
        _remove_index("contact", created)
        for item in items:
            if item.table_name == "contact" and item.action == "updated":
                before = json.loads(item.before or "{}")
                if Contact.get_or_none(Contact.id == item.record_id) is not None:
                    _restore_contact(item.record_id, before)
                    contacts.reindex(item.record_id)
        _revert_companies(items)


def _find_companies(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """:func:`_find_company` for many (name, INN) pairs in a few queries."""
    inns = sorted({inn for _, inn in pairs if inn})
    names = sorted({name for name, _ in pairs if name})
    by_inn: dict[str, int] = {}
    for company_id, inn in _raw_in("SELECT id, inn FROM company WHERE inn IN ({}) ORDER BY id", inns):
        by_inn.setdefault(inn, int(company_id))
    by_name: dict[str, int] = {}
    sql = "SELECT id, name FROM company WHERE name IN ({}) ORDER BY archived_at IS NOT NULL, id"
    for company_id, name in _raw_in(sql, names):
        by_name.setdefault(name, int(company_id))
    return {(n, i): (by_inn.get(i) if i else None) or by_name.get(n) if (n or i) else None for n, i in pairs}


def _find_company(name: str, inn: str) -> int | None:
    """The company a contact row names: by INN, else by exact name (a live one first)."""
    if not name and not inn:
        return None
    found = None
    if inn:
        found = Company.select(Company.id).where(Company.inn == inn).order_by(Company.id).scalar()
    if found is None and name:
        found = (
            Company.select(Company.id)
            .where(Company.name == name)
            .order_by(Company.archived_at.is_null(False), Company.id)
            .scalar()
        )
    return int(found) if found is not None else None


def _restore_contact(contact_id: int, state: dict[str, Any]) -> None:
    Contact.update(
        name=state["name"],
        company=state["company_id"],
        owner=state["owner_id"],
        birthday=state["birthday"],
        tags=state["tags"],
    ).where(Contact.id == contact_id).execute()
    ContactChannel.delete().where(ContactChannel.contact == contact_id).execute()
    rows = [
        {"contact": contact_id, "kind": "phone", "value": v, "position": i}
        for i, v in enumerate(state["phones"])
    ]
    rows += [
        {"contact": contact_id, "kind": "email", "value": v, "position": i}
        for i, v in enumerate(state["emails"])
    ]
    if rows:
        ContactChannel.insert_many(rows).execute()


# --- companies ------------------------------------------------------------------------------------------

_COMPANY_FIELDS = ("name", "inn", "kpp", "phone", "email", "address", "website", "owner_id")


def company_states(ids: list[int]) -> dict[int, dict[str, Any]]:
    states: dict[int, dict[str, Any]] = {}
    for part in _chunked(ids):
        for c in Company.select().where(Company.id.in_(part)):
            states[c.id] = {f: getattr(c, f) for f in _COMPANY_FIELDS} | {
                "archived": c.archived_at is not None
            }
    return states


def _company_changed(
    item: ImportItem, batch_contacts: set[int], batch_deals: frozenset[int] = frozenset()
) -> list[str]:
    state = company_states([item.record_id]).get(item.record_id)
    if state is None:
        return [f"company #{item.record_id} (deleted since)"] if item.action == "updated" else []
    if digest(state) != item.after:
        return [f"company #{item.record_id} {state['name']} (edited)"]
    if item.action == "created":
        others = [
            cid
            for (cid,) in Contact.select(Contact.id).where(Contact.company == item.record_id).tuples()
            if cid not in batch_contacts
        ]
        deals_there = {d for (d,) in Deal.select(Deal.id).where(Deal.company == item.record_id).tuples()}
        if others or deals_there - batch_deals:
            return [f"company #{item.record_id} {state['name']} (has other contacts or deals)"]
    return []


def _revert_companies(items: list[ImportItem]) -> None:
    created = [i.record_id for i in items if i.table_name == "company" and i.action == "created"]
    for part in _chunked(created):
        Contact.update(company=None).where(Contact.company.in_(part)).execute()
        Company.delete().where(Company.id.in_(part)).execute()
    _remove_index("company", created)
    for item in items:
        if item.table_name == "company" and item.action == "updated":
            before = json.loads(item.before or "{}")
            values = {f: before[f] for f in _COMPANY_FIELDS if f in before}
            values["owner"] = values.pop("owner_id", None)
            Company.update(**values).where(Company.id == item.record_id).execute()
            companies.reindex(item.record_id, with_people=True)


class Companies(ImportKind):
    name = "companies"
    table = "company"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "name": (
            "название",
            "наименование",
            "компания",
            "организация",
            "название компании",
            "наименование организации",
            "краткое наименование",
            "company",
            "company name",
            "organization",
            "organisation",
        ),
        "inn": ("инн", "inn", "tax id"),
        "kpp": ("кпп", "kpp"),
        "phone": ("телефон", "тел", "phone", "telephone", "tel"),
        "email": ("e mail", "email", "почта", "эл почта", "электронная почта", "mail"),
        "address": ("адрес", "юридический адрес", "фактический адрес", "address", "legal address"),
        "website": ("сайт", "веб сайт", "website", "web site", "web", "url", "site"),
        "owner": ("ответственный", "менеджер", "owner", "manager", "responsible"),
    }
    required = (("name",),)

    def check(self, values: dict[str, str], ctx: Context) -> dict[str, Any]:
        problems: list[Problem] = []
        owner_id = None
        try:
            owner_id = ctx.owner_for(values.get("owner", ""))
        except RowInvalid as error:
            problems += error.problems
        edit = companies.CompanyEdit(
            name=values.get("name", ""),
            inn=values.get("inn", ""),
            kpp=values.get("kpp", ""),
            phone=_split(values.get("phone", ""))[0] if values.get("phone") else "",
            email=_split(values.get("email", ""))[0] if values.get("email") else "",
            address=values.get("address", ""),
            website=values.get("website", ""),
        )
        clean: dict[str, Any] = {}
        try:
            clean = companies._clean(edit)  # noqa: SLF001 - the company form's own rules
        except InvalidInput as error:
            problems += _problems(error, "name")
        if problems:
            raise RowInvalid(problems)
        clean["owner_id"] = owner_id
        clean["_given"] = [f for f in _COMPANY_FIELDS if f != "owner_id" and values.get(f)]
        return clean

    def plan(self, rows: list[Row], ctx: Context) -> None:
        for row in rows:
            c = row.clean
            key = f"inn:{c['inn']}:{c['kpp']}" if c["inn"] else f"name:{c['name'].casefold()}"
            if key in ctx.seen:
                row.verdict, row.note = "duplicate", f"the same company is on line {ctx.seen[key]}"
                continue
            ctx.seen[key] = row.line
            query = Company.select().order_by(Company.archived_at.is_null(False), Company.id)
            if c["inn"]:
                same = query.where(Company.inn == c["inn"])
                found = same.where(Company.kpp.in_([c["kpp"], ""])).first() if c["kpp"] else same.first()
            else:
                found = query.where(fn.LOWER(Company.name) == c["name"].lower()).first()
                found = found or query.where(Company.name == c["name"]).first()
            if found is None:
                row.verdict = "created"
                continue
            row.record_id = found.id
            if not ctx.options.update:
                row.verdict = "duplicate"
                row.note = f"company #{found.id} {found.name} is already here (--update updates it)"
                continue
            before = company_states([found.id])[found.id]
            after = dict(before)
            for f in c["_given"]:
                after[f] = c[f]
            row.clean["_before"], row.clean["_after"] = before, after
            row.verdict = "updated" if after != before else "unchanged"
            row.note = ", ".join(f for f in c["_given"] if after[f] != before[f])

    def write(self, rows: list[Row], ctx: Context) -> None:
        for row in rows:
            c = row.clean
            if row.verdict == "created":
                company = Company.create(
                    **{f: c[f] for f in _COMPANY_FIELDS if f != "owner_id"},
                    owner=c["owner_id"],
                    created_at=ctx.now,
                )
                row.record_id = company.id
                companies.reindex(company.id)
                ctx.items.append(
                    ("company", company.id, "created", None, digest(company_states([company.id])[company.id]))
                )
            elif row.verdict == "updated":
                company_id = int(row.record_id or 0)
                query = Company.select().where(Company.id == company_id)
                if is_postgres():
                    query = query.for_update()
                query.first()
                before = company_states([company_id])[company_id]
                Company.update(**{f: c[f] for f in c["_given"]}).where(Company.id == company_id).execute()
                companies.reindex(company_id, with_people="name" in c["_given"])
                after = company_states([company_id])[company_id]
                ctx.items.append(
                    ("company", company_id, "updated", json.dumps(before, ensure_ascii=False), digest(after))
                )

    def changed_since(self, items: list[ImportItem]) -> list[str]:
        return [line for item in items for line in _company_changed(item, set())]

    def revert(self, items: list[ImportItem]) -> None:
        _revert_companies(items)


# --- leads ----------------------------------------------------------------------------------------------


class Leads(ImportKind):
    name = "leads"
    table = "lead"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "name": Contacts.fields["name"] + ("имя", "name", "first name"),
        "phone": Contacts.fields["phone"],
        "email": Contacts.fields["email"],
        "company_name": Contacts.fields["company"],
        "comment": (
            "комментарий",
            "примечание",
            "заметка",
            "описание",
            "comment",
            "note",
            "notes",
            "description",
        ),
        "utm_source": ("источник", "канал", "source", "utm source"),
        "utm_medium": ("utm medium", "medium"),
        "utm_campaign": ("кампания", "рекламная кампания", "utm campaign", "campaign"),
        "utm_term": ("ключевое слово", "utm term", "keyword", "term"),
        "utm_content": ("utm content",),
        "owner": Contacts.fields["owner"],
    }
    required = (("name",), ("phone",))

    def check(self, values: dict[str, str], ctx: Context) -> dict[str, Any]:
        problems: list[Problem] = []
        owner_id = None
        try:
            owner_id = ctx.owner_for(values.get("owner", ""))
        except RowInvalid as error:
            problems += error.problems
        raw_phone = (_split(values.get("phone", "")) or [""])[0]
        raw_email = (_split(values.get("email", "")) or [""])[0]
        new = leads.NewLead(
            name=values.get("name", ""),
            phone=raw_phone,
            email=raw_email or None,
            company_name=values.get("company_name", ""),
            comment=values.get("comment", ""),
            owner_id=owner_id,
            utm_source=values.get("utm_source", ""),
            utm_medium=values.get("utm_medium", ""),
            utm_campaign=values.get("utm_campaign", ""),
            utm_term=values.get("utm_term", ""),
            utm_content=values.get("utm_content", ""),
        )
        clean: dict[str, Any] = {}
        try:
            clean = leads.validate(new)
        except InvalidInput as error:
            errors = error.params.get("errors") if error.code == "fields.invalid" else None
            if errors:
                problems += [
                    Problem(name, str(e["code"]), msg)
                    for name, e, msg in zip(error.fields, errors, error.message.split("; "), strict=False)
                ]
            else:
                problems += _problems(error, "name")
        if problems:
            raise RowInvalid(problems)
        clean["owner_id"] = owner_id
        return clean

    def plan(self, rows: list[Row], ctx: Context) -> None:
        phones = list({r.clean["phone"] for r in rows})
        existing: dict[str, int] = {}
        for part in _chunked(phones):
            for lead_id, value in (
                Lead.select(Lead.id, Lead.phone).where(Lead.phone.in_(part)).order_by(Lead.id).tuples()
            ):
                existing.setdefault(value, int(lead_id))
        for row in rows:
            value = row.clean["phone"]
            if value in ctx.seen:
                row.verdict, row.note = "duplicate", f"{value} is on line {ctx.seen[value]} too"
                continue
            ctx.seen[value] = row.line
            if value in existing:
                row.verdict, row.record_id = "duplicate", existing[value]
                row.note = f"lead #{existing[value]} has {value}"
                continue
            row.verdict = "created"

    def write(self, rows: list[Row], ctx: Context) -> None:
        columns = ["name", "phone", "email", "company_name", "comment", "utm_source", "utm_medium"]
        columns += ["utm_campaign", "utm_term", "utm_content", "owner_id", "status", "created_at"]
        columns += ["referrer", "landing_page", "repeat_count"]
        records = [
            (
                *(r.clean.get(c) if c != "email" else (r.clean.get("email") or None) for c in columns[:11]),
                "new",
                ctx.now,
                "",
                "",
                0,
            )
            for r in rows
        ]
        ids = _insert("lead", columns, records)
        bodies = []
        for row, lead_id in zip(rows, ids, strict=True):
            row.record_id = lead_id
            c = row.clean
            bodies.append(
                (
                    "lead",
                    lead_id,
                    index.lead_body(
                        c["name"],
                        c["company_name"],
                        c.get("email"),
                        c["phone"],
                        c["comment"],
                        c["utm_term"],
                        c["utm_campaign"],
                    ),
                )
            )
            ctx.items.append(("lead", lead_id, "created", None, digest(_lead_state(c, "new"))))
            if ctx.options.call_tasks:
                Task.create(
                    title=f"Call {c['name']}",
                    due_at=ctx.now + leads.FIRST_CALL_DELAY,
                    next_remind_at=ctx.now + leads.FIRST_CALL_DELAY,
                    assignee=c["owner_id"],
                    created_by=ctx.by,
                    lead=lead_id,
                    kind="first_call",
                    created_at=ctx.now,
                )
        index.upsert_many(bodies)

    def changed_since(self, items: list[ImportItem]) -> list[str]:
        ids = [i.record_id for i in items]
        found = {}
        for part in _chunked(ids):
            for lead in Lead.select().where(Lead.id.in_(part)):
                found[lead.id] = lead
        busy = _has_history(Interaction, Interaction.lead, ids) | {
            int(r)
            for part in _chunked(ids)
            for (r,) in Task.select(Task.lead).where(Task.lead.in_(part), Task.kind != "first_call").tuples()
        }
        changed = []
        for item in items:
            lead = found.get(item.record_id)
            if lead is None:
                continue
            state = _lead_state(
                {c: getattr(lead, c) for c in _LEAD_STATE} | {"owner_id": lead.owner_id}, lead.status
            )
            if digest(state) != item.after or item.record_id in busy:
                changed.append(f"lead #{lead.id} {lead.name} ({lead.status})")
        return changed

    def revert(self, items: list[ImportItem]) -> None:
        ids = [i.record_id for i in items]
        for part in _chunked(ids):
            Task.delete().where(Task.lead.in_(part)).execute()
            Lead.delete().where(Lead.id.in_(part)).execute()
        _remove_index("lead", ids)


_LEAD_STATE = ("name", "phone", "email", "company_name", "comment", "utm_source", "utm_campaign", "utm_term")


def _lead_state(values: dict[str, Any], status: str) -> dict[str, Any]:
    return {c: values.get(c) or None for c in _LEAD_STATE} | {
        "owner_id": values.get("owner_id"),
        "status": status,
    }


# --- deals ----------------------------------------------------------------------------------------------

_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _date(text: str, field: str) -> str | None:
    """``2027-01-31`` or ``31.01.2027`` (an Excel date cell arrives as the first), ISO; ``None`` for none."""
    value = text.strip()
    if not value:
        return None
    dotted = _DOTTED.fullmatch(value)
    try:
        if dotted:
            return date(int(dotted[3]), int(dotted[2]), int(dotted[1])).isoformat()
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError as error:
        raise InvalidInput(
            f"Not a date: {value!r} (YYYY-MM-DD or DD.MM.YYYY)",
            {field: "not a date (YYYY-MM-DD)"},
            code="date.invalid",
            params={"value": value},
        ) from error


def _deal_state(deal: Deal) -> dict[str, Any]:
    return {
        "title": deal.title,
        "amount": deal.amount,
        "currency": deal.currency,
        "stage_id": deal.stage_id,
        "contact_id": deal.contact_id,
        "company_id": deal.company_id,
        "owner_id": deal.owner_id,
        "expected_close": deal.expected_close.isoformat() if deal.expected_close else None,
        "archived": deal.archived_at is not None,
    }


class Deals(ImportKind):
    """Deals at an open stage of the default pipeline, linked to the contact with the row's phone or
    e-mail (import the contacts first); a deal with the same title for the same contact is a duplicate.
    Deals are created one by one through ``deals.create`` (its stage history, totals and search entry)."""

    name = "deals"
    table = "deal"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "title": (
            "название",
            "название сделки",
            "сделка",
            "наименование",
            "title",
            "deal",
            "deal name",
            "name",
        ),
        "amount": (
            "сумма",
            "бюджет",
            "сумма сделки",
            "стоимость",
            "amount",
            "sum",
            "value",
            "budget",
            "price",
        ),
        "currency": ("валюта", "currency"),
        "stage": ("этап", "стадия", "этап сделки", "статус", "stage", "status"),
        "phone": Contacts.fields["phone"],
        "email": Contacts.fields["email"],
        "company": Contacts.fields["company"],
        "expected_close": (
            "дата закрытия",
            "ожидаемая дата закрытия",
            "план дата",
            "срок",
            "expected close",
            "close date",
            "expected close date",
        ),
        "owner": Contacts.fields["owner"],
    }
    patterns = Contacts.patterns
    multi = frozenset({"phone", "email"})
    required = (("title",),)

    def check(self, values: dict[str, str], ctx: Context) -> dict[str, Any]:
        from crm_tui.services import money, pipelines

        problems: list[Problem] = []
        clean: dict[str, Any] = {}

        def attempt(field_name: str, fn_: Any) -> None:
            try:
                clean[field_name] = fn_()
            except InvalidInput as error:
                problems.extend(_problems(error, field_name))
            except RowInvalid as error:
                problems.extend(error.problems)
            except CrmError as error:
                problems.append(Problem(field_name, error.code, error.message))

        attempt("title", lambda: _text(values.get("title", ""), "title", "Title", required=True))
        attempt("amount", lambda: money.parse_amount(values["amount"]) if values.get("amount") else 0)
        attempt(
            "currency", lambda: money.parse_currency(values["currency"]) if values.get("currency") else ""
        )
        attempt("expected_close", lambda: _date(values.get("expected_close", ""), "expected_close"))
        attempt("owner_id", lambda: ctx.owner_for(values.get("owner", "")))
        stages = ctx.cache.setdefault("stages", {})

        def stage() -> int | None:
            text = values.get("stage", "").strip()
            if not text:
                return None
            if text not in stages:
                found = pipelines.resolve_stage(pipelines.default_pipeline_id(), text)
                if found.kind != "open":
                    raise InvalidInput(
                        f"A deal is imported at an open stage, not {found.name!r}",
                        {"stage": "not an open stage"},
                        code="stage.closed",
                        params={"value": text},
                    )
                stages[text] = found.id
            return int(stages[text])

        attempt("stage_id", stage)
        attempt("phones", lambda: [phone(p) for p in _split(values.get("phone", ""))])
        attempt("emails", lambda: [email(e) for e in _split(values.get("email", ""))])
        attempt("company", lambda: _text(values.get("company", ""), "company", "Company"))
        if not problems:
            keys = [*clean["phones"], *clean["emails"]]
            found_rows = _raw_in("SELECT value, contact_id FROM contact_channel WHERE value IN ({})", keys)
            clean["contact_id"] = min((int(c) for _, c in found_rows), default=None)
            if keys and clean["contact_id"] is None:
                problems.append(
                    Problem(
                        "phone" if clean["phones"] else "email",
                        "contact.not_found",
                        f"No contact has {keys[0]}: import the contacts first",
                    )
                )
        if problems:
            raise RowInvalid(problems)
        return clean

    def plan(self, rows: list[Row], ctx: Context) -> None:
        for row in rows:
            c = row.clean
            key = f"deal:{c['title'].casefold()}:{c['contact_id']}"
            if key in ctx.seen:
                row.verdict, row.note = "duplicate", f"the same deal is on line {ctx.seen[key]}"
                continue
            ctx.seen[key] = row.line
            same = Deal.select(Deal.id).where(
                (fn.LOWER(Deal.title) == c["title"].lower()) | (Deal.title == c["title"]),
                Deal.archived_at.is_null(),
            )
            same = (
                same.where(Deal.contact == c["contact_id"])
                if c["contact_id"]
                else same.where(Deal.contact.is_null())
            )
            found = same.order_by(Deal.id).scalar()
            if found is not None:
                row.verdict, row.record_id = "duplicate", int(found)
                row.note = f"deal #{found} {c['title']} is already here"
                continue
            row.verdict = "created"

    def write(self, rows: list[Row], ctx: Context) -> None:
        from crm_tui.services import deals, settings

        currency = ctx.cache.get("currency")
        if currency is None:
            currency = ctx.cache["currency"] = _default_currency(settings)
        for row in rows:
            c = row.clean
            made = deals.create(
                c["title"],
                contact_id=c["contact_id"],
                amount=c["amount"],
                currency=c["currency"] or currency,
                owner_id=c["owner_id"],
                expected_close=date.fromisoformat(c["expected_close"]) if c["expected_close"] else None,
                stage=c["stage_id"] if c["stage_id"] is None else str(_stage_number(c["stage_id"])),
                by=ctx.by,
                now=ctx.now,
            )
            row.record_id = made.id
            if c["company"] and not c["contact_id"]:
                company_id = _find_company(c["company"], "")
                if company_id is None:
                    company_id = companies.create_named(c["company"], owner_id=c["owner_id"], now=ctx.now)
                    state = dict.fromkeys(_COMPANY_FIELDS, "") | {"archived": False}
                    state |= {"name": c["company"], "owner_id": c["owner_id"]}
                    ctx.items.append(("company", company_id, "created", None, digest(state)))
                Deal.update(company=company_id).where(Deal.id == made.id).execute()
                index.upsert("deal", made.id, index.deal_body(c["title"], c["company"]))
            deal = Deal.get_by_id(made.id)
            ctx.items.append(("deal", made.id, "created", None, digest(_deal_state(deal))))

    def changed_since(self, items: list[ImportItem]) -> list[str]:
        ids = [i.record_id for i in items if i.table_name == "deal"]
        moved = {
            int(d)
            for part in _chunked(ids)
            for d, n in StageHistory.select(StageHistory.deal, fn.COUNT(StageHistory.id))
            .where(StageHistory.deal.in_(part))
            .group_by(StageHistory.deal)
            .tuples()
            if n > 1
        }
        busy = _has_history(Interaction, Interaction.deal, ids) | _has_history(Task, Task.deal, ids) | moved
        changed = []
        for item in items:
            if item.table_name != "deal":
                changed += _company_changed(item, set(), frozenset(ids))
                continue
            deal = Deal.get_or_none(Deal.id == item.record_id)
            if deal is None:
                continue
            if digest(_deal_state(deal)) != item.after or deal.id in busy:
                changed.append(f"deal #{deal.id} {deal.title}")
        return changed

    def revert(self, items: list[ImportItem]) -> None:
        ids = [i.record_id for i in items if i.table_name == "deal"]
        for part in _chunked(ids):
            StageHistory.delete().where(StageHistory.deal.in_(part)).execute()
            Deal.delete().where(Deal.id.in_(part)).execute()
        _remove_index("deal", ids)
        _revert_companies(items)


def _stage_number(stage_id: int) -> int:
    from crm_tui.data.models import Stage

    return int(Stage.get_by_id(stage_id).position) + 1


def _default_currency(settings: Any) -> str:
    return str(settings.value("currency.default"))


register_kind(Contacts())
register_kind(Companies())
register_kind(Leads())
register_kind(Deals())
