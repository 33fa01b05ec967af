"""Call scripts: validation with the wrong line, a scripted call saved with its follow-up, analytics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from crm_tui.data.db import database
from crm_tui.data.models import Deal, Interaction, Task
from crm_tui.data.script_models import CallScript, ScriptCall
from crm_tui.services import contacts, deals, leads, scripts
from crm_tui.services.errors import RuleViolation
from tests.desk_fixtures import NOW, Desk, any_backend_desk

GOOD = """\
name: tiny
title: Tiny script
offer: [lead:new]
start: hello
nodes:
  hello:
    say: "Hello, {first_name} from {company}!"
    answers:
      - {text: "Interested", goto: ask}
      - {text: "Busy", goto: later}
  ask:
    say: Shall we meet?
    answers:
      - {text: "Yes", goto: met}
      - {text: "No", goto: later}
outcomes:
  met:
    label: Meeting booked
    success: true
    task: {title: "Meet {name}", due: "+1d"}
    stage: Proposal preparation
  later:
    label: Call back later
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    with any_backend_desk(request.param, tmp_path) as d:
        with database.connection_context():
            scripts.ensure_defaults(now=NOW)
        yield d


def refusal(text: str) -> list[tuple[int, str]]:
    with pytest.raises(scripts.ScriptError) as caught:
        scripts.parse(text, "bad.yaml")
    return caught.value.problems


def test_shipped_scripts_are_valid_and_installed_once(desk: Desk) -> None:
    with database.connection_context():
        names = [s.name for s in scripts.list_all()]
        assert scripts.ensure_defaults(now=NOW) == 0
    assert names == sorted(
        f"{base}-{lang}" for base in ("discovery", "first-call", "proposal-followup") for lang in ("en", "ru")
    )


def test_a_dangling_branch_is_refused_with_its_line() -> None:
    bad = GOOD.replace('goto: later}\n  ask', 'goto: nowhere}\n  ask')
    assert refusal(bad) == [(10, "node 'hello': answer leads to 'nowhere', which is no node or outcome")]


def test_an_unreachable_node_is_refused_with_its_line() -> None:
    bad = GOOD + "  # nothing\n"
    bad = bad.replace("outcomes:\n", "  orphan:\n    say: Nobody comes here\n    answers:\n"
                      "      - {text: x, goto: later}\noutcomes:\n")
    assert refusal(bad) == [(16, "node 'orphan' is unreachable from 'hello'")]


def test_a_script_without_outcomes_is_refused() -> None:
    bad = GOOD[: GOOD.index("outcomes:")]
    bad = bad.replace("goto: met", "goto: hello").replace("goto: later", "goto: ask")
    problems = refusal(bad)
    assert (1, "a script needs at least one outcome (outcomes: ...)") in problems


def test_broken_yaml_and_a_bad_due_are_refused_with_lines() -> None:
    assert refusal("name: x\nstart: [unclosed\n")[0][0] == 3
    bad = GOOD.replace('due: "+1d"', 'due: "whenever"')
    ((line, text),) = refusal(bad)
    assert line == 20 and "Not a due time: 'whenever'" in text


def test_a_refused_import_stores_nothing(desk: Desk) -> None:
    bad = GOOD.replace("goto: met", "goto: gone")
    with database.connection_context():
        before = CallScript.select().count()
        with pytest.raises(scripts.ScriptError) as caught:
            scripts.import_text(bad, by=desk.admin_id, now=NOW, source="bad.yaml")
        assert CallScript.select().count() == before
    assert caught.value.problems == [
        (14, "node 'ask': answer leads to 'gone', which is no node or outcome"),
        (17, "outcome 'met' is unreachable from 'hello'"),
    ]
    assert caught.value.message.startswith("bad.yaml:14: node 'ask': answer leads to 'gone'")


def test_reimport_makes_a_new_version_and_export_gives_the_file_back(desk: Desk) -> None:
    with database.connection_context():
        first = scripts.import_text(GOOD, by=desk.admin_id, now=NOW)
        second = scripts.import_text(GOOD.replace("Shall we meet?", "Meet?"), by=desk.admin_id, now=NOW)
        assert (first.version, second.version) == (1, 2)
        assert scripts.export_text("tiny") == GOOD.replace("Shall we meet?", "Meet?")


def test_the_script_offered_depends_on_where_the_record_stands(desk: Desk) -> None:
    with database.connection_context():
        lead = leads.register(leads.NewLead("Иван", "+7 916 111-22-33"), by=desk.admin_id, now=NOW)
        assert scripts.offer_for(lead_id=lead.id, lang="ru")[0].name == "first-call-ru"
        assert scripts.offer_for(lead_id=lead.id, lang="en")[0].name == "first-call-en"
        olga = contacts.ContactEdit(name="Ольга", phones=("+7 903 700-00-01",))
        contact = contacts.create(olga, by=desk.admin_id, now=NOW)
        deal = deals.create("Site", contact_id=contact, by=desk.admin_id, now=NOW)
        deals.move(deal.id, "Proposal negotiation", by=desk.admin_id, now=NOW)
        offered = scripts.offer_for(deal_id=deal.id, contact_id=contact, lang="en")
        assert offered[0].name == "proposal-followup-en"


