"""The intake server: ``POST /forms/<key>`` from a landing page's form (or its script) becomes a lead.

Accepts ``application/x-www-form-urlencoded`` and ``multipart/form-data`` (what a plain HTML form sends)
and ``application/json``. A browser form gets a 303 redirect to the form's thank-you page, or the
built-in one; JSON gets ``{"ok": true, "status": "created", "lead_id": N}``.

Refusals, none of them a 500: unknown key 404, revoked key 410, a browser post from an origin the form
does not allow 403, a malformed body 400 (not JSON, JSON nested deeper than :data:`MAX_DEPTH`, text that
is not UTF-8 or holds a lone surrogate), bad fields 422 (a message per field), a body over the limit
413, another content type 415, too many posts from one address 429, a body that does not arrive in time
408, the database busy beyond the retries 503 with ``Retry-After``. Nothing is stored for any of them.
Each carries a stable ``code`` (JSON ``"code"``); the HTML page says it in the visitor's language.

The client address (for the rate limit) is the connection's peer; ``X-Forwarded-For`` is believed only
from the proxies the server is told to trust (``trusted_proxies``, none by default). HTML pages carry a
Content-Security-Policy that allows nothing but their own style, ``frame-ancestors`` limited to the
form's allowed origins ('none' when it lists none), ``X-Content-Type-Options: nosniff`` and
``Referrer-Policy: no-referrer`` (every answer gets the last two). :func:`uvicorn_config` drops a
connection that does not send its request headers within ``header_timeout`` seconds (slow-loris).

The rules run in one writer thread that owns the database connection (never on the event loop).
Posts that arrive together are written in one transaction, each in its own savepoint, and answered
after its commit (see :class:`Writer`); a database busy with another process's writes is retried with a
short busy timeout, then answered 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import hashlib
import html
import ipaddress
import json
import logging
import queue
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import h11
import uvicorn
from peewee import Database, OperationalError, SqliteDatabase
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from crm_tui.data.db import SQLITE_LOCK_TYPE, SQLITE_PRAGMAS, database, is_sqlite, open_database
from crm_tui.data.models import utcnow
from crm_tui.i18n import error_text
from crm_tui.services import intake
from crm_tui.services.errors import CrmError, InvalidInput, NotFound

log = logging.getLogger("crm_tui.intake")

BODY_LIMIT = 64 * 1024
RATE = 20  # posts per address ...
RATE_WINDOW = 60.0  # ... per this many seconds
BUSY_TIMEOUT = 0.5  # seconds SQLite waits for the write lock in one attempt
RETRIES = 4
RETRY_AFTER = 5  # seconds, told to a client refused with 503
MAX_FIELDS = 100
MAX_DEPTH = 32  # JSON nested deeper is refused (a form is one flat object)
HEADER_TIMEOUT = 10.0  # seconds a client has to send its request line and headers
BODY_TIMEOUT = 30.0  # seconds a client has to send its body
HEADER_LIMIT = 16 * 1024  # bytes of request line and headers
BATCH = 128  # posts written in one transaction at most
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
JSON_TYPE = "application/json"

THANKS = {
    "en": ("Thank you!", "Thank you! We will call you shortly."),
    "ru": ("Спасибо!", "Спасибо! Мы скоро перезвоним."),
}
STYLE = "body { font-family: sans-serif; max-width: 36em; margin: 4em auto; padding: 0 1em }"
PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>{style}</style></head>
<body>
{body}
</body></html>
"""
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# The pages hold no script, load nothing and post nothing: only their own style is allowed.
CSP = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src 'none'; base-uri 'none';"
    " form-action 'none'; frame-ancestors {ancestors}"
)
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class Refused(Exception):
    """An answer other than success, decided before or after the rules ran; ``code`` names it for the
    visitor's language (``request.*`` in :data:`crm_tui.i18n.ERRORS`) and for scripts."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        code: str = "request.refused",
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code
        self.params = params or {}


class Busy(Exception):
    """The database stayed locked by another writer through every retry."""


class RateLimiter:
    """A token bucket per client address: ``rate`` posts, refilled evenly over ``window`` seconds.

    Used on the event loop only (no lock). Full buckets are forgotten when the table grows, so memory
    stays bounded under a flood from many addresses.
    """

    def __init__(self, rate: int, window: float = RATE_WINDOW, max_addresses: int = 50_000) -> None:
        self.rate = rate
        self.per_second = rate / window if window > 0 else float("inf")
        self.max_addresses = max_addresses
        self._buckets: dict[str, tuple[float, float]] = {}

    def hit(self, address: str, now: float) -> float:
        """Take a token for ``address``: 0 when allowed, else the seconds until the next one."""
        if self.rate <= 0:
            return 0.0
        tokens, at = self._buckets.get(address, (float(self.rate), now))
        tokens = min(float(self.rate), tokens + (now - at) * self.per_second)
        if tokens < 1.0:
            self._buckets[address] = (tokens, now)
            return (1.0 - tokens) / self.per_second
        if len(self._buckets) >= self.max_addresses and address not in self._buckets:
            self._prune(now)
        self._buckets[address] = (tokens - 1.0, now)
        return 0.0

    def _prune(self, now: float) -> None:
        full = [a for a, (t, at) in self._buckets.items() if t + (now - at) * self.per_second >= self.rate]
        for address in full:
            del self._buckets[address]
        if len(self._buckets) >= self.max_addresses:  # a flood from everywhere: start afresh
            self._buckets.clear()


class FormCache:
    """Form keys looked up in the last ``ttl`` seconds, to answer 404/403 without a query each time.

    Only a hint: the write transaction checks again that the form is not revoked.
    """

    def __init__(self, ttl: float = 2.0, size: int = 1000) -> None:
        self.ttl = ttl
        self.size = size
        self._items: dict[str, tuple[float, Outcome]] = {}

    def get(self, key: str, load: Callable[[str], Outcome]) -> Outcome:
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        outcome = load(key)
        if len(self._items) >= self.size:
            self._items = {}
        self._items[key] = (now, outcome)
        return outcome


@dataclass
class Settings:
    body_limit: int = BODY_LIMIT
    busy_timeout: float = BUSY_TIMEOUT
    retries: int = RETRIES
    retry_after: int = RETRY_AFTER
    body_timeout: float = BODY_TIMEOUT


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(values: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    """``["10.0.0.1", "192.168.0.0/24, ::1"]`` -> the networks; each item may hold several, comma- or
    space-separated. Raises ValueError naming an item that is no address or network."""
    networks: list[Network] = []
    for value in values:
        for item in value.replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or network: {item!r}") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = text.strip()
    if value.startswith("[") and "]" in value:  # [::1]:8080
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 1.2.3.4:8080
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The visitor's address: the connection's peer, unless the peer is a trusted proxy; then the
    right-most ``X-Forwarded-For`` entry that is not one (the one a trusted proxy appended).

    With no trusted proxies (the default) the header is ignored, so a client cannot choose the
    address it is rate-limited by.
    """
    address = peer or "unknown"
    if not trusted or not forwarded_for:
        return address

    def is_trusted(text: str) -> bool:
        ip = _address(text)
        return ip is not None and any(ip in network for network in trusted)

    if not is_trusted(address):
        return address
    for hop in reversed(forwarded_for.split(",")):
        ip = _address(hop)
        if ip is None:
            return address  # a hop we cannot read: keep the proxy's own address
        if not is_trusted(str(ip)):
            return str(ip)
    return address


