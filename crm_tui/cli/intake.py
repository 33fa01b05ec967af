"""``crm intake ...``: form keys for landing pages, the HTML snippet, and the intake server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, _root_option, emit, fail, session, table

if TYPE_CHECKING:
    from crm_tui.services.intake import FormView

app = typer.Typer(no_args_is_help=True)

FormArg = Annotated[str, typer.Argument(help="The form's key or name.", metavar="FORM")]


def _render_form(form: FormView) -> list[str]:
    lines = [
        f"form #{form.id} {form.name}" + ("" if form.active else " (revoked)"),
        f"key        {form.key}",
        f"owner      {form.owner_login or '-'}",
        f"source     {form.default_source or '-'}",
        f"thank-you  {form.redirect_url or 'built-in page'}",
        f"origins    {', '.join(form.allowed_origins) or 'any'}",
    ]
    return lines


def _form_json(form: FormView) -> dict[str, Any]:
    from dataclasses import asdict

    return {**asdict(form), "active": form.active}


@app.command("add-form")
def add_form(
    name: Annotated[str, typer.Argument(help="What the form is: 'Landing: CRM for sales'.")],
    owner: Annotated[
        str | None, typer.Option("--owner", help="Login of the manager who gets its leads (default: you).")
    ] = None,
    redirect: Annotated[
        str, typer.Option("--redirect", help="Thank-you page to send visitors to (default: built-in).")
    ] = "",
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option("--allowed-origin", help="Site allowed to post from a browser (repeat for more)."),
    ] = None,
    source: Annotated[
        str, typer.Option("--source", help="utm_source for leads that carry none (e.g. 'site').")
    ] = "",
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a form key: posts to /forms/<key> become leads owned by --owner."""
    from crm_tui.services import intake, users

    with session(db, user) as s:
        owner_id = users.by_login(owner).id if owner else None
        form = intake.add_form(
            name,
            by=s.user_id,
            now=s.now,
            owner_id=owner_id,
            default_source=source,
            redirect_url=redirect,
            allowed_origins=allowed_origin or [],
        )
    emit(_form_json(form), as_json, lambda _d: _render_form(form))


@app.command("list")
def list_(
    everything: Annotated[bool, typer.Option("--all", help="Revoked forms too.")] = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The form keys (active ones unless --all)."""
    from crm_tui.services import intake

    with session(db, user):
        forms = intake.list_forms(include_revoked=everything)

    def render(_data: Any) -> list[str]:
        if not forms:
            return ["no forms: crm intake add-form NAME"]
        rows = [
            [
                str(f.id),
                f.key,
                f.name,
                f.owner_login or "",
                f.default_source,
                "active" if f.active else "revoked",
            ]
            for f in forms
        ]
        return table(rows, ["ID", "KEY", "NAME", "OWNER", "SOURCE", "STATE"])

    emit([_form_json(f) for f in forms], as_json, render)


@app.command("revoke")
def revoke(form: FormArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Stop accepting posts with this form's key (its leads stay)."""
    from crm_tui.services import intake

    with session(db, user) as s:
        revoked = intake.revoke_form(form, by=s.user_id, now=s.now)
    emit(_form_json(revoked), as_json, lambda _d: [f"form {revoked.name!r} revoked: key {revoked.key}"])


@app.command("snippet")
def snippet(
    form: FormArg,
    base_url: Annotated[
        str, typer.Option("--url", help="The intake server's public address.")
    ] = "http://127.0.0.1:8765",
    lang: Annotated[str, typer.Option("--lang", help="Labels: en or ru.")] = "en",
    db: DbOpt = None,
    user: UserOpt = None,
) -> None:
    """Print a ready HTML form for a landing page (UTM tags filled from the page address)."""
    from crm_tui.intake.snippet import snippet as make_snippet
    from crm_tui.services import intake

    if lang not in ("en", "ru"):
        raise fail("--lang must be en or ru")
    with session(db, user):
        found = intake.get_form(form)
    if not found.active:
        raise fail(f"form {found.name!r} is revoked")
    typer.echo(make_snippet(found, base_url, lang), nl=False)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8765,
    rate: Annotated[
        int, typer.Option("--rate", min=0, help="Posts per minute allowed from one address (0: no limit).")
    ] = 20,
    body_limit: Annotated[int, typer.Option("--body-limit", min=1024, help="Largest body in bytes.")] = 65536,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            "--trust-proxy",
            envvar="CRM_INTAKE_TRUSTED_PROXIES",
            metavar="ADDR",
            help="A proxy (IP or network) whose X-Forwarded-For names the visitor; repeat for more."
            " Default: none, the connection's address is the visitor's.",
        ),
    ] = None,
    header_timeout: Annotated[
        float,
        typer.Option("--header-timeout", min=1, help="Seconds a client has to send its request headers."),
    ] = 10.0,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Print a line per request.")
    ] = True,
    db: DbOpt = None,
    user: UserOpt = None,
) -> None:
    """Run the intake server: landing-page forms post to /forms/<key>."""
    import uvicorn

    from crm_tui.data.db import resolve_url
    from crm_tui.intake.server import make_asgi_app, parse_proxies, uvicorn_config
    from crm_tui.services import intake

    try:
        proxies = [str(network) for network in parse_proxies(trusted_proxy or [])]
    except ValueError as error:
        raise fail(f"--trusted-proxy: {error}") from error
    db = db or _root_option("db")
    with session(db, user):
        forms = intake.list_forms()
    app_ = make_asgi_app(resolve_url(db), rate=rate, body_limit=body_limit, trusted_proxies=proxies)
    trusting = f"; X-Forwarded-For believed from {', '.join(proxies)}" if proxies else ""
    typer.echo(f"intake: http://{host}:{port}/forms/<key> ({len(forms)} active forms{trusting})", err=True)
    config = uvicorn_config(
        app_,
        host=host,
        port=port,
        header_timeout=header_timeout,
        log_level="info",
        access_log=access_log,
    )
    uvicorn.Server(config).run()
