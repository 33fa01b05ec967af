"""The head of sales' reports: funnel, sources, velocity, forecast, managers and Pareto (80/20).

Every figure is computed in the database (GROUP BY, window functions, ``ORDER BY ... LIMIT 1 OFFSET k``),
never by a Python loop over rows, and the same SQL runs on SQLite (>= 3.40) and PostgreSQL (>= 15); the two
dialect twins are the time difference in seconds and the month of a date (see :func:`_seconds` and
:func:`_month`). A median or p90 is the value at its rank in ascending order, read with one small query
per group from an index keyed on (group, duration) (migration 7), so nothing is sorted however many
leads or moves there are. The first call of a lead and the end of a stay are stored
(``lead.first_call_at``, ``stage_history.left_at``) by the services that log calls and move deals; their
definitions below are what those columns hold.

Shared definitions
------------------
- **Period**: ``start``/``end`` are calendar dates in UTC, both inclusive (``end`` runs to 24:00). Each
  report says which timestamp the period filters; no period means all time.
- **Owner**: the ``owner`` of the lead or deal (for calls: the user who made the call).
- **Pipeline**: deals of that pipeline (default: the default pipeline). Leads belong to no pipeline; only
  their deals are filtered by it.
- **Amounts** are integer minor units (kopecks) of deals in the report's ``currency`` (default RUB);
  deals in other currencies are counted but add nothing to the sums.
- **Percentages** are ``100 * part / whole`` rounded half-up to 1 decimal; ``None`` when the whole is 0.
- **Durations**: whole seconds in SQL; shown as minutes (first call) or days (stages), rounded half-up to
  1 decimal. **Median** = the middle value, or the mean of the two middle values for an even count;
  **p90** = nearest rank: the smallest value with at least 90% of values at or below it (row number
  ``ceil(0.9 * n)`` in ascending order).
- **First call** of a lead = the earliest ``call_in``/``call_out`` interaction at or after the lead's
  creation that is linked to the lead, or to its contact at or after its conversion
  (``lead.first_call_at``; the delay is ``first_call_at - created_at`` in whole seconds).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crm_tui.data.db import database, is_sqlite
from crm_tui.data.durations import seconds_between
from crm_tui.services import pipelines
from crm_tui.services.errors import InvalidInput
from crm_tui.services.views import format_money

REPORTS = ("funnel", "sources", "velocity", "forecast", "managers", "pareto")
FIRST_CALL_RULE = 3600  # seconds: a new lead is called within an hour (DOMAIN.md)
CALL_KINDS = "('call_in', 'call_out')"
STUCK_LIMIT = 50
PARETO_LIMIT = 100


# ---------------------------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class ReportFilter:
    """What a report covers. ``start``/``end`` are inclusive UTC dates; ``None`` leaves that side open."""

    start: date | None = None
    end: date | None = None
    owner_id: int | None = None
    pipeline_id: int | None = None
    currency: str = "RUB"

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise InvalidInput(f"The period starts ({self.start}) after it ends ({self.end})")

    @property
    def period_label(self) -> str:
        if self.start is None and self.end is None:
            return "all time"
        return f"{self.start or '…'} – {self.end or '…'}"


def period_bounds(flt: ReportFilter) -> tuple[datetime | None, datetime | None]:
    """Half-open ``[start 00:00, end + 1 day 00:00)`` in naive UTC."""
    lo = datetime(flt.start.year, flt.start.month, flt.start.day) if flt.start else None
    hi = datetime(flt.end.year, flt.end.month, flt.end.day) + timedelta(days=1) if flt.end else None
    return lo, hi


class _Sql:
    """Named parameters for one statement; ``p(value)`` returns the dialect's placeholder for it.

    Named (``:p0`` / ``%(p0)s``), so a placeholder may appear several times and in any order.
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.sqlite = is_sqlite()

    def p(self, value: Any) -> str:
        if isinstance(value, datetime) and self.sqlite:
            value = value.strftime("%Y-%m-%d %H:%M:%S")  # the text form Peewee stores on SQLite
        elif isinstance(value, date) and not isinstance(value, datetime) and self.sqlite:
            value = value.isoformat()
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}" if self.sqlite else f"%({name})s"

    def period(self, column: str, flt: ReportFilter, *, dates: bool = False) -> str:
        """``column`` in the period; ``dates=True`` for a DATE column (compared with dates, not times)."""
        lo: date | None
        hi: date | None
        lo, hi = period_bounds(flt)
        if dates:
            lo, hi = flt.start, flt.end + timedelta(days=1) if flt.end else None
        parts = []
        if lo is not None:
            parts.append(f"{column} >= {self.p(lo)}")
        if hi is not None:
            parts.append(f"{column} < {self.p(hi)}")
        return " AND ".join(parts) or "1 = 1"

    def owner(self, column: str, flt: ReportFilter) -> str:
        return f"{column} = {self.p(flt.owner_id)}" if flt.owner_id is not None else "1 = 1"

    def money(self, column: str, currency_column: str, flt: ReportFilter) -> str:
        return f"CASE WHEN {currency_column} = {self.p(flt.currency)} THEN {column} ELSE 0 END"

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return list(database.execute_sql(sql, self.params).fetchall())


def _named(name: str) -> str:
    """The placeholder of a parameter given by name (for a statement built once and run per group)."""
    return f":{name}" if is_sqlite() else f"%({name})s"


