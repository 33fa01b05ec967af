"""Mail send and fetch rates against local servers, each as a ratio to a floor measured in the same run.

    .venv/bin/python bench/bench_mail.py [--messages 200] [--runs 3]

Starts aiosmtpd (STARTTLS + AUTH, a self-signed certificate that crm verifies) and, when Debian's
dovecot-imapd is installed, a private dovecot on a loopback port; a fresh SQLite desk with one contact.

- send floor: bare ``smtplib`` sends the same composed message the way one ``crm mail send`` does:
  connect, STARTTLS, AUTH, one message, QUIT;
- send crm: ``mail.compose`` (template rendered in the sandbox) + ``mail.send`` (outbox row, the same
  SMTP conversation, ``email_out`` logged on the card), per message;
- fetch floor: bare ``imaplib``: login, select, ``UID FETCH`` of every message in batches of 50;
- fetch crm: ``mail_fetch.fetch`` over the same number of new messages (parsing, matching the sender,
  ``email_in`` + a task + the Message-ID per message, each in its own transaction).

Prints messages/s (the median of ``--runs``) and crm's rate as a share of the floor's.
"""

from __future__ import annotations

import argparse
import imaplib
import logging
import os
import smtplib
import ssl
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.mail_servers import (  # noqa: E402
    dovecot,
    make_cert,
    point_desk_at,
    start_imap,
    start_smtp,
    stop_imap,
)


def send_floor(port: int, message: EmailMessage, n: int) -> float:
    context = ssl.create_default_context()
    started = time.perf_counter()
    for _ in range(n):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.starttls(context=context)
            client.login("desk", "secret")
            client.sendmail("sales@example.org", ["petr@vector.ru"], message.as_bytes())
    return n / (time.perf_counter() - started)


def send_crm(contact_id: int, n: int, by: int) -> float:
    from crm_tui.services import mail
    from crm_tui.services.clock import utcnow

    started = time.perf_counter()
    for _ in range(n):
        draft = mail.compose(template="proposal", contact_id=contact_id, by=by)
        result = mail.send(draft, by=by, now=utcnow())
        assert result.sent, result.error
    return n / (time.perf_counter() - started)


def letter(i: int, tag: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Пётр Сидоров <petr@vector.ru>"
    message["To"] = "sales@example.org"
    message["Subject"] = f"Re: Коммерческое предложение {i}"
    message["Message-ID"] = f"<{tag}-{i}@vector.ru>"
    message.set_content("Согласны, выставляйте счёт.\n" * 20)
    return message.as_bytes()


def fetch_floor(port: int, n: int) -> tuple[int, float]:
    started = time.perf_counter()
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login("desk", "secret")
    client.select("INBOX", readonly=True)
    _typ, found = client.uid("SEARCH", None, "ALL")
    uids = found[0].split()[-n:]  # the newest n: those crm fetches next
    got = 0
    for start in range(0, len(uids), 50):
        _typ, parts = client.uid("FETCH", b",".join(uids[start : start + 50]).decode(), "(UID BODY.PEEK[])")
        got += sum(1 for p in parts if isinstance(p, tuple))
    client.logout()
    return got, got / (time.perf_counter() - started)


def fetch_crm(by: int) -> tuple[int, float]:
    from crm_tui.services import mail_fetch
    from crm_tui.services.clock import utcnow

    started = time.perf_counter()
    report = mail_fetch.fetch(now=utcnow(), by=by)
    return len(report.messages), len(report.messages) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n = args.messages
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's own deprecation note per login

    from crm_tui.data.db import open_database
    from crm_tui.data.models import Contact, ContactChannel
    from crm_tui.services import pipelines, users
    from crm_tui.services.clock import utcnow

    work = Path(tempfile.mkdtemp(prefix="crm-bench-mail-"))
    cert, key = make_cert(work)
    os.environ["SSL_CERT_FILE"] = str(cert)
    os.environ["CRM_SMTP_PASSWORD"] = os.environ["CRM_IMAP_PASSWORD"] = "secret"
    smtp = start_smtp(cert, key)
    binary = dovecot()
    imap = start_imap(binary) if binary else None
    db = open_database(str(work / "crm.db"))
    db.connect(reuse_if_open=True)
    users.ensure_default(utcnow())
    pipelines.ensure_default()
    by = users.by_login("admin").id
    contact = Contact.create(name="Пётр Сидоров", created_at=utcnow())
    ContactChannel.create(contact=contact.id, kind="email", value="petr@vector.ru")
    point_desk_at(smtp.port, imap[0].port if imap else None)

    from crm_tui.services import mail

    sample = mail.build_message(mail.compose(template="proposal", contact_id=contact.id, by=by), now=utcnow())
    rows: list[tuple[str, float]] = []
    floors = [send_floor(smtp.port, sample, n) for _ in range(args.runs)]
    crms = [send_crm(contact.id, n, by) for _ in range(args.runs)]
    rows += [("send floor (smtplib)", statistics.median(floors)), ("send crm", statistics.median(crms))]
    if imap is not None:
        server, _process = imap
        floor_rates, crm_rates = [], []
        for run in range(args.runs):
            for i in range(n):
                server.deliver(letter(i, f"run{run}"))
            if run == 0:
                time.sleep(0.2)
            got, rate = fetch_floor(server.port, n)
            assert got == n, got
            floor_rates.append(rate)
            fetched, crm_rate = fetch_crm(by)
            assert fetched == n, fetched
            crm_rates.append(crm_rate)
        rows += [
            ("fetch floor (imaplib)", statistics.median(floor_rates)),
            ("fetch crm", statistics.median(crm_rates)),
        ]
    smtp.stop()
    if imap is not None:
        stop_imap(*imap)
    db.close()

    print(f"{n} messages, median of {args.runs} runs")
    print(f"{'what':24} {'msg/s':>9} {'vs floor':>9}")
    floor = 0.0
    for name, rate in rows:
        if "floor" in name:
            floor = rate
            print(f"{name:24} {rate:9.1f} {'1.00':>9}")
        else:
            print(f"{name:24} {rate:9.1f} {rate / floor:9.2f}")
    if imap is None:
        print("fetch: skipped (dovecot is not installed: apt-get install dovecot-imapd)")


if __name__ == "__main__":
    main()
