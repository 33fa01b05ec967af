"""Documents made from a deal's lines: the proposal (КП), the invoice (счёт на оплату) and the act of
work done (акт выполненных работ).

Each is numbered per kind and dated; making one again for the same deal and kind keeps its number and
takes the next version (a revised proposal is version 2). Every version keeps a snapshot of what it
said: the lines, the totals and the VAT, the total in words, the desk's requisites (``company.*``
settings) and the client, so a later change of the lines or the requisites never alters an issued
document. Making and sending a version go into the deal's history.

Rendering: the snapshot fills an HTML template (Jinja2; the desk may keep edited copies in the folder of
the ``documents.templates`` setting, the shipped RU and EN ones are the fallback), which fpdf2 draws into
a PDF with the DejaVu font (Cyrillic). A template error is refused with its file and line, and nothing is
returned: never half a document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from peewee import fn

from crm_tui.data.db import database, is_postgres
from crm_tui.data.doc_models import Document
from crm_tui.data.models import Company, Contact, Interaction, Stage
from crm_tui.services import deal_lines, deals, settings
from crm_tui.services.errors import CrmError, InvalidInput, NotFound, RuleViolation

KINDS = ("proposal", "invoice", "act")
FORMATS = ("pdf", "docx", "html")
LANGS = ("ru", "en")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "documents"
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
ISSUED_EVENT = "doc.issued"
SENT_EVENT = "doc.sent"


class TemplateError(CrmError):
    title = "Template error"
    code = "template.error"


@dataclass(frozen=True)
class DocView:
    id: int
    deal_id: int
    kind: str
    number: int
    version: int
    lang: str
    issued_at: datetime
    total: int
    currency: str
    sent_at: datetime | None
    by_login: str | None

    @property
    def label(self) -> str:
        """``proposal 3 v2``: how a person names it."""
        return f"{self.kind} {self.number}" + (f" v{self.version}" if self.version > 1 else "")


def _to_view(d: Document) -> DocView:
    return DocView(
        id=d.id,
        deal_id=d.deal_id,
        kind=d.kind,
        number=d.number,
        version=d.version,
        lang=d.lang,
        issued_at=d.issued_at,
        total=d.total,
        currency=d.currency,
        sent_at=d.sent_at,
        by_login=d.by.login if d.by_id else None,
    )


def _doc(doc_id: int) -> Document:
    found = Document.get_or_none(Document.id == doc_id)
    if found is None:
        raise NotFound(f"No document #{doc_id}", code="doc.not_found", params={"doc": doc_id})
    return found


def get(doc_id: int) -> DocView:
    """A document's number, kind, version, deal, language, date, total and whether it was sent."""
    return _to_view(_doc(doc_id))


def for_deal(deal_id: int) -> list[DocView]:
    deals.row(deal_id)
    query = Document.select().where(Document.deal == deal_id).order_by(Document.issued_at, Document.id)
    return [_to_view(d) for d in query]


def snapshot(doc_id: int) -> dict[str, Any]:
    """What the document says, as issued."""
    return json.loads(_doc(doc_id).snapshot)


def parse_kind(text: str) -> str:
    value = text.strip().lower()
    if value not in KINDS:
        raise InvalidInput(
            f"Not a document kind: {text!r} (proposal, invoice or act)",
            {"kind": "unknown"},
            code="doc.kind_invalid",
            params={"value": text},
        )
    return value


def parse_lang(text: str) -> str:
    value = text.strip().lower()
    if value not in LANGS:
        raise InvalidInput(
            f"Not a document language: {text!r} (ru or en)",
            {"lang": "unknown"},
            code="lang.invalid",
            params={"value": text},
        )
    return value


def client_lang(contact: Contact | None) -> str | None:
    """A contact tagged ``en`` (or ``english``, ``lang:en``) gets English documents; ``ru`` alike."""
    if contact is None:
        return None
    tags = {t.strip().lower() for t in (contact.tags or "").replace(";", ",").split(",")}
    for lang, names in (("en", ("en", "english", "lang:en")), ("ru", ("ru", "russian", "lang:ru"))):
        if tags & set(names):
            return lang
    return None


