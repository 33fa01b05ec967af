"""Call scripts: a branching tree of operator lines, the client's answers and the outcomes they lead to.

YAML form (see ``crm_tui/scripts/*.yaml``)::

    name: first-call-en            # unique; letters, digits, "-" and "_"
    title: First call to a new web lead
    lang: en
    offer: [lead:new]              # where it is offered: lead[:status], deal[:stage name], contact
    start: hello
    nodes:
      hello:
        say: "Good afternoon, {name}! ..."   # {name}, {company}, {operator} are filled in
        answers:
          - text: "Yes, I left a request"
            goto: need                        # a node or an outcome
    outcomes:
      meeting:
        label: Meeting booked
        success: true
        task: {title: "Meeting with {name}", due: "+1d"}   # the follow-up, created with the call
        stage: Need discovery                               # move the linked deal there

An import is validated as a whole (no dangling branch, no unreachable node, at least one outcome); a bad
file is refused with the line that is wrong and nothing is stored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import yaml
from peewee import JOIN, Case, fn

from crm_tui.data.db import database
from crm_tui.data.models import Contact, Deal, Lead, Pipeline, Setting, Stage, User
from crm_tui.data.script_models import CallScript, ScriptCall, ScriptStep
from crm_tui.services import clock, deals, interactions, pipelines, tasks
from crm_tui.services.errors import InvalidInput, NotFound
from crm_tui.services.validation import optional_text
from crm_tui.services.views import InteractionRow, TaskRow

MAX_ANSWERS = 9  # keys 1-9 on screen
DEFAULTS_KEY = "scripts.defaults_installed"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


# --- the validated tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    text: str
    goto: str


@dataclass(frozen=True)
class Node:
    id: str
    say: str
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class Outcome:
    id: str
    label: str
    success: bool = False
    task_title: str | None = None
    task_due: str | None = None
    stage: str | None = None


@dataclass(frozen=True)
class Script:
    name: str
    title: str
    lang: str
    offer: tuple[str, ...]
    start: str
    nodes: dict[str, Node]
    outcomes: dict[str, Outcome]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "lang": self.lang,
            "offer": list(self.offer),
            "start": self.start,
            "nodes": {
                n.id: {"say": n.say, "answers": [{"text": a.text, "goto": a.goto} for a in n.answers]}
                for n in self.nodes.values()
            },
            "outcomes": {
                o.id: {
                    "label": o.label,
                    "success": o.success,
                    "task_title": o.task_title,
                    "task_due": o.task_due,
                    "stage": o.stage,
                }
                for o in self.outcomes.values()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Script:
        return cls(
            name=data["name"],
            title=data["title"],
            lang=data["lang"],
            offer=tuple(data["offer"]),
            start=data["start"],
            nodes={
                k: Node(k, v["say"], tuple(Answer(a["text"], a["goto"]) for a in v["answers"]))
                for k, v in data["nodes"].items()
            },
            outcomes={k: Outcome(k, **v) for k, v in data["outcomes"].items()},
        )


@dataclass(frozen=True)
class ScriptInfo:
    id: int
    name: str
    title: str
    lang: str
    offer: list[str]
    nodes: int
    outcomes: int
    version: int
    calls: int
    updated_at: datetime


class ScriptError(InvalidInput):
    """A script file that is refused; ``problems`` lists ``(line, message)``, first one in ``message``."""

    def __init__(self, problems: list[tuple[int, str]], source: str = "") -> None:
        problems = sorted(problems)
        where = f"{source}:" if source else "line "
        lines = [f"{where}{line}: {text}" for line, text in problems]
        super().__init__(
            "; ".join(lines),
            {"script": lines[0] if lines else ""},
            code="script.invalid",
            params={"source": source, "problems": [{"line": n, "message": m} for n, m in problems]},
        )
        self.problems = problems


# --- loading YAML with line numbers ---------------------------------------------------------------------


class _LDict(dict[Any, Any]):
    line: int = 0
    key_lines: dict[Any, int]


class _LList(list[Any]):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    duplicates: list[tuple[int, str]]


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _LDict:
    loader.flatten_mapping(node)
    out = _LDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain word, not a list or a mapping", key_node.start_mark
            )
        if key in out:
            loader.duplicates.append((line, f"{key!r} is given twice"))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = line
    return out


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _LList:
    out = _LList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)  # type: ignore[arg-type]
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)  # type: ignore[arg-type]


MAX_DEPTH = 50  # nesting a script never needs; deeper YAML is refused before it is built


def _depth_problem(text: str) -> tuple[int, str] | None:
    """The line where the YAML nests deeper than :data:`MAX_DEPTH`, read as events (no recursion)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return (
                        event.start_mark.line + 1,
                        f"nested deeper than {MAX_DEPTH} levels",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # the loader names the error and its line
    return None


def parse(text: str, source: str = "", *, known_stage: Any = None) -> Script:
    """Parse and validate a script; raise :class:`ScriptError` naming the wrong lines.

    ``known_stage(name) -> bool``, when given, checks that each outcome's stage exists.
    """
    bad = next(
        (
            (text.count("\n", 0, i) + 1, f"character U+{ord(c):04X} is not allowed in a script")
            for i, c in enumerate(text)
            if c in "\x00\ufffe\uffff" or "\ud800" <= c <= "\udfff"
        ),
        None,
    )
    if bad is not None:
        raise ScriptError([bad], source)
    deep = _depth_problem(text)
    if deep is not None:
        raise ScriptError([deep], source)
    loader: _LineLoader | None = None
    try:
        loader = _LineLoader(text)
        loader.duplicates = []
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        if isinstance(error, yaml.reader.ReaderError):
            line = text.count("\n", 0, error.position) + 1
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ScriptError([(line, f"not valid YAML: {problem}")], source) from error
    finally:
        if loader is not None:
            loader.dispose()
    problems: list[tuple[int, str]] = list(loader.duplicates)
    if not isinstance(data, _LDict):
        raise ScriptError([(1, "a script is a mapping with name, title, start, nodes and outcomes")], source)
    script = _validate(data, problems, known_stage)
    if problems or script is None:
        raise ScriptError(problems, source)
    return script


def _line(d: _LDict, key: str) -> int:
    return d.key_lines.get(key, d.line)


def _text(
    d: _LDict,
    key: str,
    problems: list[tuple[int, str]],
    what: str,
    required: bool = True,
    *,
    multiline: bool = False,
    max_length: int = 2000,
) -> str:
    value = d.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append((d.line, f"{what} needs {key!r}"))
        return ""
    if not isinstance(value, str | int | float):
        problems.append((_line(d, key), f"{what}: {key!r} must be text"))
        return ""
    try:
        return optional_text(str(value), key, f"{what}: {key!r}", max_length, multiline=multiline)
    except InvalidInput as error:
        problems.append((_line(d, key), error.message))
        return ""


def _validate(data: _LDict, problems: list[tuple[int, str]], known_stage: Any = None) -> Script | None:
    name = _text(data, "name", problems, "the script")
    if name and not NAME_RE.match(name):
        problems.append((_line(data, "name"), f"name {name!r}: use letters, digits, '-' and '_'"))
    title = _text(data, "title", problems, "the script") or name
    lang = _text(data, "lang", problems, "the script", required=False) or "en"
    start = _text(data, "start", problems, "the script")
    offer_raw = data.get("offer", [])
    offer = [offer_raw] if isinstance(offer_raw, str) else offer_raw
    if not isinstance(offer, list) or not all(isinstance(o, str) for o in offer):
        problems.append((_line(data, "offer"), "offer is a list like [lead:new, deal:proposal negotiation]"))
        offer = []
    offer = [o.strip().lower() for o in offer]
    for item in offer:
        if item.split(":", 1)[0] not in ("lead", "deal", "contact"):
            problems.append((_line(data, "offer"), f"offer {item!r}: begin with lead, deal or contact"))

    raw_outcomes = data.get("outcomes")
    outcomes: dict[str, Outcome] = {}
    outcome_lines: dict[str, int] = {}
    if not isinstance(raw_outcomes, _LDict) or not raw_outcomes:
        problems.append((_line(data, "outcomes"), "a script needs at least one outcome (outcomes: ...)"))
        raw_outcomes = _LDict()
        raw_outcomes.key_lines = {}
    for key, value in raw_outcomes.items():
        oid = str(key)
        outcome_lines[oid] = raw_outcomes.key_lines.get(key, raw_outcomes.line)
        if isinstance(value, str):
            outcomes[oid] = Outcome(oid, value)
            continue
        if not isinstance(value, _LDict):
            problems.append((outcome_lines[oid], f"outcome {oid!r} needs a label"))
            continue
        what = f"outcome {oid!r}"
        label = _text(value, "label", problems, what, max_length=200)
        success = value.get("success", False)
        if not isinstance(success, bool):
            problems.append((_line(value, "success"), f"{what}: success is true or false"))
            success = False
        task = value.get("task")
        task_title = task_due = None
        if task is not None:
            if not isinstance(task, _LDict):
                problems.append((_line(value, "task"), f"{what}: task is {{title: ..., due: ...}}"))
            else:
                task_title = _text(task, "title", problems, f"{what}'s task", max_length=300)
                task_due = _text(task, "due", problems, f"{what}'s task", required=False) or "+1d"
                try:
                    tasks.parse_due(task_due, datetime(2000, 1, 1))
                except InvalidInput as error:
                    problems.append((_line(task, "due"), f"{what}'s task: {error.message}"))
        stage = _text(value, "stage", problems, what, required=False) or None
        if stage and known_stage is not None and not known_stage(stage):
            problems.append((_line(value, "stage"), f"{what}: no stage {stage!r} in the desk's pipelines"))
        outcomes[oid] = Outcome(oid, label, success, task_title, task_due, stage)

    raw_nodes = data.get("nodes")
    nodes: dict[str, Node] = {}
    node_lines: dict[str, int] = {}
    gotos: list[tuple[int, str, str]] = []  # (line, from node, target)
    if not isinstance(raw_nodes, _LDict) or not raw_nodes:
        problems.append((_line(data, "nodes"), "a script needs nodes (nodes: ...)"))
        raw_nodes = _LDict()
        raw_nodes.key_lines = {}
    for key, value in raw_nodes.items():
        nid = str(key)
        node_lines[nid] = raw_nodes.key_lines.get(key, raw_nodes.line)
        if nid in outcomes:
            problems.append((node_lines[nid], f"{nid!r} is both a node and an outcome"))
        if not isinstance(value, _LDict):
            problems.append((node_lines[nid], f"node {nid!r} needs 'say' and 'answers'"))
            continue
        say = _text(value, "say", problems, f"node {nid!r}", multiline=True, max_length=5000)
        raw_answers = value.get("answers")
        answers: list[Answer] = []
        if not isinstance(raw_answers, _LList) or not raw_answers:
            problems.append((_line(value, "answers"), f"node {nid!r} needs at least one answer"))
            raw_answers = _LList()
            raw_answers.item_lines = []
        if len(raw_answers) > MAX_ANSWERS:
            too_many = f"node {nid!r}: at most {MAX_ANSWERS} answers"
            problems.append((raw_answers.item_lines[MAX_ANSWERS], too_many))
        for index, answer in enumerate(raw_answers):
            line = raw_answers.item_lines[index]
            if not isinstance(answer, _LDict):
                problems.append((line, f"node {nid!r}, answer {index + 1}: give text and goto"))
                continue
            text = _text(answer, "text", problems, f"node {nid!r}, answer {index + 1}")
            goto = _text(answer, "goto", problems, f"node {nid!r}, answer {index + 1}")
            if goto:
                gotos.append((_line(answer, "goto"), nid, goto))
            answers.append(Answer(text, goto))
        nodes[nid] = Node(nid, say, tuple(answers))

    for line, nid, target in gotos:
        if target not in nodes and target not in outcomes:
            problems.append((line, f"node {nid!r}: answer leads to {target!r}, which is no node or outcome"))
    if start and nodes and start not in nodes:
        problems.append((_line(data, "start"), f"start {start!r} is not a node"))

    # Everything must be reachable from the start.
    if start in nodes:
        seen: set[str] = set()
        todo = [start]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in nodes:
                todo.extend(a.goto for a in nodes[current].answers)
        for nid in nodes:
            if nid not in seen:
                problems.append((node_lines[nid], f"node {nid!r} is unreachable from {start!r}"))
        for oid in outcomes:
            if oid not in seen:
                problems.append((outcome_lines[oid], f"outcome {oid!r} is unreachable from {start!r}"))
    if problems:
        return None
    return Script(name, title, lang, tuple(offer), start, nodes, outcomes)


# --- storing, listing, exporting ------------------------------------------------------------------------


def _info(s: CallScript, calls: int = 0) -> ScriptInfo:
    tree = json.loads(s.tree)
    return ScriptInfo(
        s.id,
        s.name,
        s.title,
        s.lang,
        [o for o in s.offer.split(",") if o],
        len(tree["nodes"]),
        len(tree["outcomes"]),
        s.version,
        calls,
        s.updated_at,
    )


def _stage_exists(ref: str) -> bool:
    """Some pipeline of the desk has this stage (by number, English or Russian name, or its start)."""
    for (pipeline_id,) in Pipeline.select(Pipeline.id).order_by(Pipeline.id).tuples():
        try:
            pipelines.resolve_stage(pipeline_id, ref)
        except (NotFound, InvalidInput):
            continue
        return True
    return False


def import_text(
    text: str, *, by: int | None, now: datetime, source: str = "", check_stages: bool = True
) -> ScriptInfo:
    """Validate and store a script (replacing one with the same name, as a new version).

    An outcome naming a stage no pipeline has is refused (with its line), unless ``check_stages`` is
    off (the shipped scripts, installed before a desk renames its stages).
    """
    script = parse(text, source, known_stage=_stage_exists if check_stages else None)
    with database.atomic():
        existing = CallScript.get_or_none(CallScript.name == script.name)
        values = {
            "title": script.title,
            "lang": script.lang,
            "offer": ",".join(script.offer),
            "source": text,
            "tree": json.dumps(script.to_json(), ensure_ascii=False),
            "updated_at": now,
            "updated_by": by,
        }
        if existing is None:
            row = CallScript.create(name=script.name, **values)
        else:
            CallScript.update(version=CallScript.version + 1, **values).where(
                CallScript.id == existing.id
            ).execute()
            row = CallScript.get_by_id(existing.id)
    return _info(row)


def _get(name: str) -> CallScript:
    row = CallScript.get_or_none(CallScript.name == name)
    if row is None:
        raise NotFound(f"No call script {name!r}")
    return row


def get(name: str) -> Script:
    return Script.from_json(json.loads(_get(name).tree))


def export_text(name: str) -> str:
    """The script's YAML, as imported (comments kept)."""
    return str(_get(name).source)


def list_all() -> list[ScriptInfo]:
    counts = dict(
        ScriptCall.select(ScriptCall.script, fn.COUNT(ScriptCall.id)).group_by(ScriptCall.script).tuples()
    )
    return [_info(s, counts.get(s.id, 0)) for s in CallScript.select().order_by(CallScript.name)]


def default_files() -> list[tuple[str, str]]:
    """The scripts shipped with the package: ``(file name, YAML)``."""
    folder = resources.files("crm_tui") / "scripts"
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def defaults_installed() -> bool:
    """Whether the shipped scripts were installed on this desk already (then nothing is left to write)."""
    return Setting.get_or_none(Setting.key == DEFAULTS_KEY) is not None


def ensure_defaults(*, now: datetime) -> int:
    """Install the shipped scripts once per desk (deleted ones do not come back); return how many."""
    if defaults_installed():
        return 0
    installed = 0
    with database.atomic():
        for file_name, text in default_files():
            script = parse(text, file_name)
            if not CallScript.select().where(CallScript.name == script.name).exists():
                import_text(text, by=None, now=now, source=file_name, check_stages=False)
                installed += 1
        Setting.insert(key=DEFAULTS_KEY, value="1").on_conflict(
            conflict_target=[Setting.key], update={Setting.value: "1"}
        ).execute()
    return installed


# --- which script to offer -------------------------------------------------------------------------------


def where_record_stands(
    *, lead_id: int | None = None, contact_id: int | None = None, deal_id: int | None = None
) -> list[str]:
    """Keys from most to least specific: ``deal:proposal negotiation``, ``deal``, ``lead:new``, ..."""
    keys: list[str] = []
    if deal_id is not None:
        stage = (
            Stage.select(Stage.name, Stage.name_ru)
            .join(Deal, on=(Deal.stage == Stage.id))
            .where(Deal.id == deal_id)
            .first()
        )
        if stage is not None:
            keys += [f"deal:{stage.name.lower()}", f"deal:{stage.name_ru.lower()}"]
        keys.append("deal")
    if lead_id is not None:
        lead = Lead.get_or_none(Lead.id == lead_id)
        if lead is not None:
            keys.append(f"lead:{lead.status}")
        keys.append("lead")
    if contact_id is not None or deal_id is not None:
        keys.append("contact")
    return keys


def offer_for(
    *,
    lead_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
    lang: str = "en",
) -> list[ScriptInfo]:
    """Scripts for where the record stands, best first (most specific match, then the user's language)."""
    keys = where_record_stands(lead_id=lead_id, contact_id=contact_id, deal_id=deal_id)
    ranked: list[tuple[int, int, str, ScriptInfo]] = []
    for info in list_all():
        ranks = [keys.index(o) for o in info.offer if o in keys]
        rank = min(ranks) if ranks else len(keys) + 1
        ranked.append((rank, 0 if info.lang == lang else 1, info.name, info))
    ranked.sort(key=lambda r: r[:3])
    return [r[3] for r in ranked]


# --- a call in progress ---------------------------------------------------------------------------------


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: str, values: dict[str, str]) -> str:
    """Put the client's name, company and the operator into a line; unknown ``{x}`` stay as they are."""
    return text.format_map(_Blank(values))