@dataclass(frozen=True)
class Outcome:
    form: intake.FormView | None
    capture: intake.Capture | None = None
    error: CrmError | None = None


def _open(db_url: str, busy_timeout: float) -> Database:
    """Migrate the database, then bind the models to the writer's own connection settings.

    SQLite gets the project's pragmas with a short busy timeout: a database locked by another process
    is retried by the writer (and answered 503 in the end) rather than waiting the desk's long timeout.
    """
    opened = open_database(db_url)
    if not db_url.startswith("sqlite"):
        return opened
    opened.close()
    pragmas = {**SQLITE_PRAGMAS, "busy_timeout": max(1, int(busy_timeout * 1000))}
    writer_db = SqliteDatabase(
        opened.database, pragmas=pragmas, check_same_thread=False, lock_type=SQLITE_LOCK_TYPE
    )
    database.initialize(writer_db)
    return writer_db


def _is_busy(error: Exception) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


@dataclass(eq=False)
class Job:
    work: Callable[[datetime], Outcome]
    deadline: float
    future: Future[Outcome] = field(default_factory=Future)


class Writer:
    """One thread that owns the server's database connection and runs every rule call.

    Posts arriving together are written in one transaction (``BEGIN IMMEDIATE`` on SQLite), each in
    its own savepoint, and all are answered after the one commit (group commit): every answered lead
    is durable, a refused one wrote nothing, and the threads of one process never fight over SQLite's
    write lock. When another process holds that lock, the batch is retried with a short busy timeout
    a few times, then each post is answered 503 - never dropped silently.
    """

    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="crm-intake-writer", daemon=True)
        self._starting = threading.Lock()

    def start(self) -> None:
        with self._starting:
            if self.thread.ident is None:
                self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.jobs.put(None)
            self.thread.join(timeout=30)

    def budget(self) -> float:
        """How long a post may wait for the database before it is answered 503."""
        return (self.settings.busy_timeout + 0.1) * self.settings.retries + 0.5

    async def run(self, work: Callable[[datetime], Outcome]) -> Outcome:
        self.start()  # the lifespan starts it; an app run without one starts it here
        job = Job(work, time.monotonic() + self.budget())
        self.jobs.put(job)
        return await asyncio.wrap_future(job.future)

    def _run(self) -> None:
        self.db.connect(reuse_if_open=True)
        try:
            running = True
            while running:
                first = self.jobs.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < BATCH:
                    try:
                        nxt = self.jobs.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        running = False
                        break
                    batch.append(nxt)
                self._write(batch)
        finally:
            if not self.db.is_closed():
                self.db.close()

    def _transaction(self) -> Any:
        return self.db.atomic("IMMEDIATE") if is_sqlite(self.db) else self.db.atomic()

    def _write(self, batch: list[Job]) -> None:
        pause = 0.02
        for attempt in range(1, self.settings.retries + 1):
            live = [job for job in batch if job.deadline > time.monotonic()]
            for job in batch:
                if job not in live:
                    job.future.set_exception(Busy())
            batch = live
            if not batch:
                return
            results: list[tuple[Job, Outcome | BaseException]] = []
            try:
                with self._transaction():
                    for job in batch:
                        try:
                            results.append((job, job.work(self.clock())))
                        except OperationalError as error:
                            if _is_busy(error):
                                raise
                            results.append((job, error))
                        except Exception as error:  # noqa: BLE001 - one post's failure is its own
                            log.exception("intake post failed")
                            results.append((job, error))
            except OperationalError as error:
                if not _is_busy(error):
                    for job in batch:
                        job.future.set_exception(error)
                    return
                log.warning("database busy (attempt %d of %d)", attempt, self.settings.retries)
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
                continue
            for job, result in results:  # committed: now every answer may go out
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)
            return
        for job in batch:
            job.future.set_exception(Busy())


