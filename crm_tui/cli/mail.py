"""``crm mail ...``: send a client an e-mail from a template, see the outbox, fetch replies."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, id_option, session, table
from crm_tui.cli.lead import local

app = typer.Typer(no_args_is_help=True)


@app.command("send")
def send(
    contact: Annotated[int | None, id_option("--contact", "The contact to write to.")] = None,
    deal: Annotated[int | None, id_option("--deal", "The deal whose contact to write to.")] = None,
    template: Annotated[
        str | None, typer.Option("--template", help="proposal, invoice, act, follow-up, ...")
    ] = None,
    doc: Annotated[int | None, id_option("--doc", "Attach this document, rendered to PDF.")] = None,
    attach: Annotated[list[str] | None, typer.Option("--attach", help="Attach a file (repeatable).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Another address than the contact's.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="en or ru (default: the client's).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the message; send nothing.")] = False,
    retry: Annotated[bool, typer.Option("--retry", help="Send the outbox's messages that are due.")] = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a client an e-mail from a template, in their language; logged on the card as email_out."""
    from crm_tui.services import mail

    if retry:
        if contact is not None or deal is not None or template:
            raise fail("--retry sends the outbox; it takes no --contact, --deal or --template")
        _retry(db, user, as_json, force=False)
        return
    if not template:
        raise fail("say which template: --template NAME (crm template list)")
    if lang is not None and lang not in ("en", "ru"):
        raise fail(f"--lang must be en or ru, not {lang!r}")
    with session(db, user) as s:
        draft = mail.compose(
            template=template,
            contact_id=contact,
            deal_id=deal,
            to=to,
            lang=lang,
            doc_id=doc,
            files=tuple(attach or ()),
            by=s.user_id,
        )
        result = None if dry_run else mail.send(draft, by=s.user_id, now=s.now)
    if result is not None and not result.sent:
        raise fail(
            f"{result.error} (code={result.error_code}); the message is kept in the outbox as "
            f"#{result.outbox_id} and will be retried: crm mail outbox"
        )
    data: dict[str, Any] = {
        "sent": result is not None,
        "dry_run": dry_run,
        "to": draft.to,
        "from": draft.sender,
        "subject": draft.subject,
        "body": draft.body,
        "lang": draft.lang,
        "template": draft.template,
        "attachments": draft.attachment_names,
        "contact_id": draft.contact_id,
        "deal_id": draft.deal_id,
        "lead_id": draft.lead_id,
        "outbox_id": result.outbox_id if result else None,
        "interaction_id": result.interaction_id if result else None,
        "message_id": result.message_id if result else None,
    }

    def render(_data: Any) -> list[str]:
        head = "dry run, nothing sent:" if dry_run else f"sent to {draft.to} (outbox #{data['outbox_id']})"
        lines = [head, f"To: {draft.to}", f"Subject: {draft.subject}"]
        if draft.attachment_names:
            lines.append("Attachments: " + ", ".join(draft.attachment_names))
        return [*lines, "", *draft.body.rstrip("\n").split("\n")]

    emit(data, as_json, render)


def _retry(db: str | None, user: str | None, as_json: bool, *, force: bool) -> None:
    from crm_tui.services import mail

    with session(db, user) as s:
        report = mail.retry(now=s.now, force=force)
    data = {
        "sent": report.sent,
        "failed": [{"id": f.outbox_id, "error": f.error, "code": f.error_code} for f in report.failed],
    }

    def render(_data: Any) -> list[str]:
        if not report.sent and not report.failed:
            return ["nothing due in the outbox"]
        lines = [
            f"sent: {len(report.sent)}" + (f" (#{', #'.join(map(str, report.sent))})" if report.sent else "")
        ]
        lines += [f"not sent: #{f.outbox_id}: {f.error} (code={f.error_code})" for f in report.failed]
        return lines

    emit(data, as_json, render)
    if report.failed:
        raise typer.Exit(1)


@app.command("outbox")
def outbox(
    all_: Annotated[bool, typer.Option("--all", help="Sent messages too (the last 100).")] = False,
    retry: Annotated[bool, typer.Option("--retry", help="Send the messages that are due now.")] = False,
    force: Annotated[bool, typer.Option("--force", help="With --retry: every unsent one, now.")] = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The messages the server has not accepted yet, with their error and next try."""
    from crm_tui.services import mail

    if force and not retry:
        raise fail("--force goes with --retry")
    if retry:
        _retry(db, user, as_json, force=force)
        return
    with session(db, user):
        rows = mail.outbox(include_sent=all_)

    def render(_data: Any) -> list[str]:
        if not rows:
            return ["the outbox is empty: every message was sent"]
        body = [
            [
                str(r.id),
                local(r.created_at),
                r.to,
                r.subject[:40],
                r.status,
                str(r.attempts),
                local(r.next_try_at) if r.status == "pending" else local(r.sent_at),
                (f"{r.error} (code={r.error_code})" if r.error else ""),
            ]
            for r in rows
        ]
        return table(body, ["#", "created", "to", "subject", "status", "tries", "next/sent", "error"])

    emit(rows, as_json, render)


@app.command("fetch")
def fetch(
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch new mail from the desk mailbox onto the cards; unknown senders become leads."""
    from crm_tui.services import mail_fetch

    with session(db, user) as s:
        report = mail_fetch.fetch(now=s.now, by=s.user_id)

    def render(_data: Any) -> list[str]:
        if not report.messages:
            return [f"no new mail ({report.skipped} already fetched)" if report.skipped else "no new mail"]
        lines = []
        for m in report.messages:
            where = f"contact #{m.contact_id}" if m.contact_id else f"lead #{m.lead_id}"
            new = " (new lead)" if m.new_lead else ""
            files = f", {len(m.attachments)} attachment(s)" if m.attachments else ""
            lines.append(f"from {m.sender}: {m.subject!r} -> {where}{new}{files}, task #{m.task_id}")
        if report.skipped:
            lines.append(f"{report.skipped} already fetched, skipped")
        return lines

    emit(report, as_json, render)