def _seconds(later: str, earlier: str) -> str:
    """Whole seconds from ``earlier`` to ``later`` (dialect twins, shared with the report indexes)."""
    return seconds_between(later, earlier)


def _month(column: str) -> str:
    """``YYYY-MM`` of a date column (dialect twins)."""
    if is_sqlite():
        return f"substr({column}, 1, 7)"
    return f"to_char({column}, 'YYYY-MM')"


def _ranked(
    value: str, source: str, where: str, params: dict[str, Any], rank: int, count: int = 1
) -> list[Any]:
    """The values at 1-based ranks ``rank`` .. ``rank + count - 1`` of ``value`` in ascending order.

    ``ORDER BY value LIMIT count OFFSET rank - 1``: with an index whose key is (group columns, value) the
    database walks the index up to the rank and sorts nothing (the report indexes of migration 7).
    """
    q = _Sql()
    q.params.update(params)
    return [
        r[0]
        for r in q.rows(
            f"SELECT {value} FROM {source} WHERE {where} ORDER BY {value} LIMIT {count} OFFSET {rank - 1}"
        )
    ]


def _median(value: str, source: str, where: str, params: dict[str, Any], n: int) -> Decimal | None:
    """Median of the ``n`` values of ``value`` in ``source`` matching ``where``: the middle value, or the
    mean of the two middle ones (ranks ``(n + 1) / 2`` and ``(n + 2) / 2``, integer division)."""
    if n <= 0:
        return None
    lo, hi = (n + 1) // 2, (n + 2) // 2
    values = _ranked(value, source, where, params, lo, hi - lo + 1)
    if len(values) != hi - lo + 1:  # the desk changed between the count and this query
        return None
    return (Decimal(int(values[0])) + Decimal(int(values[-1]))) / 2


