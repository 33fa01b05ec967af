"""Desk-wide commands: ``crm init``, ``crm demo``, ``crm search``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the desk-wide commands to the root app."""
