"""A loss and a move of one deal at the same moment on PostgreSQL, from two connections started on a
barrier: each rule locks the deal before it reads it, so the second sees the first's result and the
deal always ends in a state the rules allow - never in an open stage with ``lost_at`` set."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from crm_tui.data.db import database, open_database
from crm_tui.data.models import Deal, Stage, StageTotal
from crm_tui.services import deals, pipelines, users
from crm_tui.services.errors import CrmError

ROUNDS = 40
NOW = datetime(2026, 11, 27, 10, 0)


@pytest.mark.postgres
def test_lose_racing_move_never_leaves_a_lost_deal_in_an_open_stage(pg_url: str) -> None:
    desk = open_database(pg_url)
    with desk.connection_context():
        admin = users.ensure_default(NOW).id
        pipelines.ensure_default()
        made = [deals.add(f"Сделка {i}", amount="100 000", by=admin, now=NOW).id for i in range(ROUNDS)]
    outcomes: dict[str, list[str]] = {"lose": [], "move": []}
    unexpected: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker(kind: str) -> None:
        with database.connection_context():
            for i, deal_id in enumerate(made):
                barrier.wait(10)
                at = NOW + timedelta(minutes=i)
                try:
                    if kind == "lose":
                        deals.lose(deal_id, "выбрали конкурента", by=admin, now=at)
                    else:
                        deals.move(deal_id, "Proposal preparation", by=admin, now=at)
                    outcomes[kind].append("done")
                except CrmError as error:  # the other rule won: a refusal, never a half-written deal
                    outcomes[kind].append(error.code)
                except BaseException as error:  # noqa: BLE001 - reported below
                    unexpected.append(error)
                    barrier.abort()
                    raise

    threads = [threading.Thread(target=worker, args=(kind,)) for kind in ("lose", "move")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert unexpected == []
    assert len(outcomes["lose"]) == len(outcomes["move"]) == ROUNDS
    with database.connection_context():
        kinds = {s.id: s.kind for s in Stage.select()}
        for deal in Deal.select().where(Deal.id.in_(made)):
            kind = kinds[deal.stage_id]
            assert (deal.lost_at is not None) == (kind == "lost"), deal.id
            assert (deal.lost_reason is not None) == (kind == "lost"), deal.id
            assert kind in ("lost", "open")
        kept = {(t.stage_id, t.deals) for t in StageTotal.select() if t.deals}
        grouped: dict[int, int] = {}
        for deal in Deal.select():
            grouped[deal.stage_id] = grouped.get(deal.stage_id, 0) + 1
        assert kept == set(grouped.items())
    # a loss always lands: either first, or after the move (the deal is still open then)
    assert outcomes["lose"] == ["done"] * ROUNDS
    desk.close()