@dataclass
class CallRun:
    """The state of one call: where it stands, the path so far, the "no suitable answer" notes.

    A plain state machine the pane drives with keys: :meth:`choose` (1-9), :meth:`back`,
    :meth:`no_answer` (0). It writes nothing; :func:`save_call` does, once, at the end.
    """

    script: Script
    started_at: datetime
    values: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)  # nodes visited, the current one last
    answers: list[int] = field(default_factory=list)  # 1-based answer taken at each node but the last
    no_answer_notes: list[tuple[str, str]] = field(default_factory=list)  # (node, what the client said)
    outcome: str | None = None

    def __post_init__(self) -> None:
        if not self.path:
            self.path.append(self.script.start)

    @property
    def node(self) -> Node:
        return self.script.nodes[self.path[-1]]

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def line(self) -> str:
        return fill(self.node.say, self.values)

    def choices(self) -> list[str]:
        return [fill(a.text, self.values) for a in self.node.answers]

    def choose(self, number: int) -> bool:
        """Take answer ``number`` (1-based); ``False`` if there is no such answer or the call ended."""
        if self.finished or not 1 <= number <= len(self.node.answers):
            return False
        target = self.node.answers[number - 1].goto
        self.answers.append(number)
        if target in self.script.outcomes:
            self.outcome = target
        else:
            self.path.append(target)
        return True

    def back(self) -> bool:
        """Step back to the previous operator line (undoing the last answer)."""
        if self.outcome is not None:
            self.outcome = None
            self.answers.pop()
            return True
        if len(self.path) < 2:
            return False
        self.path.pop()
        self.answers.pop()
        return True

    def no_answer(self, said: str) -> None:
        text = said.strip()
        if text:
            self.no_answer_notes.append((self.path[-1], text[:2000]))

    def outcome_view(self) -> Outcome | None:
        return self.script.outcomes[self.outcome] if self.outcome else None

    def duration(self, now: datetime) -> int:
        return max(0, int((now - self.started_at).total_seconds()))