def amount_words(amount: int, currency: str, lang: str) -> str:
    """``12000000, "RUB", "ru"`` -> ``сто двадцать тысяч рублей 00 копеек`` (num2words)."""
    from num2words import num2words

    code = currency if currency in ("RUB", "USD", "EUR") else "RUB"
    words = num2words(amount, lang=lang, to="currency", currency=code, cents=False, separator="")
    words = str(words)
    return words[:1].upper() + words[1:]


def requisites() -> dict[str, str]:
    return {
        name.removeprefix("company."): str(settings.value(name))
        for name in settings.KEYS
        if name.startswith("company.")
    }


def _line_json(r: deal_lines.LineRow) -> dict[str, Any]:
    return {
        "n": r.position,
        "text": r.text,
        "quantity": r.quantity,
        "unit": r.unit,
        "price": r.price,
        "discount": r.discount,
        "vat_rate": r.vat_rate,
        "total": r.total,
        "vat": r.vat,
    }


def new(deal_id: int, kind: str, *, lang: str | None = None, by: int | None, now: datetime) -> DocView:
    """Make the next version of the deal's ``kind`` document from its lines as they are now.

    Refuses an unknown deal (``deal.not_found``), an archived one (``deal.archived``), a deal without
    lines (``doc.no_lines``), an act of a lost deal (``doc.deal_lost``)."""
    kind = parse_kind(kind)
    chosen = parse_lang(lang) if lang else None
    with database.atomic():
        deal = deals._get(deal_id, lock=True)
        deals._live(deal)
        stage = Stage.get_by_id(deal.stage_id)
        if kind == "act" and stage.kind == "lost":
            raise RuleViolation(
                f"Deal #{deal.id} is lost: no act of work done for it",
                code="doc.deal_lost",
                params={"deal": deal.id},
            )
        rows = deal_lines.lines(deal.id)
        if not rows:
            raise RuleViolation(
                f"Deal #{deal.id} has no lines; add them first (crm deal line add {deal.id} ...)",
                code="doc.no_lines",
                params={"deal": deal.id},
            )
        contact = Contact.get_or_none(Contact.id == deal.contact_id) if deal.contact_id else None
        company_id = deal.company_id or (contact.company_id if contact else None)
        company = Company.get_or_none(Company.id == company_id) if company_id else None
        doc_lang = chosen or client_lang(contact) or settings.value("documents.lang")
        if is_postgres():  # numbers are desk-wide per kind: one maker at a time
            database.execute_sql("LOCK TABLE document IN SHARE ROW EXCLUSIVE MODE")
        earlier = (
            Document.select(Document.number, fn.MAX(Document.version))
            .where((Document.deal == deal.id) & (Document.kind == kind))
            .group_by(Document.number)
            .order_by(Document.number.desc())
            .tuples()
            .first()
        )
        if earlier:
            number, version = earlier[0], earlier[1] + 1
        else:
            top = Document.select(fn.MAX(Document.number)).where(Document.kind == kind).scalar()
            number, version = (top or 0) + 1, 1
        sums = deal_lines.totals(rows)
        valid_days = int(settings.value("documents.proposal_days"))
        body = {
            "kind": kind,
            "number": number,
            "version": version,
            "lang": doc_lang,
            "date": now.date().isoformat(),
            "valid_until": (now.date() + timedelta(days=valid_days)).isoformat()
            if kind == "proposal"
            else None,
            "currency": deal.currency,
            "deal": {"id": deal.id, "title": deal.title},
            "client": {
                "contact": contact.name if contact else "",
                "company": company.name if company else "",
            },
            "seller": requisites(),
            "lines": [_line_json(r) for r in rows],
            "total": sums.total,
            "vat": sums.vat,
            "by_rate": sums.by_rate,
            "words": amount_words(sums.total, deal.currency, doc_lang),
        }
        doc = Document.create(
            deal=deal.id,
            kind=kind,
            number=number,
            version=version,
            lang=doc_lang,
            issued_at=now,
            by=by,
            total=sums.total,
            currency=deal.currency,
            snapshot=json.dumps(body, ensure_ascii=False),
        )
        _event(doc, ISSUED_EVENT, by=by, now=now, contact_id=deal.contact_id, title=deal.title)
    return get(doc.id)


