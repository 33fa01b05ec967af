"""``crm deal list|move|sign-acts|lose``: stage by name or number, refusals that write nothing."""

from __future__ import annotations

import pytest

from crm_tui.data.models import Deal, StageHistory
from crm_tui.services import deals
from tests.cli.conftest import Crm
from tests.conftest import NOW, Counts, Desk


def stage_of(deal_id: int) -> str:
    return deals.row(deal_id).stage_name


def moves(deal_id: int) -> int:
    return StageHistory.select().where(StageHistory.deal == deal_id).count()


def test_list_shows_stage_money_and_contact(desk: Desk, crm: Crm) -> None:
    run = crm("deal", "list")
    assert run.code == 0
    header, row = run.out.splitlines()
    assert header.split()[:4] == ["ID", "TITLE", "CONTACT", "STAGE"]
    assert row.startswith(f"{desk.deal_id}   АО Вектор  Пётр Сидоров  2 Need discovery  150 000 ₽")
    (data,) = crm("deal", "list", "--json").json()
    assert (data["id"], data["contact_id"], data["stage_position"], data["amount"]) == (
        desk.deal_id,
        desk.contact_id,
        1,
        15_000_000,
    )


def test_list_by_stage_number_or_name_and_paged(desk: Desk, crm: Crm) -> None:
    made = [
        deals.create(f"Сделка {i}", contact_id=desk.contact_id, by=desk.manager_id, now=NOW).id
        for i in range(3)
    ]
    deals.move(made[0], "2", by=desk.manager_id, now=NOW)
    for ref in ("2", "Need discovery", "выяснение потребности"):
        assert [r["id"] for r in crm("deal", "list", "--stage", ref, "--json").json()] == [
            made[0],
            desk.deal_id,
        ]
    first = crm("deal", "list", "--stage", "1", "--limit", "1")
    assert [line.split()[0] for line in first.out.splitlines()[1:2]] == [str(made[2])]
    assert first.out.splitlines()[-1] == f"more: crm deal list --stage 1 --after {made[2]} --limit 1"
    rest = crm("deal", "list", "--stage", "1", "--limit", "1", "--after", str(made[2]), "--json").json()
    assert [r["id"] for r in rest] == [made[1]]
    assert crm("deal", "list", "--stage", "Won").out.strip() == "no deals"


def test_list_unknown_stage(desk: Desk, crm: Crm) -> None:
    assert crm("deal", "list", "--stage", "9").error == "No stage number 9; the pipeline has 8 stages"


@pytest.mark.parametrize("ref", ["3", "Proposal preparation", "Подготовка предложения"])
def test_move_by_position_or_name_records_history(desk: Desk, crm: Crm, ref: str) -> None:
    run = crm("deal", "move", str(desk.deal_id), ref)
    assert run.code == 0, run.err
    assert run.out.strip() == f"deal #{desk.deal_id} АО Вектор: 2 Need discovery -> 3 Proposal preparation"
    assert stage_of(desk.deal_id) == "Proposal preparation"
    assert moves(desk.deal_id) == 2


def test_move_json(desk: Desk, crm: Crm) -> None:
    data = crm("deal", "move", str(desk.deal_id), "1", "--json").json()
    assert (data["id"], data["stage_name"], data["stage_position"]) == (desk.deal_id, "Lead registered", 0)


def test_won_without_signed_acts_is_refused_and_nothing_written(desk: Desk, crm: Crm, counts: Counts) -> None:
    assert crm("deal", "move", str(desk.deal_id), "6").code == 0
    before = counts()
    for ref in ("Won", "7", "успешно"):
        run = crm("deal", "move", str(desk.deal_id), ref)
        assert run.error.startswith("Acts not signed")
    assert counts() == before
    assert stage_of(desk.deal_id) == "Acts closed & feedback"


def test_won_from_an_earlier_stage_is_refused(desk: Desk, crm: Crm, counts: Counts) -> None:
    assert crm("deal", "sign-acts", str(desk.deal_id)).code == 0
    before = counts()
    assert crm("deal", "move", str(desk.deal_id), "Won").error == (
        "A deal is won from 'Acts closed & feedback'; move it through the stages first"
    )
    assert counts() == before and stage_of(desk.deal_id) == "Need discovery"


