"""What the hostile-input property tests share: strategies for text a person (or an attacker) might type,
and row counts read straight from the database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Bounded so the whole file runs in well under a minute on two cores; no example database is kept.
HOSTILE = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = [
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\u202e",
    "\u202a",
    "\u2066",
    "\u2069",
    "\u2028",
    "\ud800",
    "\udcff",
    "\n",
    "\r",
    "\t",
    "'",
    '"',
    "%",
    "{",
    "}",
    "[",
    "]",
    ":",
    "-",
    "#",
    "\\",
    "Ё",
    "я",
    " ",
]
CHARS = st.one_of(st.characters(), st.sampled_from(NASTY))
# Short hostile text, or long runs around the limits (300 for names, 5,000 for comments).
TEXT = st.one_of(
    st.text(CHARS, max_size=30),
    st.builds(lambda c, n: c * n, st.sampled_from(["я", "x", " ", "\u202e"]), st.integers(0, 5200)),
)
NUMBERS = st.one_of(
    st.integers(-3, 12).map(str),
    st.integers(0, 2**70).map(str),
    st.just("9223372036854775807"),
    st.just("9223372036854775808"),
    st.text(CHARS, max_size=12),
)
DUE = st.one_of(
    TEXT,
    st.builds(lambda n, u: f"+{n}{u}", st.integers(0, 10**12), st.sampled_from("mhdx")),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.builds(lambda w, h, m: f"{w} {h}:{m}", st.sampled_from(["today", "завтра"]), NUMBERS, NUMBERS),
)


def row_counts(path: Path) -> dict[str, int]:
    """Rows of every table of the SQLite file, read through a connection of its own."""
    with sqlite3.connect(path) as raw:
        names = [
            n
            for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not n.startswith(("search_index_", "sqlite_"))
        ]
        return {n: int(raw.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0]) for n in names}