def mark_sent(doc_id: int, *, by: int | None, now: datetime) -> DocView:
    """Record that this version went to the client (its history says which version)."""
    with database.atomic():
        doc = _doc(doc_id)
        deal = deals._get(doc.deal_id, lock=True)
        doc.sent_at = now
        doc.save()
        _event(doc, SENT_EVENT, by=by, now=now, contact_id=deal.contact_id, title=deal.title)
    return get(doc_id)


def _event(
    doc: Document, code: str, *, by: int | None, now: datetime, contact_id: int | None, title: str
) -> None:
    Interaction.create(
        kind="document",
        by=by,
        at=now,
        contact=contact_id,
        deal=doc.deal_id,
        subject=f"{doc.kind} {doc.number} v{doc.version}",
        outcome="sent" if code == SENT_EVENT else "issued",
        data=json.dumps(
            {"code": code, "doc": doc.id, "kind": doc.kind, "number": doc.number, "version": doc.version}
        ),
    )


# --- rendering ---------------------------------------------------------------------------------------


def _money(amount: int) -> str:
    """``1200000`` -> ``12 000,00`` (a document shows the kopecks, with a comma, as accountants write)."""
    whole, cents = divmod(amount, 100)
    return f"{whole:,}".replace(",", "\u00a0") + f",{cents:02d}"


def _date(text: str | None, lang: str) -> str:
    if not text:
        return ""
    day = date.fromisoformat(text)
    return day.strftime("%d.%m.%Y") if lang == "ru" else day.isoformat()


def _template_dirs() -> list[Path]:
    dirs: list[Path] = []
    own = str(settings.value("documents.templates") or "")
    if own:
        dirs.append(Path(own).expanduser())
    dirs.append(TEMPLATES)
    return dirs


def render_html(body: dict[str, Any]) -> str:
    """The snapshot through its template (``<lang>/<kind>.html``), as HTML text."""
    import jinja2

    lang = body["lang"]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in _template_dirs()]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["money"] = _money
    env.filters["day"] = lambda text: _date(text, lang)
    env.filters["vat"] = lambda rate: (
        ("без НДС" if lang == "ru" else "no VAT") if rate is None else f"{rate}%"
    )
    name = f"{lang}/{body['kind']}.html"
    try:
        template = env.get_template(name)
        return template.render(doc=body, money_words=body["words"])
    except jinja2.TemplateSyntaxError as error:
        raise _template_error(
            error.filename or error.name or name, error.lineno, error.message or ""
        ) from error
    except jinja2.TemplateNotFound as error:
        raise TemplateError(
            f"No document template {error.name} in {', '.join(str(d) for d in _template_dirs())}",
            code="template.missing",
            params={"template": error.name},
        ) from error
    except Exception as error:  # noqa: BLE001 - an undefined name or a bad filter in the desk's template
        filename, line = _template_frame(error)
        raise _template_error(filename or name, line, str(error)) from error


def _template_frame(error: BaseException) -> tuple[str | None, int | None]:
    """The template file and line an error was raised at (Jinja2 maps its frames to the template)."""
    tb = error.__traceback__
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".html"):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _template_error(filename: str, line: int | None, message: str) -> TemplateError:
    where = f"{filename}, line {line}" if line else filename
    return TemplateError(
        f"Document template {where}: {message}",
        code="template.error",
        params={"template": filename, "line": line, "message": message},
    )