def _p90(value: str, source: str, where: str, params: dict[str, Any], n: int) -> int | None:
    """p90 by nearest rank: the value at rank ceil(0.9 n) = ``(9 n + 9) / 10`` (integer division)."""
    if n <= 0:
        return None
    values = _ranked(value, source, where, params, (9 * n + 9) // 10)
    return int(values[0]) if values else None


def pct(part: int | float, whole: int | float) -> float | None:
    """``100 * part / whole`` rounded half-up to 1 decimal; ``None`` for an empty whole."""
    if not whole:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _round1(value: float | Decimal | None, divisor: int = 1) -> float | None:
    if value is None:
        return None
    exact = Decimal(str(value)) / divisor
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _weighted(amount_times_probability: int) -> int:
    """``sum(amount * probability %) / 100`` rounded half-up to whole kopecks."""
    return (int(amount_times_probability) + 50) // 100


ARCHIVED_OUT = "h.deal_id NOT IN (SELECT a.id FROM deal a WHERE a.archived_at IS NOT NULL)"
"""Stage history of archived deals (entered by mistake) is left out; the partial ``deal_archived``
index lists them, so the test costs a lookup in a small set per history row."""


def _pipeline(flt: ReportFilter) -> int:
    return flt.pipeline_id or pipelines.default_pipeline_id()


def _stage_ids(pipeline_id: int, kind: str) -> str:
    """The pipeline's stage ids of one kind as an SQL list (integers from the database, never input).

    Filtering deals by ``stage_id IN (...)`` picks the pipeline's deals through the stage indexes.
    """
    return ", ".join(str(s.id) for s in pipelines.stages(pipeline_id) if s.kind == kind) or "NULL"


# ------------------------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class Table:
    """One table of a report as plain cells: what the CLI prints, the CSV holds and the screen shows."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    money: tuple[int, ...] = ()  # indexes of the columns that hold minor units of the report currency


def cell_text(value: Any, money: bool, currency: str) -> str:
    """A table cell as the CLI and the screen show it: ``-`` for nothing, money with its currency."""
    if value is None:
        return "-"
    if money:
        return format_money(int(value), currency)
    return str(value)


def to_csv(tables: Sequence[Table]) -> str:
    """All tables in one CSV: a ``table`` column first, a header row per table.

    Money stays in minor units (kopecks), and its header says so: ``amount (minor units)``.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for t in tables:
        writer.writerow(
            ["table", *(f"{c} (minor units)" if i in t.money else c for i, c in enumerate(t.columns))]
        )
        for row in t.rows:
            writer.writerow([t.name, *["" if v is None else v for v in row]])
    return out.getvalue()


# ------------------------------------------------------------------------------------------- funnel
@dataclass(frozen=True)
class FunnelStage:
    stage_id: int
    position: int
    name: str
    kind: str
    count: int  # deals of the cohort now at this stage
    amount: int
    reached: int  # deals of the cohort that got at least this far (open and won stages)
    conversion_pct: float | None  # reached(next stage) / reached(this stage)


@dataclass(frozen=True)
class LostReason:
    reason: str
    count: int
    amount: int


@dataclass(frozen=True)
class FunnelReport:
    period: str
    currency: str
    stages: list[FunnelStage]
    leads: int
    converted: int
    won: int
    converted_pct: float | None
    won_of_converted_pct: float | None
    won_of_leads_pct: float | None
    lost: list[LostReason] = field(default_factory=list)

    def tables(self) -> list[Table]:
        stages = tuple(
            (s.position + 1, s.name, s.kind, s.count, s.amount, s.reached, s.conversion_pct)
            for s in self.stages
        )
        chain = (
            ("leads", self.leads, 100.0 if self.leads else None),
            ("contacts (converted)", self.converted, self.converted_pct),
            ("won deals", self.won, self.won_of_leads_pct),
        )
        return [
            Table(
                "stages",
                "Deals by stage",
                ("#", "stage", "kind", "deals now", "amount", "reached", "to next %"),
                stages,
                money=(4,),
            ),
            Table("chain", "Lead → contact → won", ("step", "count", "% of leads"), chain),
            Table(
                "lost",
                "Lost deals by reason",
                ("reason", "deals", "amount"),
                tuple((r.reason, r.count, r.amount) for r in self.lost),
                money=(2,),
            ),
        ]


def funnel(flt: ReportFilter) -> FunnelReport:
    """The sales funnel of one pipeline.

    - Cohort: deals of the pipeline *created* in the period (and owned by the owner, if given).
    - ``count``/``amount``: cohort deals now at each stage.
    - ``reached``: cohort deals whose stage history enters this stage or any later open or won stage
      (a deal that skipped a stage counts as having passed it); ``conversion_pct`` = reached at the next
      stage (open or won) / reached here. Lost stages have no conversion.
    - Chain: leads *created* in the period (owned by the owner); ``converted`` = of them converted into a
      contact (status ``converted``, which a lead keeps); ``won`` = of them whose deal (``lead.deal``, in
      the pipeline) is now won. Percentages of the leads, and
      won of converted.
    - Lost: cohort deals now lost, grouped by reason, largest count first.
    """
    pid = _pipeline(flt)
    all_stages = pipelines.stages(pid)
    # Stages belong to one pipeline, so "stage in the pipeline's stages" selects its deals and lets the
    # (stage, currency, amount) index answer without reading the deal rows.
    in_pipeline = ", ".join(str(s.id) for s in all_stages) or "NULL"
    won_ids = ", ".join(str(s.id) for s in all_stages if s.kind == "won") or "NULL"
    lost_ids = ", ".join(str(s.id) for s in all_stages if s.kind == "lost") or "NULL"
    q = _Sql()
    now_rows = q.rows(
        f"SELECT d.stage_id, COUNT(*), SUM({q.money('d.amount', 'd.currency', flt)}) FROM deal d "
        f"WHERE d.stage_id IN ({in_pipeline}) AND d.archived_at IS NULL AND {q.period('d.created_at', flt)} "
        f"AND {q.owner('d.owner_id', flt)} GROUP BY d.stage_id"
    )
    now_by_stage = {int(r[0]): (int(r[1]), int(r[2] or 0)) for r in now_rows}
    q = _Sql()
    cohort = ""
    if flt.start or flt.end or flt.owner_id is not None:
        cohort = (
            f"h.deal_id IN (SELECT d.id FROM deal d WHERE {q.period('d.created_at', flt)} "
            f"AND d.archived_at IS NULL AND {q.owner('d.owner_id', flt)}) AND "
        )
    else:
        cohort = f"{ARCHIVED_OUT} AND "
    # ``+h.to_stage_id``: read the history in deal order (the (deal, at) index), not stage by stage
    reach_rows = q.rows(
        "SELECT mp, COUNT(*) FROM (SELECT h.deal_id, MAX(s.position) AS mp FROM stage_history h "
        f"JOIN stage s ON s.id = +h.to_stage_id WHERE {cohort}s.kind <> 'lost' "
        f"AND s.pipeline_id = {q.p(pid)} GROUP BY h.deal_id) AS x GROUP BY mp"
    )
    furthest = {int(r[0]): int(r[1]) for r in reach_rows}
    progress = [s for s in all_stages if s.kind != "lost"]
    reached = {s.id: sum(c for pos, c in furthest.items() if pos >= s.position) for s in progress}
    out: list[FunnelStage] = []
    for s in all_stages:
        count, amount = now_by_stage.get(s.id, (0, 0))
        conversion: float | None = None
        if s.kind == "open":
            later = [t for t in progress if t.position > s.position]
            if later:
                conversion = pct(reached[later[0].id], reached[s.id])
        out.append(
            FunnelStage(s.id, s.position, s.name, s.kind, count, amount, reached.get(s.id, 0), conversion)
        )

    q = _Sql()
    leads_in = f"{q.period('l.created_at', flt)} AND {q.owner('l.owner_id', flt)}"
    leads = int(q.rows(f"SELECT COUNT(*) FROM lead l WHERE {leads_in}")[0][0])
    converted = int(q.rows(f"SELECT COUNT(*) FROM lead l WHERE l.status = 'converted' AND {leads_in}")[0][0])
    won = int(
        q.rows(
            f"SELECT COUNT(*) FROM deal d JOIN lead l ON l.deal_id = d.id "
            f"WHERE d.stage_id IN ({won_ids}) AND d.archived_at IS NULL AND {leads_in}"
        )[0][0]
    )

    q = _Sql()
    lost_rows = q.rows(
        f"SELECT COALESCE(d.lost_reason, ''), COUNT(*), SUM({q.money('d.amount', 'd.currency', flt)}) "
        f"FROM deal d WHERE d.stage_id IN ({lost_ids}) AND d.archived_at IS NULL "
        f"AND {q.period('d.created_at', flt)} "
        f"AND {q.owner('d.owner_id', flt)} GROUP BY COALESCE(d.lost_reason, '') "
        "ORDER BY COUNT(*) DESC, COALESCE(d.lost_reason, '')"
    )
    return FunnelReport(
        period=flt.period_label,
        currency=flt.currency,
        stages=out,
        leads=leads,
        converted=converted,
        won=won,
        converted_pct=pct(converted, leads),
        won_of_converted_pct=pct(won, converted),
        won_of_leads_pct=pct(won, leads),
        lost=[LostReason(str(r[0]), int(r[1]), int(r[2] or 0)) for r in lost_rows],
    )


# ------------------------------------------------------------------------------------------ sources
@dataclass(frozen=True)
class SourceRow:
    source: str
    term: str | None  # None: the source's total row
    leads: int
    qualified: int
    converted: int
    won: int
    won_amount: int
    conversion_pct: float | None  # converted / leads
    median_first_call_min: float | None
    called: int  # leads with a first call (the median's sample)


@dataclass(frozen=True)
class SourcesReport:
    period: str
    currency: str
    rows: list[SourceRow]

    def tables(self) -> list[Table]:
        return [
            Table(
                "sources",
                "Sources and keywords",
                (
                    "source",
                    "keyword",
                    "leads",
                    "qualified",
                    "converted",
                    "won",
                    "won amount",
                    "conversion %",
                    "median first call, min",
                ),
                tuple(
                    (
                        r.source,
                        "(all)" if r.term is None else r.term,
                        r.leads,
                        r.qualified,
                        r.converted,
                        r.won,
                        r.won_amount,
                        r.conversion_pct,
                        r.median_first_call_min,
                    )
                    for r in self.rows
                ),
                money=(6,),
            )
        ]


def _first_call_delay() -> str:
    """A lead's first-call delay in whole seconds: the key of the report indexes on ``lead``."""
    return _seconds("l.first_call_at", "l.created_at")


def _leads_in(q: _Sql, flt: ReportFilter, *, scan: bool = False) -> str:
    """Leads (``l``) created in the period and owned by the owner.

    ``scan=True`` for a count over the leads: SQLite is told not to look the period up in the
    ``created_at`` index (``+column``), so it reads the report index, which holds the period's column,
    from end to end (~0.2 s for a million leads) instead of fetching every lead of a long period from the
    table (~1 s for a year). PostgreSQL's planner weighs this itself.
    """
    created = "+l.created_at" if scan and is_sqlite() else "l.created_at"
    return f"{q.period(created, flt)} AND {q.owner('l.owner_id', flt)}"


def sources(flt: ReportFilter) -> SourcesReport:
    """Which channels and keywords bring leads that pay.

    Leads *created* in the period (owned by the owner), grouped by ``utm_source`` (a total row per source,
    ``term`` None) and by ``utm_term`` within it (empty strings are their own group):
    ``qualified`` = ever qualified (``qualified_at`` set), ``converted`` = converted into a contact,
    ``won``/``won_amount`` = their deals (in the pipeline) now won, ``conversion_pct`` = converted / leads,
    ``median_first_call_min`` = median of (first call - lead created) over the leads that were called
    (``lead.first_call_at``, the first call as defined above, kept when calls are logged).
    Ordered by source, the total row first, then keywords by lead count (descending).

    Counts per keyword come from one GROUP BY over the ``lead_report_source_term`` index; each median is
    read at its rank from that index (per keyword) or ``lead_report_source_first_call`` (per source).
    """
    pid = _pipeline(flt)
    q = _Sql()
    counts = q.rows(
        "SELECT l.utm_source, l.utm_term, COUNT(*), "
        "SUM(CASE WHEN l.qualified_at IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN l.converted_at IS NOT NULL THEN 1 ELSE 0 END), COUNT(l.first_call_at) "
        f"FROM lead l WHERE {_leads_in(q, flt, scan=True)} GROUP BY l.utm_source, l.utm_term"
    )
    q = _Sql()
    won_rows = q.rows(
        f"SELECT l.utm_source, l.utm_term, COUNT(*), SUM({q.money('d.amount', 'd.currency', flt)}) "
        "FROM deal d JOIN stage s ON s.id = d.stage_id JOIN lead l ON l.deal_id = d.id "
        f"WHERE s.kind = 'won' AND d.pipeline_id = {q.p(pid)} AND d.archived_at IS NULL "
        f"AND {_leads_in(q, flt)} "
        "GROUP BY l.utm_source, l.utm_term"
    )
    won = {(str(r[0]), str(r[1])): (int(r[2]), int(r[3] or 0)) for r in won_rows}
    delay = _first_call_delay()
    q = _Sql()
    called_in = f"l.first_call_at IS NOT NULL AND {_leads_in(q, flt)}"
    totals: dict[str, list[int]] = {}
    terms: dict[str, list[SourceRow]] = {}
    for src, term, n, qual, conv, called in counts:
        src, term, n, qual, conv, called = str(src), str(term), int(n), int(qual), int(conv), int(called)
        won_n, amount = won.get((src, term), (0, 0))
        params = {**q.params, "src": src, "term": term}
        med = _median(
            delay,
            "lead l",
            f"l.utm_source = {_named('src')} AND l.utm_term = {_named('term')} AND {called_in}",
            params,
            called,
        )
        terms.setdefault(src, []).append(
            SourceRow(src, term, n, qual, conv, won_n, amount, pct(conv, n), _round1(med, 60), called)
        )
        t = totals.setdefault(src, [0, 0, 0, 0, 0, 0])
        for i, v in enumerate((n, qual, conv, won_n, amount, called)):
            t[i] += v
    out: list[SourceRow] = []
    for src in sorted(totals):
        n, qual, conv, won_n, amount, called = totals[src]
        med = _median(
            delay,
            "lead l",
            f"l.utm_source = {_named('src')} AND {called_in}",
            {**q.params, "src": src},
            called,
        )
        out.append(SourceRow(src, None, n, qual, conv, won_n, amount, pct(conv, n), _round1(med, 60), called))
        out.extend(sorted(terms[src], key=lambda r: (-r.leads, r.term or "")))
    return SourcesReport(flt.period_label, flt.currency, out)


# ----------------------------------------------------------------------------------------- velocity
@dataclass(frozen=True)
class StageSpeed:
    stage_id: int
    position: int
    name: str
    stays: int  # completed stays in the sample
    median_days: float | None
    p90_days: float | None
    stale_days: int
    now_in_stage: int
    stuck: int  # open deals now in the stage for longer than ``stale_days``


@dataclass(frozen=True)
class StuckDeal:
    deal_id: int
    title: str
    stage: str
    owner_login: str | None
    days: float
    stale_days: int


@dataclass(frozen=True)
class VelocityReport:
    period: str
    stages: list[StageSpeed]
    stuck: list[StuckDeal]

    def tables(self) -> list[Table]:
        return [
            Table(
                "stages",
                "Days in stage",
                ("#", "stage", "stays", "median days", "p90 days", "threshold", "now", "stuck"),
                tuple(
                    (
                        s.position + 1,
                        s.name,
                        s.stays,
                        s.median_days,
                        s.p90_days,
                        s.stale_days,
                        s.now_in_stage,
                        s.stuck,
                    )
                    for s in self.stages
                ),
            ),
            Table(
                "stuck",
                f"Stuck deals (longest {STUCK_LIMIT})",
                ("deal", "title", "stage", "owner", "days", "threshold"),
                tuple(
                    (d.deal_id, d.title, d.stage, d.owner_login or "", d.days, d.stale_days)
                    for d in self.stuck
                ),
            ),
        ]


def velocity(flt: ReportFilter, *, now: datetime) -> VelocityReport:
    """How long deals stay in each open stage, and which are stuck now.

    A *stay* is a stage-history row of a pipeline deal (owned by the owner) into an open stage, up to the
    deal's next history row in (at, id) order (``stage_history.left_at``, kept when a move is recorded;
    the same as ``LEAD(at) OVER (PARTITION BY deal_id ORDER BY at, id)``); stays still running are left
    out. The sample is the completed stays that *began* in the period. ``median_days``/``p90_days`` of the
    stay lengths (days, 1 decimal), each read at its rank from the ``stage_history_report_stay`` index.
    *Stuck* (no period: it is the state at ``now``): open deals whose time in their current stage
    (``now - stage_entered_at``) exceeds the stage's ``stale_days`` (stages with 0 have no threshold);
    listed longest first, at most 50.
    """
    pid = _pipeline(flt)
    stage_list = pipelines.stages(pid)
    q = _Sql()
    owner = (
        f"h.deal_id IN (SELECT d.id FROM deal d WHERE {q.owner('d.owner_id', flt)} AND d.archived_at IS NULL)"
        if flt.owner_id is not None
        else ARCHIVED_OUT
    )
    completed = f"h.left_at IS NOT NULL AND {q.period('h.at', flt)} AND {owner}"
    counts = q.rows(
        "SELECT h.to_stage_id, COUNT(*) FROM stage_history h "
        f"WHERE h.to_stage_id IN ({_stage_ids(pid, 'open')}) AND {completed} GROUP BY h.to_stage_id"
    )
    stay = _seconds("h.left_at", "h.at")
    speed: dict[int, tuple[int, Decimal | None, int | None]] = {}
    for stage_id, n in counts:
        params = {**q.params, "stage": int(stage_id)}
        where = f"h.to_stage_id = {_named('stage')} AND {completed}"
        speed[int(stage_id)] = (
            int(n),
            _median(stay, "stage_history h", where, params, int(n)),
            _p90(stay, "stage_history h", where, params, int(n)),
        )
    q = _Sql()
    age = _seconds(q.p(now), "d.stage_entered_at")  # one named placeholder, used as often as needed
    now_rows = q.rows(
        f"SELECT d.stage_id, COUNT(*), SUM(CASE WHEN s.stale_days > 0 AND {age} > s.stale_days * 86400 "
        "THEN 1 ELSE 0 END) FROM deal d JOIN stage s ON s.id = d.stage_id "
        f"WHERE d.stage_id IN ({_stage_ids(pid, 'open')}) AND {q.owner('d.owner_id', flt)} "
        "AND d.archived_at IS NULL GROUP BY d.stage_id"
    )
    now_by_stage = {int(r[0]): (int(r[1]), int(r[2] or 0)) for r in now_rows}
    q = _Sql()
    age = _seconds(q.p(now), "d.stage_entered_at")
    stuck_rows = q.rows(
        f"SELECT d.id, d.title, s.name, u.login, {age}, s.stale_days FROM deal d "
        'JOIN stage s ON s.id = d.stage_id LEFT JOIN "user" u ON u.id = d.owner_id '
        f"WHERE d.stage_id IN ({_stage_ids(pid, 'open')}) AND s.stale_days > 0 AND d.archived_at IS NULL "
        f"AND {q.owner('d.owner_id', flt)} AND {age} > s.stale_days * 86400 "
        f"ORDER BY {age} DESC, d.id LIMIT {STUCK_LIMIT}"
    )
    stages_out = []
    for s in stage_list:
        if s.kind != "open":
            continue
        stays, med, p = speed.get(s.id, (0, None, None))
        here, stuck = now_by_stage.get(s.id, (0, 0))
        stages_out.append(
            StageSpeed(
                s.id,
                s.position,
                s.name,
                stays,
                _round1(med, 86400),
                _round1(p, 86400),
                s.stale_days,
                here,
                stuck,
            )
        )
    return VelocityReport(
        flt.period_label,
        stages_out,
        [
            StuckDeal(int(r[0]), str(r[1]), str(r[2]), r[3], _round1(r[4], 86400) or 0.0, int(r[5]))
            for r in stuck_rows
        ],
    )


# ----------------------------------------------------------------------------------------- forecast
@dataclass(frozen=True)
class ForecastLine:
    key: str  # "YYYY-MM" or an owner login ("" = no date / no owner)
    label: str
    deals: int
    amount: int
    weighted: int


@dataclass(frozen=True)
class ForecastReport:
    period: str
    currency: str
    deals: int
    amount: int
    weighted: int
    by_month: list[ForecastLine]
    by_owner: list[ForecastLine]

    def tables(self) -> list[Table]:
        def rows(lines: list[ForecastLine]) -> tuple[tuple[Any, ...], ...]:
            return tuple((x.label, x.deals, x.amount, x.weighted) for x in lines)

        return [
            Table(
                "by_month",
                "Weighted pipeline by expected close",
                ("month", "deals", "amount", "weighted"),
                rows(self.by_month),
                money=(2, 3),
            ),
            Table(
                "by_owner",
                "Weighted pipeline by owner",
                ("owner", "deals", "amount", "weighted"),
                rows(self.by_owner),
                money=(2, 3),
            ),
            Table(
                "total",
                "Total",
                ("", "deals", "amount", "weighted"),
                (("total", self.deals, self.amount, self.weighted),),
                money=(2, 3),
            ),
        ]


def forecast(flt: ReportFilter) -> ForecastReport:
    """The open pipeline weighted by stage probability.

    Deals of the pipeline now at an open stage (owned by the owner). With a period, only those whose
    ``expected_close`` falls in it; without one, all (those with no date under "no date").
    ``weighted`` = sum(amount × stage probability %) / 100, rounded half-up to whole kopecks, per group.
    By month of ``expected_close`` (ascending, "no date" last) and by owner (largest weighted first).
    """
    pid = _pipeline(flt)
    lines: dict[str, list[ForecastLine]] = {}
    for group, key_sql in (("month", _month("d.expected_close")), ("owner", "COALESCE(u.login, '')")):
        q = _Sql()
        money = q.money("d.amount", "d.currency", flt)
        period = q.period("d.expected_close", flt, dates=True)
        sql = (
            f"SELECT {key_sql} AS k, MAX(u.name), COUNT(*), SUM({money}), SUM(({money}) * s.probability) "
            'FROM deal d JOIN stage s ON s.id = d.stage_id LEFT JOIN "user" u ON u.id = d.owner_id '
            f"WHERE d.stage_id IN ({_stage_ids(pid, 'open')}) AND {q.owner('d.owner_id', flt)} "
            f"AND d.archived_at IS NULL AND {period} GROUP BY {key_sql}"
        )
        found = []
        for key, name, count, amount, weighted in q.rows(sql):
            key = key or ""
            if group == "month":
                label = key or "no date"
            else:
                label = f"{key} ({name})" if key and name else (key or "no owner")
            found.append(ForecastLine(key, label, int(count), int(amount or 0), _weighted(weighted or 0)))
        if group == "month":
            found.sort(key=lambda x: (x.key == "", x.key))
        else:
            found.sort(key=lambda x: (-x.weighted, x.key))
        lines[group] = found
    months = lines["month"]
    return ForecastReport(
        flt.period_label,
        flt.currency,
        sum(x.deals for x in months),
        sum(x.amount for x in months),
        sum(x.weighted for x in months),
        months,
        lines["owner"],
    )


# ----------------------------------------------------------------------------------------- managers
@dataclass(frozen=True)
class ManagerRow:
    user_id: int | None
    login: str
    name: str
    leads: int
    calls: int
    talk_seconds: int
    called: int  # of their leads, called at all
    called_within_hour: int
    within_hour_pct: float | None  # called within the hour / leads
    median_first_call_min: float | None
    won: int
    won_amount: int


@dataclass(frozen=True)
class ManagersReport:
    period: str
    currency: str
    rows: list[ManagerRow]

    def tables(self) -> list[Table]:
        return [
            Table(
                "managers",
                "Managers",
                (
                    "login",
                    "name",
                    "leads",
                    "calls",
                    "talk min",
                    "called",
                    "within 1 h",
                    "within 1 h %",
                    "median first call, min",
                    "won",
                    "won amount",
                ),
                tuple(
                    (
                        r.login,
                        r.name,
                        r.leads,
                        r.calls,
                        _round1(r.talk_seconds, 60),
                        r.called,
                        r.called_within_hour,
                        r.within_hour_pct,
                        r.median_first_call_min,
                        r.won,
                        r.won_amount,
                    )
                    for r in self.rows
                ),
                money=(10,),
            )
        ]


def managers(flt: ReportFilter) -> ManagersReport:
    """Each manager's work in the period.

    - ``leads``: leads *created* in the period that the user owns; ``called``/``called_within_hour``: of
      them, those with a first call (``lead.first_call_at``) at all / within one hour of creation (the
      one-hour rule); ``within_hour_pct`` = called within the hour / leads; ``median_first_call_min`` over
      the called ones, read at its rank from the ``lead_report_owner`` index.
    - ``calls``/``talk_seconds``: ``call_in`` + ``call_out`` interactions the user logged (``by``) with
      ``at`` in the period, and their total duration.
    - ``won``/``won_amount``: the user's deals (pipeline) with ``won_at`` in the period.
    Users with nothing in the period are left out; "no owner" collects unowned leads and deals.
    Ordered by won amount, then leads (descending).
    """
    pid = _pipeline(flt)
    q = _Sql()
    delay = _first_call_delay()
    counted = q.rows(
        "SELECT l.owner_id, COUNT(*), COUNT(l.first_call_at), "
        f"SUM(CASE WHEN {delay} <= {FIRST_CALL_RULE} THEN 1 ELSE 0 END) "
        f"FROM lead l WHERE {_leads_in(q, flt, scan=True)} GROUP BY l.owner_id"
    )
    lead_rows = []
    called_in = f"l.first_call_at IS NOT NULL AND {_leads_in(q, flt)}"
    for uid, n, called, within in counted:
        if uid is None:
            med = _median(delay, "lead l", f"l.owner_id IS NULL AND {called_in}", q.params, int(called))
        else:
            params = {**q.params, "owner": int(uid)}
            med = _median(
                delay, "lead l", f"l.owner_id = {_named('owner')} AND {called_in}", params, int(called)
            )
        lead_rows.append((uid, n, called, within, med))
    q = _Sql()
    call_rows = q.rows(
        "SELECT i.by_id, COUNT(*), SUM(COALESCE(i.duration, 0)) FROM interaction i "
        f"WHERE i.kind IN {CALL_KINDS} "
        f"AND {q.period('i.at', flt)} AND {q.owner('i.by_id', flt)} GROUP BY i.by_id"
    )
    q = _Sql()
    won_rows = q.rows(
        f"SELECT d.owner_id, COUNT(*), SUM({q.money('d.amount', 'd.currency', flt)}) FROM deal d "
        f"WHERE d.stage_id IN ({_stage_ids(pid, 'won')}) AND d.won_at IS NOT NULL "
        f"AND d.archived_at IS NULL AND {q.period('d.won_at', flt)} "
        f"AND {q.owner('d.owner_id', flt)} GROUP BY d.owner_id"
    )
    stats: dict[int | None, dict[str, Any]] = {}

    def slot(uid: Any) -> dict[str, Any]:
        return stats.setdefault(None if uid is None else int(uid), {})

    for uid, n, called, within, med in lead_rows:
        slot(uid).update(leads=int(n), called=int(called), within=int(within or 0), med=med)
    for uid, n, secs in call_rows:
        slot(uid).update(calls=int(n), talk=int(secs or 0))
    for uid, n, amount in won_rows:
        slot(uid).update(won=int(n), won_amount=int(amount or 0))
    ids = [uid for uid in stats if uid is not None]
    names: dict[int, tuple[str, str]] = {}
    if ids:
        q = _Sql()
        marks = ", ".join(q.p(i) for i in ids)
        names = {
            int(r[0]): (r[1], r[2])
            for r in q.rows(f'SELECT id, login, name FROM "user" WHERE id IN ({marks})')
        }
    out = []
    for uid, st in stats.items():
        login, name = names.get(uid, ("", "no owner")) if uid is not None else ("", "no owner")
        leads = st.get("leads", 0)
        out.append(
            ManagerRow(
                uid,
                login,
                name,
                leads,
                st.get("calls", 0),
                st.get("talk", 0),
                st.get("called", 0),
                st.get("within", 0),
                pct(st.get("within", 0), leads),
                _round1(st.get("med"), 60),
                st.get("won", 0),
                st.get("won_amount", 0),
            )
        )
    out.sort(key=lambda r: (-r.won_amount, -r.leads, r.login))
    return ManagersReport(flt.period_label, flt.currency, out)


# ------------------------------------------------------------------------------------------- pareto
@dataclass(frozen=True)
class ParetoClient:
    kind: str  # "company" | "contact"
    client_id: int
    name: str
    revenue: int
    share_pct: float | None  # of all won revenue
    cumulative_pct: float | None


@dataclass(frozen=True)
class ParetoReport:
    period: str
    currency: str
    revenue: int  # all won revenue in the period
    clients: int  # clients with won revenue in the period
    top_clients: int  # the fewest clients that bring at least 80% of it
    top_revenue: int
    top_share_pct: float | None  # top_clients / clients
    top_revenue_pct: float | None
    rows: list[ParetoClient]  # the top clients, largest first (at most 100)

    def tables(self) -> list[Table]:
        return [
            Table(
                "summary",
                "80/20",
                ("clients", "top clients", "% of clients", "revenue", "top revenue", "% of revenue"),
                (
                    (
                        self.clients,
                        self.top_clients,
                        self.top_share_pct,
                        self.revenue,
                        self.top_revenue,
                        self.top_revenue_pct,
                    ),
                ),
                money=(3, 4),
            ),
            Table(
                "clients",
                f"Clients that bring 80% of revenue (first {PARETO_LIMIT})",
                ("kind", "id", "client", "revenue", "% of revenue", "cumulative %"),
                tuple(
                    (c.kind, c.client_id, c.name, c.revenue, c.share_pct, c.cumulative_pct) for c in self.rows
                ),
                money=(3,),
            ),
        ]


def pareto(flt: ReportFilter) -> ParetoReport:
    """The clients that bring 80% of won revenue.

    Won deals of the pipeline (owner's, if given) with ``won_at`` in the period, in the report currency.
    A client is the deal's company, or its contact when it has no company (deals with neither are left
    out). Clients are ranked by revenue (descending, ties by kind and id); the top set is the shortest
    prefix whose cumulative revenue reaches 80% of the total (a client is in it when the revenue before
    it is still below 80%). ``top_share_pct`` = top clients / clients with revenue in the period.
    """
    pid = _pipeline(flt)
    q = _Sql()
    per = (
        "SELECT CASE WHEN d.company_id IS NOT NULL THEN 'company' ELSE 'contact' END AS kind, "
        "COALESCE(d.company_id, d.contact_id) AS cid, SUM(d.amount) AS rev FROM deal d "
        f"WHERE d.stage_id IN ({_stage_ids(pid, 'won')}) AND d.won_at IS NOT NULL "
        f"AND d.archived_at IS NULL AND {q.period('d.won_at', flt)} "
        f"AND d.currency = {q.p(flt.currency)} AND {q.owner('d.owner_id', flt)} "
        "AND (d.company_id IS NOT NULL OR d.contact_id IS NOT NULL) "
        "GROUP BY CASE WHEN d.company_id IS NOT NULL THEN 'company' ELSE 'contact' END, "
        "COALESCE(d.company_id, d.contact_id)"
    )
    ranked = (
        f"WITH per AS ({per}), ranked AS (SELECT kind, cid, rev, "
        "SUM(rev) OVER (ORDER BY rev DESC, kind, cid ROWS UNBOUNDED PRECEDING) AS cum, "
        "SUM(rev) OVER () AS total, COUNT(*) OVER () AS n FROM per WHERE rev > 0) "
    )
    summary = q.rows(
        ranked + "SELECT MAX(n), MAX(total), SUM(CASE WHEN (cum - rev) * 10 < total * 8 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN (cum - rev) * 10 < total * 8 THEN rev ELSE 0 END) FROM ranked"
    )[0]
    clients, total = int(summary[0] or 0), int(summary[1] or 0)
    top, top_rev = int(summary[2] or 0), int(summary[3] or 0)
    rows = q.rows(
        ranked + "SELECT r.kind, r.cid, COALESCE(c.name, p.name, ''), r.rev, r.cum, r.total FROM ranked r "
        "LEFT JOIN company c ON r.kind = 'company' AND c.id = r.cid "
        "LEFT JOIN contact p ON r.kind = 'contact' AND p.id = r.cid "
        f"WHERE (r.cum - r.rev) * 10 < r.total * 8 ORDER BY r.rev DESC, r.kind, r.cid LIMIT {PARETO_LIMIT}"
    )
    return ParetoReport(
        flt.period_label,
        flt.currency,
        total,
        clients,
        top,
        top_rev,
        pct(top, clients),
        pct(top_rev, total),
        [
            ParetoClient(
                str(r[0]), int(r[1]), str(r[2]), int(r[3]), pct(int(r[3]), total), pct(int(r[4]), total)
            )
            for r in rows
        ],
    )


# -------------------------------------------------------------------------------------------- entry
Report = FunnelReport | SourcesReport | VelocityReport | ForecastReport | ManagersReport | ParetoReport


@contextmanager
def snapshot() -> Iterator[None]:
    """One read transaction for all the queries of a report, so its counts and the ranks read for its
    medians see the same desk while others write (SQLite: a deferred transaction takes no write lock;
    PostgreSQL: repeatable read). Inside a transaction already, that transaction is the snapshot."""
    if database.in_transaction():
        yield
        return
    if is_sqlite():
        with database.atomic("DEFERRED"):
            yield
        return
    with database.atomic():
        database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def run(name: str, flt: ReportFilter, *, now: datetime) -> Report:
    """Compute a report by name (the CLI and the Reports screen go through here), in one snapshot."""
    with snapshot():
        return _run(name, flt, now=now)


def _run(name: str, flt: ReportFilter, *, now: datetime) -> Report:
    if name == "funnel":
        return funnel(flt)
    if name == "sources":
        return sources(flt)
    if name == "velocity":
        return velocity(flt, now=now)
    if name == "forecast":
        return forecast(flt)
    if name == "managers":
        return managers(flt)
    if name == "pareto":
        return pareto(flt)
    raise InvalidInput(f"Unknown report {name!r}; one of: {', '.join(REPORTS)}", {"report": "unknown"})