def start_call(
    name: str,
    *,
    lead_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
    operator: str = "",
    now: datetime,
) -> CallRun:
    """A new call with the script, its lines filled with the client's name and company."""
    values = {"operator": operator, "name": "", "company": ""}
    if contact_id is not None:
        contact = Contact.get_or_none(Contact.id == contact_id)
        if contact is None:
            raise NotFound(f"No contact #{contact_id}")
        values["name"] = contact.name
        if contact.company_id:
            values["company"] = contact.company.name
    if lead_id is not None:
        lead = Lead.get_or_none(Lead.id == lead_id)
        if lead is None:
            raise NotFound(f"No lead #{lead_id}")
        values["name"] = values["name"] or lead.name
        values["company"] = values["company"] or lead.company_name
    if deal_id is not None:
        deal = Deal.get_or_none(Deal.id == deal_id)
        if deal is None:
            raise NotFound(f"No deal #{deal_id}")
        if not values["name"] and deal.contact_id:
            values["name"] = deal.contact.name
        if not values["company"] and deal.company_id:
            values["company"] = deal.company.name
    values["first_name"] = values["name"].split(" ")[0] if values["name"] else ""
    return CallRun(get(name), started_at=now, values=values)


@dataclass(frozen=True)
class CallSaved:
    interaction: InteractionRow
    outcome: str
    outcome_label: str
    task: TaskRow | None
    stage: str | None
    path: list[str]
    no_answers: int