def test_sign_acts_then_win(desk: Desk, crm: Crm) -> None:
    crm("deal", "move", str(desk.deal_id), "6")
    run = crm("deal", "sign-acts", str(desk.deal_id))
    assert run.code == 0 and "acts signed" in run.out
    assert Deal.get_by_id(desk.deal_id).acts_signed_at is not None
    assert crm("deal", "sign-acts", str(desk.deal_id)).error.startswith(
        f"Acts of deal #{desk.deal_id} were already"
    )
    won = crm("deal", "move", str(desk.deal_id), "Won")
    assert won.out.strip() == f"deal #{desk.deal_id} АО Вектор: 6 Acts closed & feedback -> 7 Won"
    assert Deal.get_by_id(desk.deal_id).won_at is not None


def test_lost_needs_a_reason(desk: Desk, crm: Crm, counts: Counts) -> None:
    before = counts()
    assert crm("deal", "move", str(desk.deal_id), "Lost").error == "A lost deal needs a reason"
    assert crm("deal", "lose", str(desk.deal_id)).error == "A lost deal needs a reason"
    assert crm("deal", "lose", str(desk.deal_id), "--reason", "  ").error == "A lost deal needs a reason"
    assert counts() == before and stage_of(desk.deal_id) == "Need discovery"


def test_lose_with_a_reason_then_the_deal_stays_closed(desk: Desk, crm: Crm, counts: Counts) -> None:
    run = crm("deal", "lose", str(desk.deal_id), "--reason", "выбрали конкурента")
    assert run.out.strip() == f"deal #{desk.deal_id} АО Вектор lost: выбрали конкурента"
    deal = Deal.get_by_id(desk.deal_id)
    assert (deal.lost_reason, stage_of(desk.deal_id)) == ("выбрали конкурента", "Lost")
    before = counts()
    assert crm("deal", "move", str(desk.deal_id), "2").error == (
        f"Deal #{desk.deal_id} is already lost; a closed deal does not move"
    )
    assert crm("deal", "sign-acts", str(desk.deal_id)).error == f"Deal #{desk.deal_id} is already lost"
    assert counts() == before


def test_move_with_reason_to_lost(desk: Desk, crm: Crm) -> None:
    assert crm("deal", "move", str(desk.deal_id), "Провалено", "--reason", "нет бюджета").code == 0
    assert Deal.get_by_id(desk.deal_id).lost_reason == "нет бюджета"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["move", "999", "2"], "No deal #999"),
        (["move", "1", "42"], "No stage number 42; the pipeline has 8 stages"),
        (["move", "1", "2"], "Deal #1 is already at Need discovery"),
        (["sign-acts", "999"], "No deal #999"),
        (["lose", "999", "--reason", "x"], "No deal #999"),
    ],
)
def test_refusals(desk: Desk, crm: Crm, counts: Counts, args: list[str], message: str) -> None:
    before = counts()
    assert crm("deal", *args).error == message
    assert counts() == before


def test_show_fields_and_the_history_of_moves(desk: Desk, crm: Crm) -> None:
    crm("deal", "move", str(desk.deal_id), "3", "--user", "anna")
    crm("deal", "lose", str(desk.deal_id), "--reason", "нет бюджета")
    run = crm("deal", "show", str(desk.deal_id))
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].split("  ", 1)[1].strip() == f"#{desk.deal_id} АО Вектор"
    assert "8 Lost (нет бюджета)" in lines[1]
    assert any(line.endswith("150 000 ₽") for line in lines)
    history = lines[lines.index("history (newest first):") + 1 :]
    assert [h.split("  ", 2)[2] for h in history] == [
        "admin  Proposal preparation → Lost (нет бюджета)",
        "anna  Need discovery → Proposal preparation",
        "anna  lead converted: Lead #3 converted / Deal #1 'АО Вектор' opened at Need discovery",
        "anna  created at Need discovery",
    ]
    data = crm("deal", "show", str(desk.deal_id), "--json").json()
    assert data["deal"]["id"] == desk.deal_id
    assert [(m["kind"], m["from"], m["to"], m["by"]) for m in data["history"] if m["to"]] == [
        ("stage", "Proposal preparation", "Lost", "admin"),
        ("stage", "Need discovery", "Proposal preparation", "anna"),
        ("created", None, "Need discovery", "anna"),
    ]
    assert crm("deal", "show", "999").error == "No deal #999"
