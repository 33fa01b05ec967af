"""``crm dupes`` on a big desk: how long finding the groups takes, against a floor measured in the same
run (reading every contact's id and name once, which any whole-desk pass costs).

    .venv/bin/python bench/bench_dupes.py --contacts 200000 [--db /tmp/crm-dupes.db] [--runs 5]

The desk is made once (bulk inserts, no index): ``--contacts`` contacts in companies of 1 to 40 people
(about a third without a company), each with a phone and an e-mail, 2% of them twins of another contact
(the same phone, the same e-mail, or the same name in another word order in the same company), and as
many leads, 2% sharing a phone. Medians of ``--runs`` runs, in seconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import datetime
from pathlib import Path

from crm_tui.data.db import database, open_database
from crm_tui.data.models import Company, Contact, ContactChannel, Lead
from crm_tui.services import dupes

FIRST = ["Иван", "Пётр", "Ольга", "Анна", "Сергей", "Мария", "Алексей", "Елена", "Дмитрий", "Наталья"]
LAST = ["Смирнов", "Иванов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозов"]
NOW = datetime(2026, 12, 1)


def build(path: Path, n: int) -> None:
    rng = random.Random(7)
    db = open_database(str(path))
    with db.connection_context(), database.atomic():
        if Contact.select().count() >= n:
            return
        companies = [{"name": f"ООО Компания {i}", "created_at": NOW} for i in range(n // 15)]
        for start in range(0, len(companies), 5000):
            Company.insert_many(companies[start : start + 5000]).execute()
        company_ids = [i for (i,) in Company.select(Company.id).tuples()]
        contacts, channels = [], []
        for i in range(1, n + 1):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {i:x}"
            company = rng.choice(company_ids) if rng.random() > 0.33 else None
            phone, email = f"+7916{i:07d}", f"user{i}@example.ru"
            if i > 10 and rng.random() < 0.02:  # a twin of an earlier contact
                twin = contacts[rng.randrange(len(contacts))]
                way = rng.randrange(3)
                if way == 0:
                    phone = channels[2 * (twin["id"] - 1)]["value"]
                elif way == 1:
                    email = channels[2 * (twin["id"] - 1) + 1]["value"]
                else:
                    name, company = " ".join(reversed(twin["name"].split())), twin["company"]
            contacts.append({"id": i, "name": name, "company": company, "created_at": NOW, "tags": ""})
            channels.append({"contact": i, "kind": "phone", "value": phone, "position": 0})
            channels.append({"contact": i, "kind": "email", "value": email, "position": 0})
        for start in range(0, n, 5000):
            Contact.insert_many(contacts[start : start + 5000]).execute()
        for start in range(0, len(channels), 5000):
            ContactChannel.insert_many(channels[start : start + 5000]).execute()
        leads = [
            {
                "name": f"Лид {i}",
                "phone": f"+7903{(i if rng.random() > 0.02 else rng.randrange(1, i + 1)):07d}",
                "created_at": NOW,
            }
            for i in range(1, n + 1)
        ]
        for start in range(0, n, 5000):
            Lead.insert_many(leads[start : start + 5000]).execute()
    db.close()


def timed(call: object, runs: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = call()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="/tmp/crm-dupes.db")
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = Path(args.db)
    build(path, args.contacts)
    db = open_database(str(path))
    with db.connection_context():
        floor, _ = timed(lambda: Contact.select(Contact.id, Contact.name).tuples()[:], args.runs)
        print(f"floor (every contact's id and name): {floor:.2f} s")
        for kind in ("contact", "company", "lead"):
            took, found = timed(lambda kind=kind: dupes.groups(kind), args.runs)
            print(
                f"crm dupes --kind {kind}: {took:.2f} s, {len(found)} groups ({took / floor:.1f}x the floor)"
            )
        some = Contact.select(Contact.id).where(Contact.id == args.contacts // 2).scalar()
        took, _ = timed(lambda: dupes.of_contact(some), args.runs * 4)
        print(f"one contact's duplicates (the app's d): {took * 1000:.1f} ms")
    db.close()


if __name__ == "__main__":
    main()
