"""The intake server: ``POST /forms/<key>`` from a landing page's form (or its script) becomes a lead.

Accepts ``application/x-www-form-urlencoded`` and ``multipart/form-data`` (what a plain HTML form sends)
and ``application/json``. A browser form gets a 303 redirect to the form's thank-you page, or the
built-in one; JSON gets ``{"ok": true, "status": "created", "lead_id": N}``.

Refusals, none of them a 500: unknown key 404, revoked key 410, a browser post from an origin the form
does not allow 403, a malformed body 400, bad fields 422 (a message per field), a body over the limit
413, another content type 415, too many posts from one address 429, the database busy beyond the retries
503 with ``Retry-After``. Nothing is stored for any of them.

The rules run in one writer thread that owns the database connection (never on the event loop).
Posts that arrive together are written in one transaction, each in its own savepoint, and answered
after its commit (see :class:`Writer`); a database busy with another process's writes is retried with a
short busy timeout, then answered 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import html
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

from peewee import Database, OperationalError, SqliteDatabase
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from crm_tui.data.db import SQLITE_LOCK_TYPE, SQLITE_PRAGMAS, database, is_sqlite, open_database
from crm_tui.data.models import utcnow
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
BATCH = 128  # posts written in one transaction at most
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
JSON_TYPE = "application/json"

THANKS = {
    "en": ("Thank you!", "Thank you! We will call you shortly."),
    "ru": ("Спасибо!", "Спасибо! Мы скоро перезвоним."),
}
PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 4em auto; padding: 0 1em">
{body}
</body></html>
"""


class Refused(Exception):
    """An answer other than success, decided before or after the rules ran."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


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
) -> Starlette:
    """The intake ASGI app on the database at ``db_url`` (migrated when the app is made)."""
    settings = Settings(body_limit, busy_timeout, max(1, retries), retry_after)
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
        try:
            address = request.client.host if request.client else "unknown"
            wait = limiter.hit(address, time.monotonic())
            if wait:
                raise Refused(429, "Too many requests; try again later", {"Retry-After": str(int(wait) + 1)})
            if content_type not in (*FORM_TYPES, JSON_TYPE):
                raise Refused(415, "Send the form as a form (urlencoded or multipart) or as JSON")
            body = await _read_body(request, settings.body_limit)
            fields = await _parse(content_type, body, request.headers)
            referer = request.headers.get("referer", "")
            try:
                outcome = await writer.run(capture_work(key, fields, origin, referer))
            except Busy:
                raise Refused(
                    503, "The desk is busy; please try again", {"Retry-After": str(settings.retry_after)}
                ) from None
            form = outcome.form
            if outcome.error is not None:
                raise outcome.error
            assert outcome.capture is not None
            response = _success(outcome.capture, wants_json, lang)
        except Refused as refused:
            response = _failure(refused.status, refused.message, {}, wants_json, lang, refused.headers)
        except InvalidInput as error:
            response = _failure(422, error.message, error.fields, wants_json, lang)
        except CrmError as error:
            response = _failure(_status_of(error), error.message, {}, wants_json, lang)
        except OperationalError as error:  # the disk or the server, not the request: ask to retry
            log.error("database error: %s", error)
            response = _failure(
                503,
                "The desk is unavailable; please try again",
                {},
                wants_json,
                lang,
                {"Retry-After": str(settings.retry_after)},
            )
        return _with_cors(response, form, origin)

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
    return Starlette(routes=routes, lifespan=lifespan)


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


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise Refused(400, "Bad Content-Length")
        if int(declared) > limit:
            raise Refused(413, f"The form is too large (limit {limit // 1024} KiB)")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"The form is too large (limit {limit // 1024} KiB)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400, "The request ended early") from None
    return b"".join(chunks)


async def _parse(content_type: str, body: bytes, headers: Headers) -> dict[str, str]:
    """The posted fields as text (the first non-empty value of a repeated name)."""
    pairs: list[tuple[str, Any]]
    if content_type == JSON_TYPE:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, "The body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InvalidInput("Send a JSON object of fields", {"body": "not an object"})
        nested = [str(k) for k, v in data.items() if isinstance(v, dict | list)]
        if nested:
            raise InvalidInput("Field values must be text", dict.fromkeys(nested[:20], "must be text"))
        pairs = [(str(k), "" if v is None else str(v)) for k, v in data.items()]
    elif content_type == FORM_TYPES[0]:
        try:
            pairs = parse_qsl(
                body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS
            )
        except ValueError:
            raise Refused(413, "Too many fields") from None
    else:

        async def stream() -> AsyncGenerator[bytes, None]:
            yield body

        parser = MultiPartParser(
            headers, stream(), max_files=0, max_fields=MAX_FIELDS, max_part_size=len(body)
        )
        try:
            form = await parser.parse()
        except MultiPartException as error:
            raise Refused(400, f"Malformed form: {error.message}") from None
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    if len(pairs) > MAX_FIELDS:
        raise Refused(413, "Too many fields")
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
    return HTMLResponse(PAGE.format(lang=lang, title=title, body=f"<h1>{html.escape(text)}</h1>"))


def _failure(
    status: int,
    message: str,
    fields: dict[str, str],
    wants_json: bool,
    lang: str,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_json:
        body: dict[str, Any] = {"ok": False, "error": message}
        if fields:
            body["errors"] = fields
        return JSONResponse(body, status_code=status, headers=headers)
    heading = "Проверьте форму" if lang == "ru" else "Please check the form"
    items = "".join(
        f"<li><b>{html.escape(name)}</b>: {html.escape(problem)}</li>" for name, problem in fields.items()
    )
    page_body = f"<h1>{html.escape(heading)}</h1>\n<p>{html.escape(message)}</p>"
    if items:
        page_body += f"\n<ul>{items}</ul>"
    page_body += '\n<p><a href="javascript:history.back()">&larr;</a></p>'
    title = html.escape(heading)
    return HTMLResponse(
        PAGE.format(lang=lang, title=title, body=page_body), status_code=status, headers=headers
    )


def _with_cors(response: Response, form: intake.FormView | None, origin: str | None) -> Response:
    """Let an allowed site's script read the answer (only the form's listed origins)."""
    response.headers["Vary"] = "Origin"
    if form is not None and origin and form.allowed_origins and form.allows_origin(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
    return response