def save_call(
    run: CallRun,
    *,
    by: int | None,
    now: datetime,
    notes: str = "",
    lead_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
    kind: str = "call_out",
    task_id: int | None = None,
) -> CallSaved:
    """Log the call (duration, path, outcome, notes) and its follow-up task / stage move, all or nothing.

    ``task_id``: the task the call was made for; it is marked done with the call, and so is the lead's
    open "Call <lead>" (first call) task.
    """
    if kind not in interactions.CALL_KINDS:
        raise InvalidInput(f"A scripted call is call_in or call_out, not {kind!r}", {"kind": "unknown"})
    outcome = run.outcome_view()
    script_row = _get(run.script.name)
    path_data = [
        {"node": node, "answer": run.answers[i] if i < len(run.answers) else None}
        for i, node in enumerate(run.path)
    ]
    data = {
        "script": run.script.name,
        "path": path_data,
        "outcome": outcome.id if outcome else None,
        "no_answer_notes": [{"node": n, "said": t} for n, t in run.no_answer_notes],
    }
    follow_up: TaskRow | None = None
    stage_name: str | None = None
    with database.atomic():
        logged = interactions.log(
            kind,
            by=by,
            now=now,
            lead_id=lead_id,
            contact_id=contact_id,
            deal_id=deal_id,
            duration=run.duration(now),
            subject=f"{run.script.title}",
            summary=notes,
            outcome=outcome.label if outcome else "ended early",
            data=data,
        )
        call = ScriptCall.create(
            interaction=logged.id,
            script=script_row.id,
            by=by,
            at=now,
            duration=run.duration(now),
            outcome=outcome.id if outcome else "",
            success=bool(outcome and outcome.success),
            no_answers=len(run.no_answer_notes),
        )
        steps = [
            {"call": call.id, "position": i, "kind": "visit", "node": p["node"], "answer": p["answer"]}
            for i, p in enumerate(path_data)
        ]
        steps += [
            {
                "call": call.id,
                "position": len(path_data) + i,
                "kind": "no_answer",
                "node": n,
                "answer": None,
                "text": t,
            }
            for i, (n, t) in enumerate(run.no_answer_notes)
        ]
        for step in steps:
            step.setdefault("text", "")
        ScriptStep.insert_many(steps).execute()
        if outcome and outcome.task_title:
            due_local = tasks.parse_due(outcome.task_due or "+1d", clock.to_local(now))
            follow_up = tasks.create(
                fill(outcome.task_title, run.values),
                clock.to_utc(due_local),
                by=by,
                now=now,
                lead_id=lead_id,
                contact_id=logged.contact_id if logged.contact_id else contact_id,
                deal_id=deal_id,
            )
        if outcome and outcome.stage and deal_id is not None:
            stage_name = _follow_stage(deal_id, outcome.stage, by=by, now=now)
        done_by_call = [task_id] if task_id is not None else []
        if lead_id is not None:  # the lead's "Call <lead>" task is what this call fulfils
            done_by_call += [t.id for t in tasks.open_for(lead_id=lead_id) if t.kind == "first_call"]
        for done_id in dict.fromkeys(done_by_call):
            if tasks.row(done_id).done_at is None:
                tasks.complete(done_id, by=by, now=now)
    return CallSaved(
        logged,
        outcome.id if outcome else "",
        outcome.label if outcome else "ended early",
        follow_up,
        stage_name,
        list(run.path),
        len(run.no_answer_notes),
    )


