"""Users of the desk. Every write takes the acting user's id (``by``); the CLI and app resolve it here."""

from __future__ import annotations

import getpass
import os
from datetime import datetime

from crm_tui.data.db import database
from crm_tui.data.models import ROLES, User
from crm_tui.services.errors import InvalidInput, NotFound
from crm_tui.services.validation import optional_text, required_text
from crm_tui.services.views import UserView

ENV_USER = "CRM_USER"
DEFAULT_LOGIN = "admin"


def view(user: User) -> UserView:
    return UserView(user.id, user.login, user.name, user.role)


def create(login: str, name: str, role: str = "manager", *, now: datetime) -> UserView:
    login = required_text(login, "login", "Login", 64).lower()
    name = optional_text(name, "name", "Name", 200)
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; one of: {', '.join(ROLES)}", {"role": "unknown"})
    with database.atomic():
        if User.select().where(User.login == login).exists():
            raise InvalidInput(f"User {login!r} already exists", {"login": "taken"})
        user = User.create(login=login, name=name or login, role=role, created_at=now)
    return view(user)


def ensure_default(now: datetime) -> UserView:
    """The desk always has an admin; a solo consultant never has to create a user."""
    user = User.get_or_none(User.login == DEFAULT_LOGIN)
    if user is None:
        user = User.create(login=DEFAULT_LOGIN, name="Administrator", role="admin", created_at=now)
    return view(user)


def by_login(login: str) -> UserView:
    user = User.get_or_none(User.login == login.strip().lower())
    if user is None:
        raise NotFound(f"No user with login {login!r}", code="user.not_found", params={"login": login})
    return view(user)


def get(user_id: int) -> UserView:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise NotFound(f"No user #{user_id}")
    return view(user)


def list_all() -> list[UserView]:
    return [view(u) for u in User.select().where(User.active == True).order_by(User.login)]  # noqa: E712


def current(login: str | None, *, now: datetime) -> UserView:
    """Who is acting: ``--user`` / ``CRM_USER``, else an existing user named like the OS login, else admin."""
    wanted = login or os.environ.get(ENV_USER)
    if wanted:
        return by_login(wanted)
    try:
        os_login = getpass.getuser().lower()
    except Exception:  # noqa: BLE001 - no login name in some containers
        os_login = ""
    found = User.get_or_none(User.login == os_login) if os_login else None
    return view(found) if found else ensure_default(now)