def _font_dir() -> Path:
    for folder in FONT_DIRS:
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    raise CrmError(
        "No DejaVu font for PDF documents: install the fonts-dejavu-core package",
        "Font missing",
        code="font.missing",
        params={"font": "DejaVuSans.ttf"},
    )


def pdf_from_html(html: str) -> bytes:
    from fpdf import FPDF

    folder = _font_dir()
    pdf = FPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("DejaVu", "", str(folder / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(folder / "DejaVuSans-Bold.ttf"))
    for style, file in (("I", "DejaVuSans-Oblique.ttf"), ("BI", "DejaVuSans-BoldOblique.ttf")):
        path = folder / file
        pdf.add_font("DejaVu", style, str(path if path.is_file() else folder / "DejaVuSans.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", size=9)
    try:
        pdf.write_html(html, font_family="DejaVu")
    except Exception as error:  # noqa: BLE001 - HTML the PDF drawer cannot lay out
        raise TemplateError(
            f"Document template cannot be drawn as PDF: {error}",
            code="template.layout",
            params={"message": str(error)},
        ) from error
    return bytes(pdf.output())


def docx_from_body(body: dict[str, Any]) -> bytes:
    """A Word document with the same content (python-docx), for a client who edits before signing."""
    try:
        import docx  # type: ignore[import-untyped]
    except ImportError as error:
        raise CrmError(
            "DOCX needs the python-docx package (pip install python-docx)",
            code="format.unavailable",
            params={"format": "docx"},
        ) from error
    import io

    from crm_tui.services.doc_words import WORDS

    lang = body["lang"]
    w = WORDS[lang]
    document = docx.Document()
    title = w[f"title.{body['kind']}"].format(number=body["number"], date=_date(body["date"], lang))
    if body["version"] > 1:
        title += f" ({w['version']} {body['version']})"
    document.add_heading(title, level=1)
    seller = body["seller"]
    document.add_paragraph(f"{w['seller']}: {seller.get('name') or ''}")
    client = body["client"]
    document.add_paragraph(f"{w['buyer']}: {client.get('company') or client.get('contact') or ''}")
    heads = [w["col.n"], w["col.text"], w["col.qty"], w["col.unit"], w["col.price"], w["col.discount"]]
    heads += [w["col.vat"], w["col.total"]]
    table = document.add_table(rows=1, cols=len(heads))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, heads, strict=True):
        cell.text = text
    for line in body["lines"]:
        cells = table.add_row().cells
        vat = (w["no_vat"]) if line["vat_rate"] is None else f"{line['vat_rate']}%"
        values = [str(line["n"]), line["text"], line["quantity"], line["unit"], _money(line["price"])]
        values += [f"{line['discount']}%" if line["discount"] != "0" else "", vat, _money(line["total"])]
        for cell, text in zip(cells, values, strict=True):
            cell.text = text
    document.add_paragraph(f"{w['total']}: {_money(body['total'])}")
    document.add_paragraph(f"{w['vat_total']}: {_money(body['vat'])}" if body["vat"] else w["no_vat_total"])
    document.add_paragraph(f"{w['to_pay']}: {body['words']}")
    document.add_paragraph(f"{w['sign']} ____________ / {seller.get('director') or ''} /     {w['stamp']}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def render(doc_id: int, fmt: str = "pdf") -> bytes:
    """The document as ``pdf``, ``docx`` or ``html`` bytes, from its snapshot: the same bytes for the
    same version whatever happened to the deal since. A template error raises ``template.error``."""
    value = fmt.strip().lower()
    if value not in FORMATS:
        raise InvalidInput(
            f"Not a document format: {fmt!r} (pdf, docx or html)",
            {"format": "unknown"},
            code="format.invalid",
            params={"value": fmt},
        )
    body = snapshot(doc_id)
    if value == "docx":
        return docx_from_body(body)
    html = render_html(body)
    if value == "html":
        return html.encode("utf-8")
    return pdf_from_html(html)