def _follow_stage(deal_id: int, stage: str, *, by: int | None, now: datetime) -> str | None:
    """Move the deal to the outcome's stage unless it stands there already or is closed (then ``None``).

    Any other refusal (an unknown stage, a rule of the pipeline) is raised, and the call is not saved.
    """
    current = deals.row(deal_id)
    target = pipelines.resolve_stage(current.pipeline_id, stage)
    if current.stage_kind != "open" or target.id == current.stage_id:
        return None
    return deals.move(deal_id, target.id, by=by, now=now).stage_name


# --- analytics ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeStats:
    node: str
    say: str
    reached: int
    answers: list[tuple[str, int]]  # (answer text, times taken), in the script's order
    no_answer: int
    success_rate: float | None  # of the calls that reached the node, the share ending in a success outcome
    no_answer_said: list[str]  # the latest things clients said that the script had no answer for


@dataclass(frozen=True)
class OperatorStats:
    login: str | None
    name: str | None
    calls: int
    successes: int
    success_rate: float | None


@dataclass(frozen=True)
class ScriptStats:
    name: str
    title: str
    calls: int
    successes: int
    success_rate: float | None
    ended_early: int
    outcomes: list[tuple[str, str, int]]  # (id, label, calls)
    nodes: list[NodeStats]
    operators: list[OperatorStats]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def stats(name: str, *, said_per_node: int = 5) -> ScriptStats:
    """How many calls reached each node, took each answer, fell out with "no suitable answer" there, and
    ended in each outcome; success rate per node and per operator. All counted in SQL."""
    row = _get(name)
    script = Script.from_json(json.loads(row.tree))
    success_int = Case(None, [(ScriptCall.success == True, 1)], 0)  # noqa: E712
    total, successes = (
        ScriptCall.select(fn.COUNT(ScriptCall.id), fn.COALESCE(fn.SUM(success_int), 0))
        .where(ScriptCall.script == row.id)
        .tuples()
        .first()
    ) or (0, 0)
    by_outcome = dict(
        ScriptCall.select(ScriptCall.outcome, fn.COUNT(ScriptCall.id))
        .where(ScriptCall.script == row.id)
        .group_by(ScriptCall.outcome)
        .tuples()
    )
    reached: dict[str, tuple[int, int]] = {
        node: (int(n), int(s or 0))
        for node, n, s in ScriptStep.select(
            ScriptStep.node, fn.COUNT(fn.DISTINCT(ScriptStep.call)), fn.SUM(success_int)
        )
        .join(ScriptCall, on=(ScriptStep.call == ScriptCall.id))
        .where((ScriptCall.script == row.id) & (ScriptStep.kind == "visit"))
        .group_by(ScriptStep.node)
        .tuples()
    }
    taken: dict[tuple[str, int], int] = {
        (node, int(answer)): int(n)
        for node, answer, n in ScriptStep.select(ScriptStep.node, ScriptStep.answer, fn.COUNT(ScriptStep.id))
        .join(ScriptCall, on=(ScriptStep.call == ScriptCall.id))
        .where(
            (ScriptCall.script == row.id) & (ScriptStep.kind == "visit") & ScriptStep.answer.is_null(False)
        )
        .group_by(ScriptStep.node, ScriptStep.answer)
        .tuples()
    }
    no_answer: dict[str, int] = dict(
        ScriptStep.select(ScriptStep.node, fn.COUNT(ScriptStep.id))
        .join(ScriptCall, on=(ScriptStep.call == ScriptCall.id))
        .where((ScriptCall.script == row.id) & (ScriptStep.kind == "no_answer"))
        .group_by(ScriptStep.node)
        .tuples()
    )
    said: dict[str, list[str]] = {}
    for node, text in (
        ScriptStep.select(ScriptStep.node, ScriptStep.text)
        .join(ScriptCall, on=(ScriptStep.call == ScriptCall.id))
        .where((ScriptCall.script == row.id) & (ScriptStep.kind == "no_answer"))
        .order_by(ScriptStep.id.desc())
        .limit(200)
        .tuples()
    ):
        if len(said.setdefault(node, [])) < said_per_node:
            said[node].append(text)
    nodes = []
    for node in script.nodes.values():
        n, s = reached.get(node.id, (0, 0))
        nodes.append(
            NodeStats(
                node.id,
                node.say,
                n,
                [(a.text, taken.get((node.id, i + 1), 0)) for i, a in enumerate(node.answers)],
                int(no_answer.get(node.id, 0)),
                _rate(s, n),
                said.get(node.id, []),
            )
        )
    operators = [
        OperatorStats(login, uname, int(n), int(s or 0), _rate(int(s or 0), int(n)))
        for login, uname, n, s in ScriptCall.select(
            User.login, User.name, fn.COUNT(ScriptCall.id), fn.SUM(success_int)
        )
        .join(User, on=(ScriptCall.by == User.id), join_type=JOIN.LEFT_OUTER)
        .where(ScriptCall.script == row.id)
        .group_by(User.login, User.name)
        .order_by(fn.COUNT(ScriptCall.id).desc())
        .tuples()
    ]
    return ScriptStats(
        script.name,
        script.title,
        int(total),
        int(successes),
        _rate(int(successes), int(total)),
        int(by_outcome.get("", 0)),
        [(o.id, o.label, int(by_outcome.get(o.id, 0))) for o in script.outcomes.values()],
        nodes,
        operators,
    )