def _deal_with_contact(desk: Desk) -> tuple[int, int]:
    contact = contacts.create(
        contacts.ContactEdit(name="Ольга Иванова", company_name="ООО Ромашка", phones=("+7 903 555-12-34",)),
        by=desk.admin_id,
        now=NOW,
    )
    deal = deals.create("Website", contact_id=contact, by=desk.admin_id, now=NOW)
    return contact, deal.id


def test_a_full_call_saves_path_outcome_notes_task_and_stage_in_one_go(desk: Desk) -> None:
    with database.connection_context():
        scripts.import_text(GOOD, by=desk.admin_id, now=NOW)
        contact, deal = _deal_with_contact(desk)
        run = scripts.start_call("tiny", contact_id=contact, deal_id=deal, operator="Анна", now=NOW)
        assert run.line == "Hello, Ольга from ООО Ромашка!"
        assert run.choose(1) and run.line == "Shall we meet?"
        assert run.back() and run.path == ["hello"]
        assert not run.back()
        run.choose(1)
        run.no_answer("Asked whether we work on weekends")
        assert not run.choose(7)
        run.choose(1)
        assert run.finished and run.outcome == "met"
        saved = scripts.save_call(
            run, by=desk.admin_id, now=NOW + timedelta(seconds=95), notes="Wants a demo",
            contact_id=contact, deal_id=deal,
        )
        item = Interaction.get_by_id(saved.interaction.id)
        task = Task.get(Task.title == "Meet Ольга Иванова")
        stage = Deal.get_by_id(deal).stage.name
    assert (item.kind, item.duration, item.outcome) == ("call_out", 95, "Meeting booked")
    assert item.summary == "Wants a demo"
    assert json.loads(item.data) == {
        "script": "tiny",
        "path": [{"node": "hello", "answer": 1}, {"node": "ask", "answer": 1}],
        "outcome": "met",
        "no_answer_notes": [{"node": "ask", "said": "Asked whether we work on weekends"}],
    }
    assert task.contact_id == contact and task.deal_id == deal
    assert stage == "Proposal preparation" and saved.stage == "Proposal preparation"


def test_a_refused_stage_move_saves_nothing(desk: Desk) -> None:
    with database.connection_context():
        won = GOOD.replace("stage: Proposal preparation", "stage: Won")
        scripts.import_text(won, by=desk.admin_id, now=NOW)
        contact, deal = _deal_with_contact(desk)
        run = scripts.start_call("tiny", contact_id=contact, deal_id=deal, now=NOW)
        run.choose(1)
        run.choose(1)
        calls = Interaction.select().count()
        with pytest.raises(RuleViolation):
            scripts.save_call(run, by=desk.admin_id, now=NOW, contact_id=contact, deal_id=deal)
        assert Interaction.select().count() == calls
        assert Task.select().where(Task.title.startswith("Meet")).count() == 0
        assert ScriptCall.select().count() == 0


def test_stats_count_nodes_answers_no_answers_outcomes_and_operators(desk: Desk) -> None:
    with database.connection_context():
        scripts.import_text(GOOD, by=desk.admin_id, now=NOW)
        lead = leads.register(leads.NewLead("Иван", "+7 916 111-22-33"), by=desk.admin_id, now=NOW)
        for who, keys in (
            (desk.admin_id, [1, 1]),
            (desk.admin_id, ["Asked for a discount", 2]),
            (desk.anna_id, [1, 2]),
            (desk.anna_id, [1, "Talks about the weather"]),  # then ended early at "ask" (ctrl+e)
        ):
            run = scripts.start_call("tiny", lead_id=lead.id, now=NOW)
            for key in keys:
                if isinstance(key, str):
                    run.no_answer(key)
                else:
                    run.choose(key)
            scripts.save_call(run, by=who, now=NOW, lead_id=lead.id)
        st = scripts.stats("tiny")
    assert (st.calls, st.successes, st.ended_early) == (4, 1, 1)
    assert st.outcomes == [("met", "Meeting booked", 1), ("later", "Call back later", 2)]
    hello, ask = st.nodes
    assert (hello.reached, hello.answers, hello.no_answer) == (4, [("Interested", 3), ("Busy", 1)], 1)
    assert (ask.reached, ask.answers, ask.no_answer, ask.success_rate) == (
        3, [("Yes", 1), ("No", 1)], 1, round(1 / 3, 4)
    )
    assert ask.no_answer_said == ["Talks about the weather"]
    assert hello.no_answer_said == ["Asked for a discount"]
    assert [(o.login, o.calls, o.successes) for o in st.operators] == [("admin", 2, 1), ("anna", 2, 0)]
