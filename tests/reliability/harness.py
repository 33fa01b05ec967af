"""What the reliability suite shares: running ``crm`` as a separate process, and checking a desk whole.

:func:`check_desk` is the consistency check every test ends with: SQLite's ``integrity_check``, the
stage totals the triggers keep equal to a recount of ``deal``, every deal in a state the rules allow,
and every deal's stage history an unbroken chain that ends where the deal is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from peewee import Database

from crm_tui.data.db import connect_url, is_sqlite, resolve_url

ROOT = Path(__file__).resolve().parents[2]


def crm_env(**extra: str) -> dict[str, str]:
    """The environment of a ``crm`` process: none of the developer's ``CRM_*`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str


def crm_process(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Done:
    """``crm ARGS`` as a user runs it: a process of its own (``python -m crm_tui``)."""
    result = subprocess.run(
        [sys.executable, "-m", "crm_tui", *args],
        cwd=ROOT,
        env=env or crm_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Done(result.returncode, result.stdout, result.stderr)


def start_crm(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crm_tui", *args],
        cwd=ROOT,
        env=env or crm_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def restart(url_or_path: str) -> None:
    """Open the desk as the next program after a crash does (finishing an upgrade cut short), then close."""
    from crm_tui.data.db import open_database

    open_database(url_or_path).close()


def check_desk(url_or_path: str) -> list[str]:
    """Everything wrong with the desk (an empty list when it is whole), read over a connection of its own."""
    db = connect_url(resolve_url(url_or_path))
    try:
        return _problems(db)
    finally:
        db.close()


def _rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in db.execute_sql(sql).fetchall()]


def _problems(db: Database) -> list[str]:
    problems: list[str] = []
    if is_sqlite(db):
        verdict = _rows(db, "PRAGMA integrity_check")
        if verdict != [("ok",)]:
            problems.append(f"integrity_check: {verdict}")
        broken = _rows(db, "PRAGMA foreign_key_check")
        if broken:
            problems.append(f"foreign_key_check: {broken[:5]}")
    kept = {
        (stage, currency): (deals, amount)
        for stage, currency, deals, amount in _rows(
            db, "SELECT stage_id, currency, deals, amount FROM stage_total WHERE deals <> 0 OR amount <> 0"
        )
    }
    counted = {
        (stage, currency): (deals, amount)
        for stage, currency, deals, amount in _rows(
            db, "SELECT stage_id, currency, COUNT(*), COALESCE(SUM(amount), 0) FROM deal GROUP BY 1, 2"
        )
    }
    if kept != counted:
        problems.append(f"stage_total {kept} != recount {counted}")
    for lead_id, status, deal_id, contact_id in _rows(
        db, "SELECT id, status, deal_id, contact_id FROM lead ORDER BY id"
    ):
        converted = status == "converted"
        if (converted and (deal_id is None or contact_id is None)) or (not converted and deal_id is not None):
            problems.append(f"lead {lead_id}: {status} with deal {deal_id} and contact {contact_id}")
    twice = _rows(
        db, "SELECT lead_id, COUNT(*) FROM deal WHERE lead_id IS NOT NULL GROUP BY 1 HAVING COUNT(*) > 1"
    )
    if twice:
        problems.append(f"leads converted into more than one deal: {twice[:5]}")
    kinds = dict(_rows(db, "SELECT id, kind FROM stage"))
    deals = _rows(
        db, "SELECT id, stage_id, lost_at, lost_reason, won_at, acts_signed_at FROM deal ORDER BY id"
    )
    history: dict[int, list[tuple[object, ...]]] = {}
    for deal_id, *rest in _rows(
        db,
        "SELECT deal_id, from_stage_id, to_stage_id, at, left_at FROM stage_history ORDER BY deal_id, at, id",
    ):
        history.setdefault(int(deal_id), []).append(tuple(rest))  # type: ignore[arg-type]
    for deal_id, stage, lost_at, lost_reason, won_at, acts in deals:
        kind = kinds.get(stage)
        if kind == "lost" and (lost_at is None or not (lost_reason or "").strip() or won_at is not None):
            problems.append(f"deal {deal_id}: lost without lost_at/reason, or won too")
        if kind == "won" and (won_at is None or acts is None or lost_at is not None):
            problems.append(f"deal {deal_id}: won without acts signed/won_at, or lost too")
        if kind == "open" and (lost_at is not None or won_at is not None):
            problems.append(f"deal {deal_id}: in an open stage with lost_at/won_at")
        problems += [f"deal {deal_id}: {p}" for p in _chain_problems(history.get(int(deal_id), []), stage)]  # type: ignore[arg-type]
    return problems


def _chain_problems(rows: list[tuple[object, ...]], stage: object) -> list[str]:
    if not rows:
        return ["no stage history"]
    problems = []
    if rows[0][0] is not None:
        problems.append("history does not start with the deal's creation")
    for (_f, to_stage, _at, left_at), (from_stage, _t, next_at, _l) in zip(rows, rows[1:], strict=False):
        if left_at != next_at:
            problems.append(f"left_at {left_at} != next row's at {next_at}")
        if from_stage != to_stage:
            problems.append(f"a move from {from_stage} follows a move to {to_stage}")
    if rows[-1][3] is not None:
        problems.append("the last stay has left_at")
    if rows[-1][1] != stage:
        problems.append(f"history ends at stage {rows[-1][1]}, the deal is at {stage}")
    return problems