def make_asgi_app(
    db_url: str,
    *,
    rate: int = RATE,
    rate_window: float = RATE_WINDOW,
    body_limit: int = BODY_LIMIT,
    busy_timeout: float = BUSY_TIMEOUT,
    retries: int = RETRIES,
    retry_after: int = RETRY_AFTER,
    clock: Callable[[], datetime] = utcnow,
    trusted_proxies: list[str] | tuple[str, ...] = (),
    body_timeout: float = BODY_TIMEOUT,
) -> Starlette:
    """The intake ASGI app on the database at ``db_url`` (migrated when the app is made).

    ``trusted_proxies``: addresses or networks (``10.0.0.0/8``) whose ``X-Forwarded-For`` names the
    visitor; none by default.
    """
    settings = Settings(body_limit, busy_timeout, max(1, retries), retry_after, body_timeout)
    proxies = parse_proxies(trusted_proxies)
    limiter = RateLimiter(rate, rate_window)
    db = _open(db_url, busy_timeout)
    forms = FormCache()
    writer = Writer(db, settings, clock)

    def capture_work(
        key: str, fields: dict[str, str], origin: str | None, referer: str
    ) -> Callable[[datetime], Outcome]:
        return lambda now: _decide(forms.get(key, _lookup), fields, origin, referer, now)

    async def submit(request: Request) -> Response:
        key = request.path_params["key"]
        origin = request.headers.get("origin")
        content_type = _media_type(request.headers)
        wants_json = content_type == JSON_TYPE or _accepts_json(request.headers)
        lang = _language(request.headers)
        form: intake.FormView | None = None
        back = _back_link(request.headers.get("referer", ""))
        try:
            peer = request.client.host if request.client else None
            address = client_address(peer, request.headers.get("x-forwarded-for"), proxies)
            wait = limiter.hit(address, time.monotonic())
            if wait:
                raise Refused(
                    429,
                    "Too many requests; try again later",
                    {"Retry-After": str(int(wait) + 1)},
                    code="request.rate_limited",
                )
            if content_type not in (*FORM_TYPES, JSON_TYPE):
                raise Refused(
                    415,
                    "Send the form as a form (urlencoded or multipart) or as JSON",
                    code="request.content_type",
                )
            body = await _read_body(request, settings.body_limit, settings.body_timeout)
            fields = await _parse(content_type, body, request.headers)
            referer = request.headers.get("referer", "")
            try:
                outcome = await writer.run(capture_work(key, fields, origin, referer))
            except Busy:
                raise Refused(
                    503,
                    "The desk is busy; please try again",
                    {"Retry-After": str(settings.retry_after)},
                    code="request.busy",
                ) from None
            form = outcome.form
            if outcome.error is not None:
                raise outcome.error
            assert outcome.capture is not None
            response = _success(outcome.capture, wants_json, lang)
        except Refused as refused:
            response = _failure(
                refused.status,
                Problem(refused.message, refused.code, refused.params),
                wants_json,
                lang,
                refused.headers,
                back=back,
            )
        except InvalidInput as error:
            response = _failure(422, Problem.of(error), wants_json, lang, back=back)
        except CrmError as error:
            response = _failure(_status_of(error), Problem.of(error), wants_json, lang, back=back)
        except OperationalError as error:  # the disk or the server, not the request: ask to retry
            log.error("database error: %s", error)
            response = _failure(
                503,
                Problem("The desk is unavailable; please try again", "request.unavailable"),
                wants_json,
                lang,
                {"Retry-After": str(settings.retry_after)},
                back=back,
            )
        return _frame_policy(_with_cors(response, form, origin), form)

    async def preflight(request: Request) -> Response:
        origin = request.headers.get("origin")
        key = request.path_params["key"]
        try:
            outcome = await writer.run(lambda _now: forms.get(key, _lookup))
        except Busy:
            return PlainTextResponse("Busy", status_code=503, headers={"Retry-After": str(retry_after)})
        if outcome.form is None or not origin or not outcome.form.allowed_origins:
            return PlainTextResponse("Not allowed", status_code=404 if outcome.form is None else 403)
        if not outcome.form.allows_origin(origin):
            return PlainTextResponse("Origin not allowed", status_code=403)
        response = Response(status_code=204)
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        response.headers["Access-Control-Max-Age"] = "600"
        return _with_cors(response, outcome.form, origin)

    async def home(request: Request) -> Response:
        return PlainTextResponse("crm-tui intake: POST /forms/<key>\n")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        writer.start()
        try:
            yield
        finally:
            await asyncio.to_thread(writer.stop)

    routes = [
        Route("/", home, methods=["GET"]),
        Route("/forms/{key}", submit, methods=["POST"]),
        Route("/forms/{key}", preflight, methods=["OPTIONS"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])


class SecurityHeaders:
    """Every answer gets ``nosniff`` and ``Referrer-Policy``; an HTML one its Content-Security-Policy
    (and ``X-Frame-Options: DENY`` unless the page set its own ``frame-ancestors``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", CSP.format(ancestors="'none'"))
                    if "'none'" in headers["Content-Security-Policy"].rpartition("frame-ancestors")[2]:
                        headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _frame_policy(response: Response, form: intake.FormView | None) -> Response:
    """A form that lists its sites lets them show its pages in a frame (a form inside an iframe)."""
    if form is not None and form.allowed_origins and response.media_type == "text/html":
        response.headers["Content-Security-Policy"] = CSP.format(ancestors=" ".join(form.allowed_origins))
    return response


def _lookup(key: str) -> Outcome:
    try:
        return Outcome(intake.active_form(key))
    except CrmError as error:
        return Outcome(None, error=error)


def _decide(
    looked_up: Outcome, fields: dict[str, str], origin: str | None, referer: str, now: datetime
) -> Outcome:
    """The rules, in a worker thread: the form, its allowed origins, then the capture."""
    form = looked_up.form
    if form is None:
        return looked_up
    if not form.allows_origin(origin):
        return Outcome(form, error=intake.OriginRefused("This site may not post to this form"))
    try:
        return Outcome(form, intake.capture(form, fields, now=now, http_referer=referer))
    except CrmError as error:
        return Outcome(form, error=error)


def _status_of(error: CrmError) -> int:
    if isinstance(error, intake.FormRevoked):
        return 410
    if isinstance(error, intake.OriginRefused):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, InvalidInput):
        return 422
    return 409


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _accepts_json(headers: Headers) -> bool:
    accept = headers.get("accept", "").lower()
    return JSON_TYPE in accept and "text/html" not in accept


def _language(headers: Headers) -> str:
    """``ru`` when the visitor's browser prefers Russian, else ``en``."""
    best, best_q = "en", -1.0
    for part in headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().lower()[:2]
        if lang in THANKS and q > best_q:
            best, best_q = lang, q
    return best


async def _read_body(request: Request, limit: int, within: float = BODY_TIMEOUT) -> bytes:
    declared = request.headers.get("content-length")
    too_large = f"The form is too large (limit {limit // 1024} KiB)"
    if declared is not None:
        if not declared.strip().isascii() or not declared.strip().isdigit():
            raise Refused(400, "Bad Content-Length", code="request.bad_length")
        if int(declared) > limit:
            raise Refused(413, too_large, code="request.too_large", params={"limit_kib": limit // 1024})
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Refused(
                        413, too_large, code="request.too_large", params={"limit_kib": limit // 1024}
                    )
                chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400, "The request ended early", code="request.ended_early") from None
    except TimeoutError:
        raise Refused(
            408, "The form took too long to arrive", {"Connection": "close"}, code="request.timeout"
        ) from None
    return b"".join(chunks)


def _charset(headers: Headers) -> str:
    """The body's declared charset (UTF-8 when none or unknown)."""
    for param in headers.get("content-type", "").split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "charset":
            try:
                return codecs.lookup(value.strip().strip('"')).name
            except LookupError:
                raise Refused(
                    400,
                    f"Unknown charset {value.strip()[:40]!r}; send UTF-8",
                    code="request.charset",
                    params={"charset": value.strip()[:40]},
                ) from None
    return "utf-8"


def _not_text() -> Refused:
    return Refused(400, "The form is not valid UTF-8 text", code="request.not_utf8")


def _json_fields(body: bytes) -> list[tuple[str, Any]]:
    """A flat JSON object's fields; refused when not JSON, nested deeper than :data:`MAX_DEPTH` (never
    a RecursionError), or holding a lone surrogate (``"\\ud800"``), which is no text."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_text() from None
    if _json_depth(text) > MAX_DEPTH:
        raise Refused(
            400,
            f"The JSON is nested too deeply (at most {MAX_DEPTH} levels)",
            code="request.too_deep",
            params={"max": MAX_DEPTH},
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, "The body is not valid JSON", code="request.bad_json") from None
    if not isinstance(data, dict):
        raise InvalidInput(
            "Send a JSON object of fields", {"body": "not an object"}, code="request.not_object"
        )
    if not all(_is_text(str(k)) for k in data):  # before any refusal names a field
        raise _surrogate()
    nested = [str(k) for k, v in data.items() if isinstance(v, dict | list)]
    if nested:
        raise InvalidInput(
            "Field values must be text",
            dict.fromkeys(nested[:20], "must be text"),
            code="request.nested",
            params={"fields": nested[:20]},
        )
    pairs = [(str(k), "" if v is None else str(v)) for k, v in data.items()]
    if not all(_is_text(value) for _, value in pairs):
        raise _surrogate()
    return pairs


def _is_text(part: str) -> bool:
    """False for a string holding a lone surrogate, which JSON can carry and UTF-8 cannot."""
    try:
        part.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _surrogate() -> Refused:
    return Refused(
        400, "The JSON holds a lone surrogate (\\ud800-\\udfff), which is not text", code="request.surrogate"
    )


def _json_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, counted without parsing (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


async def _parse(content_type: str, body: bytes, headers: Headers) -> dict[str, str]:
    """The posted fields as text (the first non-empty value of a repeated name)."""
    pairs: list[tuple[str, Any]]
    if content_type == JSON_TYPE:
        pairs = _json_fields(body)
    elif content_type == FORM_TYPES[0]:
        charset = _charset(headers)
        try:
            pairs = parse_qsl(
                body.decode(charset),
                keep_blank_values=True,
                max_num_fields=MAX_FIELDS,
                encoding=charset,
                errors="strict",
            )
        except UnicodeDecodeError:
            raise _not_text() from None
        except ValueError:
            raise Refused(413, "Too many fields", code="request.too_many_fields") from None
    else:
        try:
            body.decode("utf-8")  # no files are taken: the whole body is text, and UTF-8
        except UnicodeDecodeError:
            raise _not_text() from None

        async def stream() -> AsyncGenerator[bytes, None]:
            yield body

        parser = MultiPartParser(
            headers, stream(), max_files=0, max_fields=MAX_FIELDS, max_part_size=len(body)
        )
        try:
            form = await parser.parse()
        except MultiPartException as error:
            raise Refused(
                400,
                f"Malformed form: {error.message}",
                code="request.malformed",
                params={"reason": error.message},
            ) from None
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    if len(pairs) > MAX_FIELDS:
        raise Refused(413, "Too many fields", code="request.too_many_fields")
    fields: dict[str, str] = {}
    for name, value in pairs:
        if not fields.get(name):
            fields[name] = value
    return fields


def _success(result: intake.Capture, wants_json: bool, lang: str) -> Response:
    if wants_json:
        if result.status == "spam":
            return JSONResponse({"ok": True, "status": "accepted"}, status_code=202)
        code = 201 if result.status == "created" else 200
        return JSONResponse(
            {"ok": True, "status": result.status, "lead_id": result.lead_id}, status_code=code
        )
    if result.form.redirect_url:
        return RedirectResponse(result.form.redirect_url, status_code=303)
    title, text = THANKS[lang]
    return HTMLResponse(
        PAGE.format(lang=lang, title=title, style=STYLE, body=f"<h1>{html.escape(text)}</h1>")
    )


@dataclass(frozen=True)
class Problem:
    """Why a post was refused: the English sentence, and the code and params that say it in any language."""

    message: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, error: CrmError) -> Problem:
        return cls(error.message, error.code, error.params, getattr(error, "fields", {}))

    def sentences(self, lang: str) -> list[str]:
        """What to tell the visitor in ``lang``: one sentence per wrong field (English: the message)."""
        if lang == "en":
            return [self.message]
        parts = self.params.get("errors") if self.code == "fields.invalid" else None
        if isinstance(parts, list):
            return [error_text(p.get("code", ""), p.get("params", {}), lang) for p in parts]
        return [error_text(self.code, self.params, lang)]


def _back_link(referer: str) -> str:
    """The page the form was posted from, when it is a web page (a link back to fix the form)."""
    value = referer.strip()
    if not value.lower().startswith(("https://", "http://")) or len(value) > 2000:
        return ""
    if any(ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in value):
        return ""
    return value


def _failure(
    status: int,
    problem: Problem,
    wants_json: bool,
    lang: str,
    headers: dict[str, str] | None = None,
    *,
    back: str = "",
) -> Response:
    if wants_json:
        body: dict[str, Any] = {"ok": False, "error": problem.message, "code": problem.code}
        if problem.params:
            body["params"] = problem.params
        if problem.fields:
            body["errors"] = problem.fields
        return JSONResponse(body, status_code=status, headers=headers)
    heading = error_text("page.check_form", {}, lang)
    sentences = problem.sentences(lang)
    page_body = f"<h1>{html.escape(heading)}</h1>"
    if lang == "en":
        page_body += f"\n<p>{html.escape(problem.message)}</p>"
        items = "".join(
            f"<li><b>{html.escape(name)}</b>: {html.escape(text)}</li>"
            for name, text in problem.fields.items()
        )
    elif len(sentences) == 1:
        page_body += f"\n<p>{html.escape(sentences[0])}</p>"
        items = ""
    else:
        page_body += f"\n<p>{html.escape(error_text('page.fix_fields', {}, lang))}</p>"
        items = "".join(f"<li>{html.escape(text)}</li>" for text in sentences)
    if items:
        page_body += f"\n<ul>{items}</ul>"
    if back:
        link = html.escape(error_text("page.back", {}, lang))
        page_body += f'\n<p><a href="{html.escape(back, quote=True)}">&larr; {link}</a></p>'
    return HTMLResponse(
        PAGE.format(lang=lang, title=html.escape(heading), style=STYLE, body=page_body),
        status_code=status,
        headers=headers,
    )


def _with_cors(response: Response, form: intake.FormView | None, origin: str | None) -> Response:
    """Let an allowed site's script read the answer (only the form's listed origins)."""
    response.headers["Vary"] = "Origin"
    if form is not None and origin and form.allowed_origins and form.allows_origin(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for the request line and headers.

    uvicorn times out only an idle keep-alive connection; a client that sends its headers a byte at a
    time (slow-loris) would hold a connection for ever. Here the headers of each request must be
    complete within ``header_timeout`` seconds of its first byte (of the connection, for the first),
    else the client is answered 408 and the connection closed.
    """

    header_timeout: float = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def data_received(self, data: bytes) -> None:
        waiting = self.conn.their_state is h11.IDLE
        if waiting:
            self._arm()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"connection: close\r\ncontent-length: 25\r\n\r\nThe request took too long"
        )
        self.transport.close()


def uvicorn_config(
    app: Starlette,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    header_timeout: float = HEADER_TIMEOUT,
    keep_alive: int = 5,
    **options: Any,
) -> uvicorn.Config:
    """How the intake server runs: the headers guard, a header size limit, no proxy headers (the app
    decides whom to believe, see :func:`client_address`), no ``Server`` header."""
    protocol = type("IntakeH11Protocol", (GuardedH11Protocol,), {"header_timeout": header_timeout})
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        proxy_headers=False,
        timeout_keep_alive=keep_alive,
        h11_max_incomplete_event_size=HEADER_LIMIT,
        server_header=False,
        **options,
    )
