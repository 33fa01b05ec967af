"""What a running reminder loop (``crm remind``, the app) does for the mail: send the outbox's messages
that are due, and fetch new mail every :data:`FETCH_EVERY`. Only a mailbox that is set up is touched, and
a failure is reported, never fatal to the loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crm_tui.services.errors import CrmError

FETCH_EVERY = timedelta(minutes=5)


@dataclass
class MailRound:
    sent: list[int] = field(default_factory=list)  # outbox ids sent now
    not_sent: list[str] = field(default_factory=list)  # "#3: error (code=...)"
    fetched: int = 0
    problems: list[str] = field(default_factory=list)  # one line each, for stderr or a toast

    def lines(self) -> list[str]:
        out = []
        if self.sent:
            out.append(f"mail: sent {len(self.sent)} from the outbox")
        out += [f"mail: not sent {line}" for line in self.not_sent]
        if self.fetched:
            out.append(f"mail: fetched {self.fetched} new message(s)")
        out += [f"mail: {p}" for p in self.problems]
        return out


def run(*, now: datetime, by: int | None, fetch: bool) -> MailRound:
    from crm_tui.services import mail, mail_fetch, settings

    done = MailRound()
    if settings.value("mail.smtp.host"):
        try:
            report = mail.retry(now=now)
            done.sent = report.sent
            done.not_sent = [f"#{f.outbox_id}: {f.error} (code={f.error_code})" for f in report.failed]
        except CrmError as error:
            done.problems.append(f"{error.message} (code={error.code})")
    if fetch and settings.value("mail.imap.host"):
        try:
            done.fetched = len(mail_fetch.fetch(now=now, by=by).messages)
        except CrmError as error:
            done.problems.append(f"{error.message} (code={error.code})")
    return done
