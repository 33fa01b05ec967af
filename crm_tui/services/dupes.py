"""Likely duplicates, and merging two contacts (or two companies) into one.

Finding them never compares every pair: SQL brings together the records that share a phone, an e-mail
(an INN for companies) or a company, and only those are compared by name (rapidfuzz). A name is compared
folded (``Ё`` as ``Е``, any case), word order aside, and an initial matches a whole word
(``Иванов И.`` and ``Иван Иванов``). Company names are compared without their legal form and quotes
(``ООО «Луч»`` and ``Луч, ООО``).

A merge is one transaction: every deal, interaction, task and lead of OTHER moves to KEEP, its phones,
e-mails and tags are added to KEEP's, a field both have and that differs is a conflict where KEEP's value
wins unless the field is taken from OTHER, and OTHER is archived pointing at KEEP (``merged_into``). KEEP's
history records the merge as an event (code ``contact.merged``) with what moved.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from peewee import fn
from rapidfuzz import fuzz, process

from crm_tui.data import search as index
from crm_tui.data.db import database, is_postgres
from crm_tui.data.models import Company, Contact, ContactChannel, Deal, Interaction, Lead, Task, User
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation

KINDS = ("contact", "company", "lead")
NAME_THRESHOLD = 85  # a name similarity (0..100) at least this, within the same company, is a candidate
MERGE_EVENT = "contact.merged"
MERGED_INTO_EVENT = "contact.merged_into"
COMPANY_MERGE_EVENT = "company.merged"
CONTACT_FIELDS = ("name", "company", "birthday", "owner")
COMPANY_FIELDS = ("name", "inn", "kpp", "phone", "email", "address", "website", "owner")

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LEGAL_FORMS = frozenset(
    "ооо оао зао пао ао ип нко ано тоо чп llc ltd inc gmbh co corp company компания".split()
)


# --- names ----------------------------------------------------------------------------------------------


def name_words(name: str | None) -> list[str]:
    """``"Иванов И.И."`` -> ``["иванов", "и", "и"]``: folded (``ё`` as ``е``), punctuation dropped."""
    return _WORD.findall(index.fold(name))


def company_key(name: str | None) -> str:
    """``"ООО «Луч»"``, ``"Луч, ООО"`` and ``"луч"`` share the key ``"луч"``."""
    words = [w for w in name_words(name) if w not in _LEGAL_FORMS]
    return " ".join(sorted(words))


def _initials_match(short: list[str], full: list[str]) -> bool:
    """Each whole word of ``short`` is a word of ``full`` (nearly), and each initial starts another."""
    rest = list(full)
    words = [w for w in short if len(w) > 1]
    initials = [w for w in short if len(w) == 1]
    if not words or not initials:
        return False
    for word in words:
        best = max(rest, key=lambda r: fuzz.ratio(word, r), default=None)
        if best is None or fuzz.ratio(word, best) < NAME_THRESHOLD:
            return False
        rest.remove(best)
    for initial in initials:
        found = next((r for r in rest if r.startswith(initial)), None)
        if found is None:
            return False
        rest.remove(found)
    return True


def name_similarity(a: str | None, b: str | None) -> int:
    """0..100: ``Пётр Сидоров`` / ``Сидоров Петр`` 100, ``Иванов И.`` / ``Иван Иванов`` 92."""
    return _words_similarity(name_words(a), name_words(b))


def _words_similarity(wa: list[str], wb: list[str]) -> int:
    if not wa or not wb:
        return 0
    score = fuzz.token_sort_ratio(" ".join(wa), " ".join(wb))
    initials = any(len(w) == 1 for w in wa) or any(len(w) == 1 for w in wb)
    if initials and (_initials_match(wa, wb) or _initials_match(wb, wa)):
        score = max(score, 92)
    return round(score)


# --- finding --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DupeMember:
    id: int
    name: str
    company: str | None
    phones: list[str]
    emails: list[str]
    created_at: datetime | None


@dataclass(frozen=True)
class DupeGroup:
    """Records that are likely one: ``score`` 0..100 (the strongest pair), ``reasons`` as stable keys
    (``phone:+79161234567``, ``email:a@b.ru``, ``inn:7707083893``, ``name:92``)."""

    kind: str
    score: int
    members: list[DupeMember]
    reasons: list[str] = field(default_factory=list)


class _Pairs:
    """Candidate pairs with their best score and reasons; groups are their connected parts."""

    def __init__(self) -> None:
        self.score: dict[tuple[int, int], int] = {}
        self.reasons: dict[tuple[int, int], list[str]] = defaultdict(list)

    def add(self, a: int, b: int, score: int, reason: str) -> None:
        key = (min(a, b), max(a, b))
        self.score[key] = max(self.score.get(key, 0), score)
        if reason not in self.reasons[key]:
            self.reasons[key].append(reason)

    def groups(self) -> list[tuple[list[int], int, list[str]]]:
        parent: dict[int, int] = {}

        def root(x: int) -> int:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in self.score:
            parent[root(a)] = root(b)
        members: dict[int, set[int]] = defaultdict(set)
        pairs: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for key in self.score:
            top = root(key[0])
            members[top].update(key)
            pairs[top].append(key)
        out = []
        for top, ids in members.items():
            reasons: list[str] = []
            for k in pairs[top]:
                reasons += [r for r in self.reasons[k] if r not in reasons]
            out.append((sorted(ids), max(self.score[k] for k in pairs[top]), reasons))
        out.sort(key=lambda g: (-g[1], g[0][0]))
        return out


def _shared(rows: list[tuple[Any, ...]]) -> dict[Any, list[int]]:
    """``[(value, id), ...]`` -> ``{value: [ids]}`` for values held by two or more records."""
    by_value: dict[Any, list[int]] = defaultdict(list)
    for value, record_id in rows:
        if record_id not in by_value[value]:
            by_value[value].append(int(record_id))
    return {v: ids for v, ids in by_value.items() if len(ids) > 1}


def _channel_pairs(pairs: _Pairs, shared: dict[Any, list[int]], label: str, names: dict[int, str]) -> None:
    """Sharing a phone or an e-mail: 80, up to 100 as the names agree too."""
    for value, ids in shared.items():
        for a, b in combinations(ids, 2):
            similarity = name_similarity(names.get(a), names.get(b))
            pairs.add(a, b, 80 + similarity // 5, f"{label}:{value}")


def _name_pairs(pairs: _Pairs, block: list[tuple[int, str]]) -> None:
    """Within one block (one company), names at least :data:`NAME_THRESHOLD` alike: rapidfuzz compares
    each name with the block's others in C; a name with an initial is also matched word by word."""
    if len(block) < 2:
        return
    ids = [record_id for record_id, _ in block]
    words = [name_words(name) for _, name in block]
    joined = [" ".join(w) for w in words]
    found: dict[tuple[int, int], int] = {}
    for i, text in enumerate(joined[:-1]):
        if not text:
            continue
        for _, score, j in process.extract(
            text, joined[i + 1 :], scorer=fuzz.token_sort_ratio, score_cutoff=NAME_THRESHOLD, limit=None
        ):
            found[(i, i + 1 + j)] = round(score)
    with_initials = [i for i, w in enumerate(words) if any(len(x) == 1 for x in w)]
    for i in with_initials:
        for j in range(len(words)):
            if i != j and (_initials_match(words[i], words[j]) or _initials_match(words[j], words[i])):
                key = (min(i, j), max(i, j))
                found[key] = max(found.get(key, 0), 92)
    for (i, j), similarity in found.items():
        pairs.add(ids[i], ids[j], similarity * 9 // 10, f"name:{similarity}")


def _raw(query: Any) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them: a whole-desk read skips the ORM's per-row work."""
    return list(database.execute_sql(*query.sql()).fetchall())


def _live_contacts() -> Any:
    return Contact.archived_at.is_null()


def contact_pairs(only: int | None = None) -> _Pairs:
    pairs = _Pairs()
    channels = (
        ContactChannel.select(ContactChannel.value, ContactChannel.contact)
        .join(Contact)
        .where(_live_contacts())
    )
    shared_values = (  # the value index alone answers it; archived holders are dropped by _shared
        ContactChannel.select(ContactChannel.value)
        .group_by(ContactChannel.value)
        .having(fn.COUNT(ContactChannel.id) > 1)
    )
    if only is not None:
        shared_values = shared_values.where(
            ContactChannel.value.in_(
                ContactChannel.select(ContactChannel.value).where(ContactChannel.contact == only)
            )
        )
    rows = list(
        channels.where(ContactChannel.value.in_(shared_values)).order_by(ContactChannel.contact).tuples()
    )
    shared = _shared(rows)
    ids = {i for group in shared.values() for i in group}
    names = (
        dict(Contact.select(Contact.id, Contact.name).where(Contact.id.in_(list(ids))).tuples())
        if ids
        else {}
    )
    for value, group in shared.items():
        _channel_pairs(pairs, {value: group}, "email" if "@" in value else "phone", names)
    companies = (
        Contact.select(Contact.company)
        .where(_live_contacts(), Contact.company.is_null(False))
        .group_by(Contact.company)
        .having(fn.COUNT(Contact.id) > 1)
    )
    if only is not None:
        companies = companies.where(
            Contact.company == Contact.select(Contact.company).where(Contact.id == only)
        )
    blocks: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for contact_id, name, company_id in _raw(
        Contact.select(Contact.id, Contact.name, Contact.company)
        .where(_live_contacts(), Contact.company.in_(companies))
        .order_by(Contact.id)
    ):
        blocks[company_id].append((contact_id, name))
    for block in blocks.values():
        _name_pairs(pairs, block)
    return pairs


def company_pairs() -> _Pairs:
    pairs = _Pairs()
    live = Company.archived_at.is_null()
    names = dict(Company.select(Company.id, Company.name).where(live).tuples())
    for column, label in ((Company.inn, "inn"), (Company.phone, "phone"), (Company.email, "email")):
        shared_values = (
            Company.select(column).where(live, column != "").group_by(column).having(fn.COUNT(Company.id) > 1)
        )
        rows = list(
            Company.select(column, Company.id)
            .where(live, column.in_(shared_values))
            .order_by(Company.id)
            .tuples()
        )
        _channel_pairs(pairs, _shared(rows), label, names)
    by_key: dict[str, list[int]] = defaultdict(list)
    for company_id, name in names.items():
        key = company_key(name)
        if key:
            by_key[key].append(company_id)
    for ids in by_key.values():
        for a, b in combinations(sorted(ids), 2):
            pairs.add(a, b, 90, "name:100")
    return pairs


def lead_pairs() -> _Pairs:
    """Leads sharing a phone or an e-mail (a repeat request within the window is already one lead)."""
    pairs = _Pairs()
    names: dict[int, str] = {}
    for column, label in ((Lead.phone, "phone"), (Lead.email, "email")):
        shared_values = (
            Lead.select(column)
            .where(column.is_null(False), column != "")
            .group_by(column)
            .having(fn.COUNT(Lead.id) > 1)
        )
        rows = list(
            Lead.select(column, Lead.id, Lead.name)
            .where(column.in_(shared_values))
            .order_by(Lead.id)
            .tuples()
        )
        names.update({lead_id: name for _, lead_id, name in rows})
        _channel_pairs(pairs, _shared([(v, i) for v, i, _ in rows]), label, names)
    return pairs


def _members(kind: str, ids: list[int]) -> list[DupeMember]:
    if kind == "contact":
        channels: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for contact_id, kind_, value in (
            ContactChannel.select(ContactChannel.contact, ContactChannel.kind, ContactChannel.value)
            .where(ContactChannel.contact.in_(ids))
            .order_by(ContactChannel.kind, ContactChannel.position)
            .tuples()
        ):
            channels[contact_id].append((kind_, value))
        rows = (
            Contact.select(Contact.id, Contact.name, Company.name.alias("company"), Contact.created_at)
            .left_outer_join(Company, on=Company.id == Contact.company)
            .where(Contact.id.in_(ids))
            .order_by(Contact.id)
            .dicts()
        )
        return [
            DupeMember(
                r["id"],
                r["name"],
                r["company"],
                [v for k, v in channels[r["id"]] if k == "phone"],
                [v for k, v in channels[r["id"]] if k == "email"],
                r["created_at"],
            )
            for r in rows
        ]
    if kind == "company":
        return [
            DupeMember(
                c.id, c.name, None, [c.phone] if c.phone else [], [c.email] if c.email else [], c.created_at
            )
            for c in Company.select().where(Company.id.in_(ids)).order_by(Company.id)
        ]
    return [
        DupeMember(
            lead.id,
            lead.name,
            lead.company_name or None,
            [lead.phone] if lead.phone else [],
            [lead.email] if lead.email else [],
            lead.created_at,
        )
        for lead in Lead.select().where(Lead.id.in_(ids)).order_by(Lead.id)
    ]


def _members_by_id(kind: str, ids: list[int]) -> dict[int, DupeMember]:
    """Every member at once, read in chunks (a query per group would cost more than finding them)."""
    found: dict[int, DupeMember] = {}
    for start in range(0, len(ids), 500):
        found.update({m.id: m for m in _members(kind, ids[start : start + 500])})
    return found


def groups(kind: str = "contact", *, limit: int | None = None) -> list[DupeGroup]:
    """Groups of likely duplicates among live records, strongest first."""
    if kind not in KINDS:
        raise InvalidInput(
            f"Unknown kind {kind!r}: contact, company or lead",
            {"kind": "contact, company or lead"},
            code="dupes.kind",
            params={"kind": kind},
        )
    pairs = {"contact": contact_pairs, "company": company_pairs, "lead": lead_pairs}[kind]()
    found = pairs.groups()
    if limit is not None:
        found = found[:limit]
    members = _members_by_id(kind, sorted({i for ids, _, _ in found for i in ids}))
    return [DupeGroup(kind, score, [members[i] for i in ids], reasons) for ids, score, reasons in found]


def of_contact(contact_id: int) -> list[tuple[DupeMember, int, list[str]]]:
    """The likely duplicates of one contact (the app's ``d``): ``(member, score, reasons)``, best first."""
    _contact(contact_id)
    pairs = contact_pairs(only=contact_id)
    found = [
        (b if a == contact_id else a, score, pairs.reasons[(a, b)])
        for (a, b), score in pairs.score.items()
        if contact_id in (a, b)
    ]
    found.sort(key=lambda f: (-f[1], f[0]))
    members = {m.id: m for m in _members("contact", [f[0] for f in found])} if found else {}
    return [(members[i], score, reasons) for i, score, reasons in found]


# --- merging --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """A field both records have, with different values; ``taken`` is ``keep`` or ``other``."""

    field: str
    keep: Any
    other: Any
    taken: str


@dataclass(frozen=True)
class MergeResult:
    kind: str
    keep_id: int
    keep_name: str
    other_id: int
    other_name: str
    moved: dict[str, int]
    conflicts: list[Conflict]
    filled: list[str]  # fields KEEP lacked and now has from OTHER
    added_phones: list[str] = field(default_factory=list)
    added_emails: list[str] = field(default_factory=list)
    added_tags: list[str] = field(default_factory=list)
    dry_run: bool = False


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def _contact(contact_id: int, *, lock: bool = False) -> Contact:
    query = Contact.select().where(Contact.id == contact_id)
    if lock and is_postgres():
        query = query.for_update()
    contact = query.get_or_none()
    if contact is None:
        raise NotFound(f"No contact #{contact_id}", code="contact.not_found", params={"id": contact_id})
    return contact


def _company(company_id: int, *, lock: bool = False) -> Company:
    query = Company.select().where(Company.id == company_id)
    if lock and is_postgres():
        query = query.for_update()
    company = query.get_or_none()
    if company is None:
        raise NotFound(f"No company #{company_id}", code="company.not_found", params={"id": company_id})
    return company


def _check_pair(
    kind: str, keep_id: int, other_id: int, take: tuple[str, ...], fields: tuple[str, ...]
) -> None:
    if keep_id == other_id:
        raise RuleViolation(
            f"Cannot merge {kind} #{keep_id} into itself",
            code=f"{kind}.merge_self",
            params={"id": keep_id},
        )
    for name in take:
        if name not in fields:
            raise InvalidInput(
                f"Cannot take {name!r}: a {kind} merge takes {', '.join(fields)}",
                {"take": "unknown field"},
                code="merge.field_unknown",
                params={"field": name, "fields": list(fields)},
            )


def _refuse_archived(kind: str, record: Contact | Company) -> None:
    if record.archived_at is not None:
        merged = getattr(record, "merged_into", None)
        why = f" (merged into #{merged})" if merged else ""
        raise RuleViolation(
            f"{kind.capitalize()} #{record.id} {record.name} is archived{why}; restore it to merge it",
            code=f"{kind}.archived",
            params={"id": record.id, "name": record.name, "merged_into": merged},
        )


def _lock_two(getter: Any, keep_id: int, other_id: int) -> tuple[Any, Any]:
    """Both rows, locked in id order (two merges of the same pair wait, never deadlock)."""
    first, second = sorted((keep_id, other_id))
    rows = {first: getter(first, lock=True), second: getter(second, lock=True)}
    return rows[keep_id], rows[other_id]


def _resolve(
    name: str,
    keep_value: Any,
    other_value: Any,
    take: tuple[str, ...],
    conflicts: list[Conflict],
    filled: list[str],
) -> Any:
    """The value KEEP ends with: its own, unless empty (then OTHER's) or taken from OTHER."""
    if other_value in (None, ""):
        return keep_value
    if keep_value in (None, ""):
        filled.append(name)
        return other_value
    if keep_value == other_value:
        return keep_value
    taken = "other" if name in take else "keep"
    conflicts.append(Conflict(name, keep_value, other_value, taken))
    return other_value if taken == "other" else keep_value


def _user_login(user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = User.get_or_none(User.id == user_id)
    return user.login if user else None


def merge_contacts(
    keep_id: int,
    other_id: int,
    *,
    take: tuple[str, ...] = (),
    by: int | None,
    now: datetime,
    dry_run: bool = False,
) -> MergeResult:
    """Move everything of contact OTHER to KEEP and archive OTHER pointing at KEEP; all or nothing.

    ``dry_run`` does the whole merge and rolls it back: the result says what would happen.
    """
    from crm_tui.services import contacts

    _check_pair("contact", keep_id, other_id, take, CONTACT_FIELDS)
    result: MergeResult | None = None
    try:
        with database.atomic():
            keep, other = _lock_two(_contact, keep_id, other_id)
            _refuse_archived("contact", keep)
            _refuse_archived("contact", other)
            conflicts: list[Conflict] = []
            filled: list[str] = []
            keep_company = keep.company.name if keep.company_id else None
            other_company = other.company.name if other.company_id else None
            company_name = _resolve("company", keep_company, other_company, take, conflicts, filled)
            if company_name == other_company and other.company_id:
                keep.company = other.company_id
            keep.name = _resolve("name", keep.name, other.name, take, conflicts, filled)
            keep.birthday = _resolve("birthday", keep.birthday, other.birthday, take, conflicts, filled)
            owner = _resolve(
                "owner", _user_login(keep.owner_id), _user_login(other.owner_id), take, conflicts, filled
            )
            if owner == _user_login(other.owner_id) and other.owner_id is not None:
                keep.owner = other.owner_id
            keep_tags = index.split_tags(keep.tags)
            added_tags = [t for t in index.split_tags(other.tags) if t not in keep_tags]
            keep.tags = ",".join(keep_tags + added_tags)[:500]
            moved = {
                "deals": Deal.update(contact=keep_id).where(Deal.contact == other_id).execute(),
                "interactions": Interaction.update(contact=keep_id)
                .where(Interaction.contact == other_id)
                .execute(),
                "tasks": Task.update(contact=keep_id).where(Task.contact == other_id).execute(),
                "leads": Lead.update(contact=keep_id).where(Lead.contact == other_id).execute(),
            }
            Contact.update(duplicate_of=keep_id).where(Contact.duplicate_of == other_id).execute()
            Contact.update(merged_into=keep_id).where(Contact.merged_into == other_id).execute()
            added = _unite_channels(keep_id, other_id)
            if keep.duplicate_of == other_id:
                keep.duplicate_of = None
            keep.save()
            other.archived_at = now
            other.merged_into = keep_id
            other.save()
            data = {
                "code": MERGE_EVENT,
                "other": other_id,
                "other_name": other.name,
                "moved": moved,
                "conflicts": [{"field": c.field, "taken": c.taken} for c in conflicts],
                "filled": filled,
            }
            Interaction.create(
                kind="merge",
                by=by,
                at=now,
                contact=keep_id,
                subject=f"Merged contact #{other_id} {other.name}"[:300],
                data=json.dumps(data, ensure_ascii=False, default=str),
            )
            Interaction.create(
                kind="merge",
                by=by,
                at=now,
                contact=other_id,
                subject=f"Merged into contact #{keep_id} {keep.name}"[:300],
                data=json.dumps({"code": MERGED_INTO_EVENT, "into": keep_id}),
            )
            index.remove("contact", other_id)
            contacts.reindex(keep_id)
            result = MergeResult(
                "contact",
                keep_id,
                keep.name,
                other_id,
                other.name,
                moved,
                conflicts,
                filled,
                added["phone"],
                added["email"],
                added_tags,
                dry_run,
            )
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert result is not None
    return result


def _unite_channels(keep_id: int, other_id: int) -> dict[str, list[str]]:
    """OTHER's phones and e-mails that KEEP lacks go to KEEP, after its own; OTHER keeps none."""
    mine = list(ContactChannel.select().where(ContactChannel.contact == keep_id))
    have = {(c.kind, c.value) for c in mine}
    next_position = {
        k: 1 + max((c.position for c in mine if c.kind == k), default=-1) for k in ("phone", "email")
    }
    added: dict[str, list[str]] = {"phone": [], "email": []}
    for channel in (
        ContactChannel.select().where(ContactChannel.contact == other_id).order_by(ContactChannel.position)
    ):
        if (channel.kind, channel.value) in have or channel.kind not in added:
            channel.delete_instance()
            continue
        have.add((channel.kind, channel.value))
        channel.contact = keep_id
        channel.position = next_position[channel.kind]
        next_position[channel.kind] += 1
        channel.save()
        added[channel.kind].append(channel.value)
    return added


def merge_companies(
    keep_id: int,
    other_id: int,
    *,
    take: tuple[str, ...] = (),
    by: int | None,
    now: datetime,
    dry_run: bool = False,
) -> MergeResult:
    """Move every contact and deal of company OTHER to KEEP and archive OTHER pointing at KEEP."""
    from crm_tui.services import companies

    _check_pair("company", keep_id, other_id, take, COMPANY_FIELDS)
    result: MergeResult | None = None
    try:
        with database.atomic():
            keep, other = _lock_two(_company, keep_id, other_id)
            _refuse_archived("company", keep)
            _refuse_archived("company", other)
            conflicts: list[Conflict] = []
            filled: list[str] = []
            for name in ("name", "inn", "kpp", "phone", "email", "address", "website"):
                setattr(
                    keep,
                    name,
                    _resolve(name, getattr(keep, name), getattr(other, name), take, conflicts, filled),
                )
            owner = _resolve(
                "owner", _user_login(keep.owner_id), _user_login(other.owner_id), take, conflicts, filled
            )
            if owner == _user_login(other.owner_id) and other.owner_id is not None:
                keep.owner = other.owner_id
            moved = {
                "contacts": Contact.update(company=keep_id).where(Contact.company == other_id).execute(),
                "deals": Deal.update(company=keep_id).where(Deal.company == other_id).execute(),
            }
            Company.update(merged_into=keep_id).where(Company.merged_into == other_id).execute()
            keep.save()
            other.archived_at = now
            other.merged_into = keep_id
            other.save()
            first_contact = (
                Contact.select(Contact.id).where(Contact.company == keep_id).order_by(Contact.id).scalar()
            )
            Interaction.create(  # the company has no history of its own: its first contact's has it
                kind="merge",
                by=by,
                at=now,
                contact=first_contact,
                subject=f"Company #{other_id} {other.name} merged into #{keep_id} {keep.name}"[:300],
                data=json.dumps(
                    {
                        "code": COMPANY_MERGE_EVENT,
                        "company": keep_id,
                        "other": other_id,
                        "other_name": other.name,
                        "moved": moved,
                        "conflicts": [{"field": c.field, "taken": c.taken} for c in conflicts],
                        "filled": filled,
                    },
                    ensure_ascii=False,
                ),
            )
            companies.reindex(other_id)
            companies.reindex(keep_id, with_people=True)
            result = MergeResult(
                "company", keep_id, keep.name, other_id, other.name, moved, conflicts, filled, dry_run=dry_run
            )
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert result is not None
    return result
