"""Lead capture from web forms: form keys, what a landing page posts, and the repeat-request rule.

A landing page posts its form to the intake server with a form key. The key routes the lead (its owner
and default source); the fields become a lead through :func:`crm_tui.services.leads.register`, the same
rule the CLI and the app use, so the call task an hour later is created in the same transaction.

Rules kept here (the HTTP side only parses and answers):

- **Form keys**: :func:`add_form`, :func:`list_forms`, :func:`revoke_form`; an unknown key is
  :class:`~crm_tui.services.errors.NotFound`, a revoked one :class:`FormRevoked`.
- **Where a lead came from**: hidden fields ``utm_*``, ``referrer`` and ``page_url``; missing UTM tags are
  taken from the landing page's query string (what Yandex Direct and Google Ads append), then from the
  referrer; an ad click id (``yclid``, ``gclid``) or a search engine as referrer names the source when no
  tag does; the form's default source comes last (:func:`origin_of`).
- **Honeypot**: a hidden field (:data:`HONEYPOT`) people never see; a bot that fills it is answered as
  usual and nothing is stored.
- **Repeat requests**: the same phone within :data:`REPEAT_WINDOW` of a lead is not a new lead; the
  request is recorded on that lead (an interaction, ``repeat_count``) and its owner gets a task due now,
  so the reminders reach them. The check and the write run in one write-locked transaction, so two
  simultaneous posts of one phone never make two leads.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from peewee import JOIN

from crm_tui.data.db import database, is_sqlite
from crm_tui.data.intake_models import IntakeForm
from crm_tui.data.models import Interaction, Lead, Task, User
from crm_tui.services import leads
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from crm_tui.services.validation import forbidden_char, optional_text, required_text

REPEAT_WINDOW = timedelta(hours=24)
HONEYPOT = "website"
UTM_FIELDS = leads.UTM_FIELDS
MAX_FIELD = 2000  # any single value beyond its column's own cap
# What a form may call each field; the first name is the one the snippet uses.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "name": ("name", "fio", "full_name"),
    "phone": ("phone", "tel", "telephone"),
    "email": ("email", "e-mail", "mail"),
    "company": ("company", "company_name", "organization"),
    "comment": ("comment", "message", "question"),
    "referrer": ("referrer", "referer"),
    "page_url": ("page_url", "page", "landing_page", "url"),
    **{name: (name,) for name in UTM_FIELDS},
}
# Ad click ids that ad networks append to the landing URL when no UTM template is set.
CLICK_IDS = {
    "yclid": "yandex",
    "gclid": "google",
    "gbraid": "google",
    "wbraid": "google",
    "fbclid": "facebook",
}
# Search engines seen as the referrer of an untagged visit (organic search).
SEARCH_ENGINES = {
    "yandex": "yandex",
    "ya.ru": "yandex",
    "google": "google",
    "bing.com": "bing",
    "duckduckgo.com": "duckduckgo",
    "go.mail.ru": "mail.ru",
    "search.yahoo.com": "yahoo",
}


class FormRevoked(RuleViolation):
    title = "Form revoked"
    code = "form.revoked"


class OriginRefused(RuleViolation):
    """A browser on a site the form does not list tried to post to it."""

    title = "Site not allowed"
    code = "form.origin_refused"


@dataclass(frozen=True)
class FormView:
    id: int
    key: str
    name: str
    owner_id: int | None
    owner_login: str | None
    default_source: str
    redirect_url: str
    allowed_origins: list[str]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows_origin(self, origin: str | None) -> bool:
        """A browser post from ``origin`` is allowed (any origin when the form lists none)."""
        if not self.allowed_origins or origin is None:
            return True
        return origin.lower().rstrip("/") in self.allowed_origins


@dataclass(frozen=True)
class Capture:
    """What became of one submission: ``created`` (a new lead), ``repeat`` (recorded on ``lead_id``), or
    ``spam`` (the honeypot was filled; nothing stored)."""

    status: str
    form: FormView
    lead_id: int | None = None
    task_id: int | None = None
    interaction_id: int | None = None
    fields: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- form keys


def _view(form: IntakeForm, owner_login: str | None) -> FormView:
    origins = [o for o in form.allowed_origins.split("\n") if o]
    return FormView(
        id=form.id,
        key=form.key,
        name=form.name,
        owner_id=form.owner_id,
        owner_login=owner_login,
        default_source=form.default_source,
        redirect_url=form.redirect_url,
        allowed_origins=origins,
        created_at=form.created_at,
        revoked_at=form.revoked_at,
    )


def _select():  # type: ignore[no-untyped-def]
    return IntakeForm.select(IntakeForm, User.login.alias("owner_login")).join(
        User, JOIN.LEFT_OUTER, on=(IntakeForm.owner == User.id)
    )


def _views(query) -> list[FormView]:  # type: ignore[no-untyped-def]
    return [_view(form, form.owner_login) for form in query.objects()]


def normalize_origin(text: str) -> str:
    """``"https://Example.ru/"`` -> ``"https://example.ru"``: scheme, host and a non-default port only."""
    value = text.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise InvalidInput(
            f"Not a site origin: {value!r} (use https://example.ru)", {"allowed_origin": "not an origin"}
        )
    if parts.query or parts.fragment or parts.username:
        raise InvalidInput(f"Not a site origin: {value!r}", {"allowed_origin": "not an origin"})
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default_port = 443 if parts.scheme == "https" else 80
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{host}{port}"


def _check_redirect(text: str) -> str:
    value = optional_text(text, "redirect", "Thank-you page", MAX_FIELD)
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"Not a page address: {value!r} (use https://example.ru/thanks)", {"redirect": "not a URL"}
        )
    return value


def add_form(
    name: str,
    *,
    by: int | None,
    now: datetime,
    owner_id: int | None = None,
    default_source: str = "",
    redirect_url: str = "",
    allowed_origins: list[str] | tuple[str, ...] = (),
) -> FormView:
    """Create a form key. Its leads go to ``owner_id`` (default: whoever creates the form)."""
    if not (name or "").strip():
        raise InvalidInput(
            "A form needs a name", {"name": "required"}, code="text.required", params={"field": "name"}
        )
    label = required_text(name, "name", "Form name", 200)
    source = optional_text(default_source, "source", "Source", 200)
    redirect = _check_redirect(redirect_url)
    origins = list(dict.fromkeys(normalize_origin(o) for o in allowed_origins if o.strip()))
    owner = owner_id if owner_id is not None else by
    with database.atomic():
        if owner is not None and not User.select().where(User.id == owner).exists():
            raise NotFound(f"No user #{owner}")
        taken = (
            IntakeForm.select().where((IntakeForm.name == label) & IntakeForm.revoked_at.is_null()).exists()
        )
        if taken:
            raise InvalidInput(f"A form named {label!r} already exists", {"name": "taken"})
        form = IntakeForm.create(
            key=secrets.token_urlsafe(12),
            name=label,
            owner=owner,
            default_source=source,
            redirect_url=redirect,
            allowed_origins="\n".join(origins),
            created_by=by,
            created_at=now,
        )
    return get_form(form.key)


def list_forms(*, include_revoked: bool = False) -> list[FormView]:
    query = _select()
    if not include_revoked:
        query = query.where(IntakeForm.revoked_at.is_null())
    return _views(query.order_by(IntakeForm.id))


def get_form(ref: str) -> FormView:
    """A form by its key, or by its name (the active form of that name first)."""
    text = (ref or "").strip()
    found = _views(_select().where(IntakeForm.key == text))
    if not found:
        found = _views(
            _select()
            .where(IntakeForm.name == text)
            .order_by(IntakeForm.revoked_at.is_null().desc(), IntakeForm.id.desc())
            .limit(1)
        )
    if not found:
        raise NotFound(f"No form {text!r}")
    return found[0]


def active_form(key: str) -> FormView:
    """The form a post names by key; refused when unknown or revoked."""
    found = _views(_select().where(IntakeForm.key == (key or "").strip()))
    if not found:
        raise NotFound("Unknown form key", code="form.unknown")
    if found[0].revoked_at is not None:
        raise FormRevoked("This form no longer accepts requests")
    return found[0]


def revoke_form(ref: str, *, by: int | None, now: datetime) -> FormView:
    """Stop accepting posts with this key (the leads it brought stay)."""
    with database.atomic():
        form = get_form(ref)
        if form.revoked_at is not None:
            raise RuleViolation(f"Form {form.name!r} is already revoked")
        IntakeForm.update(revoked_at=now).where(IntakeForm.id == form.id).execute()
    return get_form(form.key)


# ---------------------------------------------------------------- what a form posts


# What a visitor types is checked by the lead's own rules and refused when too long or holding control
# characters; what the page's script fills in (tags, addresses) is cleaned and capped instead, since the
# visitor cannot see or fix it and a lead must not be lost for a long tracking link.
TYPED_FIELDS = ("name", "phone", "email", "company", "comment")


def _clip(value: object, limit: int = MAX_FIELD) -> str:
    """A value the page filled in as text: control characters and direction overrides dropped, capped."""
    text = str(value if value is not None else "")
    if forbidden_char(text) is not None:
        text = "".join(c for c in text if forbidden_char(c) is None)
    return text[:limit].strip()


def pick(fields: Mapping[str, object], name: str, limit: int = MAX_FIELD) -> str:
    """The value of a canonical field under any of the names a form may use for it.

    A field the visitor types comes as posted (stripped), for the lead's rules to check.
    """
    lowered = {str(k).strip().lower(): v for k, v in fields.items()}
    for alias in FIELD_NAMES[name]:
        value = lowered.get(alias)
        if value is None:
            continue
        text = str(value).strip() if name in TYPED_FIELDS else _clip(value, limit)
        if text:
            return text
    return ""


def is_spam(fields: Mapping[str, object]) -> bool:
    """The honeypot field (hidden from people) was filled in: a bot."""
    value = fields.get(HONEYPOT)
    return value is not None and bool(_clip(value))


def url_params(url: str) -> dict[str, str]:
    """The query parameters of a URL (and of a ``#...?`` fragment, as single-page sites put them)."""
    if not url:
        return {}
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return {}
    params: dict[str, str] = {}
    for query in (parts.fragment.partition("?")[2], parts.query):
        for key, value in parse_qsl(query, keep_blank_values=False):
            params[key.strip().lower()] = value
    return params


def _search_engine(url: str) -> str:
    try:
        host = (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""
    labels = host.split(".")
    for marker, source in SEARCH_ENGINES.items():
        if "." in marker:
            if host == marker or host.endswith("." + marker):
                return source
        elif marker in labels:
            return source
    return ""


def origin_of(
    fields: Mapping[str, object], *, http_referer: str = "", default_source: str = ""
) -> dict[str, str]:
    """The lead's UTM tags, referrer and landing page from a submission.

    ``utm_*`` fields win; a missing tag is taken from the landing page's query string (``page_url``,
    else the page that posted the form, ``http_referer``), then from the visitor's referrer. With no
    source tag anywhere, an ad click id (``yclid`` -> yandex/cpc, ``gclid`` -> google/cpc) or a search
    engine as referrer (organic) names the source; the form's ``default_source`` comes last.
    """
    page = pick(fields, "page_url") or _clip(http_referer)
    referrer = pick(fields, "referrer")
    found = {name: pick(fields, name) for name in UTM_FIELDS}
    candidates = [url_params(page), url_params(referrer)]
    for name in UTM_FIELDS:
        for params in candidates:
            if found[name]:
                break
            found[name] = _clip(params.get(name, ""))
    if not found["utm_source"]:
        posted = {str(k).strip().lower(): _clip(v) for k, v in fields.items() if str(k).lower() in CLICK_IDS}
        for params in (posted, *candidates):
            network = next((CLICK_IDS[k] for k in CLICK_IDS if params.get(k)), "")
            if network:
                found["utm_source"] = network
                found["utm_medium"] = found["utm_medium"] or "cpc"
                break
    if not found["utm_source"] and referrer:
        engine = _search_engine(referrer)
        if engine:
            found["utm_source"] = engine
            found["utm_medium"] = found["utm_medium"] or "organic"
    if not found["utm_source"]:
        found["utm_source"] = default_source
    return {**found, "referrer": referrer, "landing_page": page}


def _capped(model_field: str, value: str) -> str:
    column = getattr(Lead, model_field)
    return value[: getattr(column, "max_length", None) or MAX_FIELD]


def new_lead(fields: Mapping[str, object], form: FormView, *, http_referer: str = "") -> leads.NewLead:
    """The lead a submission asks for, routed by its form and capped to what the columns hold."""
    origin = origin_of(fields, http_referer=http_referer, default_source=form.default_source)
    email = pick(fields, "email")
    return leads.NewLead(
        name=pick(fields, "name"),
        phone=pick(fields, "phone"),
        email=email or None,
        company_name=pick(fields, "company"),
        comment=pick(fields, "comment"),
        owner_id=form.owner_id,
        **{key: _capped(key, value) for key, value in origin.items()},
    )


# ---------------------------------------------------------------- capture


@dataclass(frozen=True)
class Prior:
    """The lead a repeat request is recorded on."""

    id: int
    name: str
    owner_id: int | None
    contact_id: int | None


@contextmanager
def _phone_locked(phone: str) -> Iterator[None]:
    """One write transaction in which no other writer can register the same phone meanwhile.

    SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock before the repeat check reads.
    PostgreSQL: a transaction-scoped advisory lock on the phone.
    """
    if is_sqlite():
        with database.atomic("IMMEDIATE"):
            yield
    else:
        with database.atomic():
            database.execute_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (phone,))
            yield


def capture(
    form_or_key: FormView | str, fields: Mapping[str, object], *, now: datetime, http_referer: str = ""
) -> Capture:
    """Turn one form submission into a lead, or a repeat request on the lead the phone already has.

    ``http_referer`` is the page that posted the form (the landing page, when the form does not say).
    Raises NotFound (unknown key), FormRevoked, InvalidInput (with a message per field); nothing is
    written then. A filled honeypot returns ``spam`` and writes nothing.
    """
    form = active_form(form_or_key) if isinstance(form_or_key, str) else form_or_key
    if is_spam(fields):
        return Capture("spam", form)
    new = new_lead(fields, form, http_referer=http_referer)
    clean = leads.validate(new)
    phone = str(clean["phone"])
    param = "?" if is_sqlite() else "%s"
    with _phone_locked(phone):
        still_open = database.execute_sql(
            f"SELECT 1 FROM intake_form WHERE id = {param} AND revoked_at IS NULL", (form.id,)
        ).fetchone()
        if still_open is None:
            raise FormRevoked("This form no longer accepts requests")
        prior = database.execute_sql(
            f"SELECT id, name, owner_id, contact_id FROM lead WHERE phone = {param} AND created_at >= {param}"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            (phone, now - REPEAT_WINDOW),
        ).fetchone()
        if prior is not None:
            return _repeat(Prior(*prior), clean, form, now)
        lead_id = leads.register_id(replace(new, phone=phone), by=None, now=now)
    return Capture("created", form, lead_id=lead_id, fields=_echo(clean))


def _echo(clean: Mapping[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in clean.items() if v}


def _repeat(prior: Prior, clean: dict[str, object], form: FormView, now: datetime) -> Capture:
    name = str(clean["name"])
    lines = [f"Repeat request via form {form.name!r} from {name}"]
    if clean.get("email"):
        lines.append(f"e-mail: {clean['email']}")
    if clean.get("company_name"):
        lines.append(f"company: {clean['company_name']}")
    if clean.get("comment"):
        lines.append(f"comment: {clean['comment']}")
    data = {k: str(clean[k]) for k in (*UTM_FIELDS, "referrer", "landing_page") if clean.get(k)}
    data["form"] = form.key
    item = Interaction.create(
        kind="repeat_request",
        by=None,
        at=now,
        lead=prior.id,
        contact=prior.contact_id,
        subject=f"Repeat request from {name}"[:300],
        summary="\n".join(lines)[:20000],
        data=json.dumps(data, ensure_ascii=False),
    )
    Lead.update(repeat_count=Lead.repeat_count + 1).where(Lead.id == prior.id).execute()
    assignee = prior.owner_id if prior.owner_id is not None else form.owner_id
    task = Task.create(
        title=f"Repeat request from {name}"[:300],
        due_at=now,
        next_remind_at=now,
        assignee=assignee,
        created_by=None,
        lead=prior.id,
        contact=prior.contact_id,
        kind="repeat_request",
        created_at=now,
    )
    return Capture(
        "repeat", form, lead_id=prior.id, task_id=task.id, interaction_id=item.id, fields=_echo(clean)
    )
