"""Two people change one record at the same moment: the rules run one after the other, never half-way.

Each round gives two processes (each with its own connection, as two people's apps or CLIs have) a pair
of conflicting rules on one deal or one lead; they start together on a barrier. Whatever the order the
database lets them run in, the record ends in a state the rules allow: a lost deal is in the Lost
stage with ``lost_at`` and a reason, a won one has its acts signed, an open one has neither ``lost_at``
nor ``won_at``; its stage history is an unbroken chain; a lead converts once or is disqualified, never
both. A refusal is the rule's own (a ``CrmError``), never a database error. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crm_tui.data.db import open_database
from crm_tui.services import deals, leads, pipelines, tasks, users
from crm_tui.services.errors import CrmError
from tests.conftest import NOW
from tests.reliability.harness import check_desk

ROUNDS = 25


def _move_on(deal_id: int, now: datetime) -> None:
    open_stages = [s for s in pipelines.stages(pipelines.default_pipeline_id()) if s.kind == "open"]
    deals.move(deal_id, open_stages[1].id, by=None, now=now)


ACTIONS: dict[str, Callable[[int, datetime], object]] = {
    "move": _move_on,
    "lose": lambda i, now: deals.lose(i, "выбрали конкурента", by=None, now=now),
    "sign_acts": lambda i, now: deals.sign_acts(i, by=None, now=now),
    "win": lambda i, now: deals.win(i, by=None, now=now),
    "convert": lambda i, now: leads.convert(i, by=None, now=now),
    "disqualify": lambda i, now: leads.disqualify(i, "не целевой", by=None, now=now),
    "complete": lambda i, now: tasks.complete(i, by=None, now=now),
}


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    setup: str  # "first stage", "last stage", "last stage, acts signed", "qualified lead"
    one_wins: bool  # exactly one of the two may succeed


PAIRS = {
    "move-vs-lose": Pair("move", "lose", "first stage", one_wins=False),
    "lose-vs-sign_acts": Pair("lose", "sign_acts", "last stage", one_wins=False),
    "sign_acts-vs-win": Pair("sign_acts", "win", "last stage", one_wins=False),
    "win-vs-lose": Pair("win", "lose", "last stage, acts signed", one_wins=True),
    "convert-vs-disqualify": Pair("convert", "disqualify", "qualified lead", one_wins=True),
    "convert-vs-convert": Pair("convert", "convert", "qualified lead", one_wins=True),
    "complete-vs-complete": Pair("complete", "complete", "open task", one_wins=True),
}


def _prepare(url: str, pair: Pair) -> list[int]:
    """One fresh record per round, in the state the pair needs."""
    opened = open_database(url)
    ids: list[int] = []
    with opened.connection_context(), opened.atomic():  # one commit for all the rounds' records
        admin = users.ensure_default(NOW).id
        pipelines.ensure_default()
        last_open = [s for s in pipelines.stages(pipelines.default_pipeline_id()) if s.kind == "open"][-1]
        for i in range(ROUNDS):
            if pair.setup == "open task":
                ids.append(tasks.create(f"Позвонить {i}", NOW, by=admin, now=NOW, assignee_id=admin).id)
                continue
            if pair.setup == "qualified lead":
                lead = leads.register(leads.NewLead(f"Лид {i}", f"+7 916 000-{i // 100:02d}-{i % 100:02d}"),
                                      by=admin, now=NOW)  # fmt: skip
                leads.qualify(lead.id, by=admin, now=NOW)
                ids.append(lead.id)
                continue
            deal = deals.create(f"Сделка {i}", contact_id=None, amount=100_000 + i, by=admin, now=NOW)
            if pair.setup != "first stage":
                deals.move(deal.id, last_open.id, by=admin, now=NOW + timedelta(minutes=1))
            if pair.setup == "last stage, acts signed":
                deals.sign_acts(deal.id, by=admin, now=NOW + timedelta(minutes=2))
            ids.append(deal.id)
    opened.close()
    return ids


def _worker(url: str, action: str, ids: list[int], start: Any, out: Any) -> None:
    """Open the desk (a connection of its own), then run ``action`` on each round's record on the barrier."""
    opened = open_database(url)
    results: list[str] = []
    try:
        with opened.connection_context():
            for round_, record in enumerate(ids):
                now = NOW + timedelta(
                    hours=1, seconds=round_
                )  # one moment a round: history keeps apply order
                start.wait(30)
                try:
                    ACTIONS[action](record, now)
                    results.append("ok")
                except CrmError as error:
                    results.append(f"refused {error.code}")
                except Exception as error:  # noqa: BLE001 - what the test reports
                    results.append(f"failed {type(error).__name__}: {error}")
    except threading.BrokenBarrierError:
        results.append("failed: the other process stopped")
    finally:
        out.put((action, results))


def _race(url: str, pair: Pair) -> list[tuple[str, str]]:
    ids = _prepare(url, pair)
    context = multiprocessing.get_context("fork")
    start, out = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_worker, args=(url, a, ids, start, out)) for a in (pair.first, pair.second)
    ]
    for w in workers:
        w.start()
    got = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(30)
    firsts, seconds = got[0][1], got[1][1]
    assert len(firsts) == len(seconds) == len(ids), got
    return list(zip(firsts, seconds, strict=True))


def _run(url: str, pair_name: str) -> None:
    pair = PAIRS[pair_name]
    rounds = _race(url, pair)
    failed = [r for r in rounds if any(x.startswith("failed") for x in r)]
    assert failed == [], failed
    for a, b in rounds:
        succeeded = [a, b].count("ok")
        if pair.one_wins:
            assert succeeded == 1, (a, b)
        else:
            assert succeeded >= 1, (a, b)
    assert check_desk(url) == []


@pytest.mark.parametrize("pair_name", list(PAIRS))
def test_conflicting_rules_on_sqlite(tmp_path: Path, pair_name: str) -> None:
    _run(str(tmp_path / "desk.db"), pair_name)


@pytest.mark.postgres
@pytest.mark.parametrize("pair_name", list(PAIRS))
def test_conflicting_rules_on_postgresql(pg_url: str, pair_name: str) -> None:
    _run(pg_url, pair_name)
