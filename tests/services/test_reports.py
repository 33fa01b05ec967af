"""Reports on small desks built by hand, where every right answer is known and checked exactly.

Rounding as documented in crm_tui.services.reports: percentages and durations half-up to 1 decimal,
weighted money half-up to whole kopecks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from peewee import Database

from crm_tui.data.db import database
from crm_tui.services import deals, interactions, leads, reports
from crm_tui.services.errors import InvalidInput
from crm_tui.services.reports import ReportFilter
from tests.desk_fixtures import Desk, any_backend_desk

NOW = datetime(2026, 3, 2, 9, 0, 0)
DAY = timedelta(days=1)
MIN = timedelta(minutes=1)
MARCH = ReportFilter(start=date(2026, 2, 1), end=date(2026, 3, 2))  # the period most tests look at
_phones = count(1000)


def lead(
    at: datetime,
    *,
    source: str = "",
    term: str = "",
    owner: int | None = None,
    company: str = "",
    name: str = "Клиент",
) -> int:
    new = leads.NewLead(
        name,
        f"+7 916 555-{next(_phones):04d}",
        company_name=company,
        utm_source=source,
        utm_term=term,
        owner_id=owner,
    )
    return leads.register(new, by=owner, now=at).id


def convert(lead_id: int, at: datetime, amount: int = 0) -> int:
    deal_id = leads.convert(lead_id, by=None, now=at, qualify_first=True).deal_id
    if amount:
        deals.update_amount(deal_id, amount, by=None, now=at)
    return deal_id


def call(
    at: datetime,
    *,
    lead_id: int | None = None,
    contact_id: int | None = None,
    by: int | None = None,
    seconds: int = 60,
) -> None:
    interactions.log(
        "call_out", by=by, now=at, at=at, lead_id=lead_id, contact_id=contact_id, duration=seconds
    )


def win(deal_id: int, at: datetime) -> None:
    """Walk an open deal through the remaining stages and win it at ``at`` (acts signed first)."""
    while deals.row(deal_id).stage_position < 5:
        deals.step(deal_id, 1, by=None, now=at)
    deals.sign_acts(deal_id, by=None, now=at)
    deals.win(deal_id, by=None, now=at)


def new_deal(title: str, **kwargs: object) -> int:
    return deals.create(title, **kwargs).id  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    """The same SQL on both backends: SQLite always, PostgreSQL when ``CRM_TEST_PG_URL`` names a server."""
    with any_backend_desk(request.param, tmp_path) as opened:
        yield opened
        if not opened.db.is_closed():
            opened.db.close()


@pytest.fixture
def db(desk: Desk) -> Database:
    return desk.db


@pytest.fixture
def anna(desk: Desk) -> int:
    return desk.anna_id


# -------------------------------------------------------------------------------------------- funnel
def test_funnel_counts_now_reached_conversion_chain_and_lost_reasons(db: Database) -> None:
    t = NOW - 10 * DAY
    lead(t)  # a lead never converted
    parked = convert(lead(t), t, amount=10_000_000)  # stays at stage 2, where a converted lead's deal opens
    won = convert(lead(t), t, amount=25_000_000)
    win(won, t + DAY)
    second = new_deal("Второй этап", contact_id=None, amount=5_000_000, by=None, now=t)
    deals.step(second, 1, by=None, now=t + DAY)
    lost = new_deal("Потерянная", contact_id=None, amount=7_000_000, by=None, now=t)
    deals.move(lost, "3", by=None, now=t + DAY)
    deals.lose(lost, "Дорого", by=None, now=t + 2 * DAY)
    new_deal("До периода", contact_id=None, amount=1, by=None, now=datetime(2026, 1, 5))
    assert parked

    report = reports.funnel(MARCH)

    by_name = {s.name: s for s in report.stages}
    assert [(s.count, s.amount) for s in report.stages] == [
        (0, 0),
        (2, 15_000_000),
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 0),
        (1, 25_000_000),
        (1, 7_000_000),
    ]
    # reached: 4 deals entered stage 1 or a later one; all 4 got to stage 2 or later (the converted ones
    # opened there, the lost one skipped it); 2 got to stage 3; only the won one went further.
    assert [s.reached for s in report.stages] == [4, 4, 2, 1, 1, 1, 1, 0]
    assert [s.conversion_pct for s in report.stages] == [100.0, 50.0, 50.0, 100.0, 100.0, 100.0, None, None]
    assert by_name["Won"].count == 1
    assert (report.leads, report.converted, report.won) == (3, 2, 1)
    assert (report.converted_pct, report.won_of_leads_pct, report.won_of_converted_pct) == (66.7, 33.3, 50.0)
    assert [(r.reason, r.count, r.amount) for r in report.lost] == [("Дорого", 1, 7_000_000)]

    everything = reports.funnel(ReportFilter())
    assert everything.stages[0].count == 1 and everything.stages[0].reached == 5


def test_funnel_for_one_owner(db: Database, anna: int) -> None:
    t = NOW - DAY
    convert(lead(t, owner=anna), t, amount=100)
    convert(lead(t), t, amount=900)
    report = reports.funnel(ReportFilter(owner_id=anna))
    assert (report.stages[1].count, report.stages[1].amount) == (1, 100)
    assert (report.leads, report.converted) == (1, 1)


# ------------------------------------------------------------------------------------------- sources
def test_sources_by_channel_and_keyword(db: Database) -> None:
    t = NOW - 5 * DAY
    a = lead(t, source="yandex", term="crm")
    call(t + 30 * MIN, lead_id=a)
    call(t + 40 * MIN, lead_id=a)  # not the first call
    b = lead(t, source="yandex", term="crm")
    call(t + 90 * MIN, lead_id=b)
    won_deal = convert(b, t + DAY, amount=12_345_00)
    win(won_deal, t + 2 * DAY)
    c = lead(t, source="yandex", term="crm купить")
    call(t + 45 * MIN, lead_id=c)
    leads.qualify(c, by=None, now=t + DAY)
    lead(t, source="yandex", term="crm купить")  # never called
    g = lead(t, source="google")
    g_contact = leads.convert(g, by=None, now=t + 5 * MIN, qualify_first=True).contact_id
    call(t + 10 * MIN, contact_id=g_contact)  # after conversion the contact's calls count
    lead(datetime(2026, 1, 10), source="yandex", term="crm")  # before the period

    rows = {(r.source, r.term): r for r in reports.sources(MARCH).rows}

    assert list(rows) == [
        ("google", None),
        ("google", ""),
        ("yandex", None),
        ("yandex", "crm"),
        ("yandex", "crm купить"),
    ]
    y = rows[("yandex", None)]
    assert (y.leads, y.qualified, y.converted, y.won, y.won_amount) == (4, 2, 1, 1, 12_345_00)
    assert y.conversion_pct == 25.0
    assert (y.called, y.median_first_call_min) == (3, 45.0)  # 30, 45, 90 minutes
    crm = rows[("yandex", "crm")]
    assert (crm.leads, crm.converted, crm.won, crm.conversion_pct) == (2, 1, 1, 50.0)
    assert crm.median_first_call_min == 60.0  # mean of 30 and 90
    buy = rows[("yandex", "crm купить")]
    assert (buy.leads, buy.qualified, buy.called, buy.median_first_call_min) == (2, 1, 1, 45.0)
    google = rows[("google", None)]
    assert (google.leads, google.converted, google.conversion_pct, google.median_first_call_min) == (
        1,
        1,
        100.0,
        10.0,
    )

    everything = {(r.source, r.term): r for r in reports.sources(ReportFilter()).rows}
    assert everything[("yandex", "crm")].leads == 3
    assert everything[("yandex", "crm")].conversion_pct == 33.3


# ------------------------------------------------------------------------------------------ velocity
def test_velocity_median_p90_and_stuck_deals(db: Database) -> None:
    t0 = NOW - 20 * DAY
    x = new_deal("X", contact_id=None, by=None, now=t0)
    deals.step(x, 1, by=None, now=t0 + DAY)
    deals.step(x, 1, by=None, now=t0 + 3 * DAY)
    y = new_deal("Y", contact_id=None, by=None, now=t0)
    deals.step(y, 1, by=None, now=t0 + 2 * DAY)
    deals.step(y, 1, by=None, now=t0 + timedelta(days=2, hours=12))
    z = new_deal("Z", contact_id=None, by=None, now=t0)
    deals.step(z, 1, by=None, now=t0 + 4 * DAY)
    fresh = new_deal("Fresh", contact_id=None, by=None, now=NOW - timedelta(hours=1))

    report = reports.velocity(ReportFilter(), now=NOW)

    first, second, third = report.stages[:3]
    assert (first.stays, first.median_days, first.p90_days) == (3, 2.0, 4.0)  # 1, 2, 4 days
    assert (second.stays, second.median_days, second.p90_days) == (2, 1.3, 2.0)  # 2 and 0.5 days: 1.25
    assert (third.stays, third.median_days, third.p90_days) == (0, None, None)
    assert (first.now_in_stage, first.stuck) == (1, 0)  # Fresh: 1 hour of a 2-day threshold
    assert (second.now_in_stage, second.stuck) == (1, 1)  # Z: 16 days of 7
    assert (third.now_in_stage, third.stuck) == (2, 2)  # Y 17.5 days, X 17 days of 7
    assert [(d.deal_id, d.days, d.stale_days) for d in report.stuck] == [
        (y, 17.5, 7),
        (x, 17.0, 7),
        (z, 16.0, 7),
    ]
    assert fresh not in [d.deal_id for d in report.stuck]

    # the period picks stays by their start: only the moves made on day 2 and later
    later = reports.velocity(ReportFilter(start=(t0 + 2 * DAY).date()), now=NOW)
    assert (later.stages[1].stays, later.stages[1].median_days) == (1, 0.5)


# ------------------------------------------------------------------------------------------ forecast
def test_forecast_weighted_by_probability_month_and_owner(db: Database, anna: int) -> None:
    t = NOW - DAY
    new_deal(
        "A",
        contact_id=None,
        amount=10_000_000,
        expected_close=date(2026, 3, 15),
        owner_id=anna,
        by=None,
        now=t,
    )  # stage 1: 5 %
    new_deal(
        "B", contact_id=None, amount=33_333, expected_close=date(2026, 3, 20), stage="3", by=None, now=t
    )  # 30 %
    new_deal("C", contact_id=None, amount=1_000, stage="4", by=None, now=t)  # 50 %, no date
    new_deal(
        "D",
        contact_id=None,
        amount=999,
        expected_close=date(2026, 4, 1),
        stage="2",
        owner_id=anna,
        by=None,
        now=t,
    )  # 10 %
    done = new_deal("Won", contact_id=None, amount=10**9, expected_close=date(2026, 3, 1), by=None, now=t)
    win(done, NOW)

    report = reports.forecast(ReportFilter())

    months = [(m.label, m.deals, m.amount, m.weighted) for m in report.by_month]
    # March: (10 000 000 * 5 + 33 333 * 30) / 100 = 509 999.9 -> 510 000; April: 999 * 10 / 100 = 99.9 -> 100
    assert months == [
        ("2026-03", 2, 10_033_333, 510_000),
        ("2026-04", 1, 999, 100),
        ("no date", 1, 1_000, 500),
    ]
    owners = [(o.key, o.deals, o.weighted) for o in report.by_owner]
    assert owners == [("anna", 2, 500_100), ("", 2, 10_500)]
    assert (report.deals, report.amount, report.weighted) == (4, 10_035_332, 510_600)

    march = reports.forecast(ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31)))
    assert [(m.label, m.weighted) for m in march.by_month] == [("2026-03", 510_000)]


# ------------------------------------------------------------------------------------------ managers
def test_managers_calls_first_call_delay_and_wins(db: Database, anna: int) -> None:
    t = NOW - 3 * DAY
    a = lead(t, owner=anna)
    call(t + 30 * MIN, lead_id=a, by=anna, seconds=120)
    b = lead(t, owner=anna)
    call(t + 2 * timedelta(hours=1), lead_id=b, by=anna, seconds=300)
    lead(t, owner=anna)  # never called
    interactions.log("call_in", by=anna, now=t, at=t + DAY, lead_id=a, duration=30)
    deal = convert(a, t + DAY, amount=50_000_00)
    deals.update_amount(deal, 50_000_00, by=None, now=t)
    win(deal, t + 2 * DAY)
    call(datetime(2026, 1, 1), lead_id=b, by=anna, seconds=1000)  # outside the period

    rows = {r.login: r for r in reports.managers(MARCH).rows}

    r = rows["anna"]
    assert (r.leads, r.calls, r.talk_seconds) == (3, 3, 450)
    assert (r.called, r.called_within_hour, r.within_hour_pct) == (2, 1, 33.3)
    assert r.median_first_call_min == 75.0  # 30 and 120 minutes
    assert (r.won, r.won_amount) == (1, 50_000_00)
    assert list(rows) == ["anna"]


# -------------------------------------------------------------------------------------------- pareto
def test_pareto_clients_bringing_eighty_percent(db: Database) -> None:
    t = NOW - 2 * DAY
    for company, amount in (("ООО Альфа", 500), ("ООО Бета", 300), ("", 150), ("", 50)):
        deal = convert(lead(t, company=company, name=company or f"Частное лицо {amount}"), t, amount=amount)
        win(deal, t + DAY)
    convert(lead(t, company="ООО Открытая"), t, amount=10_000)  # open: no revenue yet

    report = reports.pareto(MARCH)

    assert (report.revenue, report.clients, report.top_clients, report.top_revenue) == (1000, 4, 2, 800)
    assert (report.top_share_pct, report.top_revenue_pct) == (50.0, 80.0)
    assert [(c.kind, c.name, c.revenue, c.share_pct, c.cumulative_pct) for c in report.rows] == [
        ("company", "ООО Альфа", 500, 50.0, 50.0),
        ("company", "ООО Бета", 300, 30.0, 80.0),
    ]


def test_empty_desk_and_bad_period(db: Database) -> None:
    for name in reports.REPORTS:
        report = reports.run(name, ReportFilter(), now=NOW)
        assert report.tables()
    assert reports.pareto(ReportFilter()).top_share_pct is None
    with pytest.raises(InvalidInput):
        ReportFilter(start=date(2026, 3, 2), end=date(2026, 3, 1))
    with pytest.raises(InvalidInput):
        reports.run("nonsense", ReportFilter(), now=NOW)


def test_csv_holds_every_table(db: Database) -> None:
    convert(lead(NOW - DAY, source="yandex", term="crm"), NOW - DAY, amount=100)
    text = reports.to_csv(reports.funnel(ReportFilter()).tables())
    lines = text.splitlines()
    assert lines[0] == "table,#,stage,kind,deals now,amount (minor units),reached,to next %"
    assert lines[1] == "stages,1,Lead registered,open,0,0,1,100.0"
    assert lines[2] == "stages,2,Need discovery,open,1,100,1,0.0"
    assert "chain,leads,1,100.0" in lines
    assert database.obj is not None


# ------------------------------------------------------------------ the demo desk against plain Python
def _python_median(values: list[int]) -> float | None:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    return (ordered[(n + 1) // 2 - 1] + ordered[(n + 2) // 2 - 1]) / 2


def _python_p90(values: list[int]) -> int | None:
    ordered = sorted(values)
    return ordered[(9 * len(ordered) + 9) // 10 - 1] if ordered else None


def _at(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def test_medians_p90_and_counts_match_a_plain_computation_on_the_demo_desk(db: Database) -> None:
    """Sources, managers and velocity on a generated desk, against the same figures computed in Python
    from the raw interactions and stage history (the definitions, not the stored columns)."""
    from crm_tui.services import demo
    from tests.services.test_report_durations import FIRST_CALL_DEFINITION

    demo.generate(leads=400, now=NOW, seed=11)
    first = {int(r[0]): r[1] for r in database.execute_sql(FIRST_CALL_DEFINITION).fetchall()}
    lead_rows = database.execute_sql(
        "SELECT id, utm_source, utm_term, owner_id, created_at, qualified_at, converted_at FROM lead"
    ).fetchall()
    month = ReportFilter(start=(NOW - 29 * DAY).date(), end=NOW.date())
    for flt in (ReportFilter(), month):
        lo, hi = reports.period_bounds(flt)
        chosen = [r for r in lead_rows if (lo is None or _at(r[4]) >= lo) and (hi is None or _at(r[4]) < hi)]
        delay = {
            r[0]: round((_at(first[r[0]]) - _at(r[4])).total_seconds())
            for r in chosen
            if first[r[0]] is not None
        }
        by_term: dict[tuple[str, str | None], list[Any]] = {}
        for r in chosen:
            for key in ((r[1], r[2]), (r[1], None)):
                by_term.setdefault(key, []).append(r)
        report = {(row.source, row.term): row for row in reports.sources(flt).rows}
        assert set(report) == set(by_term)
        for key, members in by_term.items():
            got = report[key]
            delays = [delay[r[0]] for r in members if r[0] in delay]
            assert (got.leads, got.called) == (len(members), len(delays))
            assert got.qualified == sum(1 for r in members if r[5] is not None)
            assert got.converted == sum(1 for r in members if r[6] is not None)
            assert got.median_first_call_min == reports._round1(_python_median(delays), 60)

        by_owner: dict[int | None, list[Any]] = {}
        for r in chosen:
            by_owner.setdefault(r[3], []).append(r)
        managers = {row.user_id: row for row in reports.managers(flt).rows}
        for owner, members in by_owner.items():
            delays = [delay[r[0]] for r in members if r[0] in delay]
            got = managers[owner]
            assert (got.leads, got.called) == (len(members), len(delays))
            assert got.called_within_hour == sum(1 for d in delays if d <= reports.FIRST_CALL_RULE)
            assert got.median_first_call_min == reports._round1(_python_median(delays), 60)

        history = database.execute_sql("SELECT deal_id, to_stage_id, at, id FROM stage_history").fetchall()
        moves: dict[int, list[Any]] = {}
        for deal_id, stage_id, at, hid in history:
            moves.setdefault(deal_id, []).append((_at(at), hid, stage_id))
        stays: dict[int, list[int]] = {}
        for rows in moves.values():
            rows.sort()
            for (at, _, stage_id), (left, _, _) in zip(rows, rows[1:], strict=False):
                if (lo is None or at >= lo) and (hi is None or at < hi):
                    stays.setdefault(stage_id, []).append(round((left - at).total_seconds()))
        velocity = reports.velocity(flt, now=NOW)
        assert sum(s.stays for s in velocity.stages) > 0
        for stage in velocity.stages:
            values = stays.get(stage.stage_id, [])
            assert stage.stays == len(values)
            assert stage.median_days == reports._round1(_python_median(values), 86400)
            assert stage.p90_days == reports._round1(_python_p90(values), 86400)


def test_run_computes_each_report_in_one_read_snapshot(db: Database, anna: int) -> None:
    t = NOW - 2 * DAY
    a = lead(t, source="yandex", term="crm", owner=anna)
    call(t + 30 * MIN, lead_id=a, by=anna)
    win(convert(a, t + DAY, amount=1000_00), t + DAY)
    for name in reports.REPORTS:
        direct = {
            "funnel": lambda: reports.funnel(MARCH),
            "sources": lambda: reports.sources(MARCH),
            "velocity": lambda: reports.velocity(MARCH, now=NOW),
            "forecast": lambda: reports.forecast(MARCH),
            "managers": lambda: reports.managers(MARCH),
            "pareto": lambda: reports.pareto(MARCH),
        }[name]()
        assert reports.run(name, MARCH, now=NOW).tables() == direct.tables()
        assert not database.in_transaction()
    with database.atomic():  # inside a caller's transaction, that transaction is the snapshot
        assert reports.run("sources", MARCH, now=NOW).tables() == reports.sources(MARCH).tables()
