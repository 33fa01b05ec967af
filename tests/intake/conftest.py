"""A real intake server per test: uvicorn on a free 127.0.0.1 port in a thread, stopped by the test.

- ``intake_db``: the test's database file, migrated, with users ``admin`` and ``anna`` and a form key
  (``Landing``, owned by anna, default source ``site``, allowed origin ``https://shop.example``).
- ``start_server(header_timeout=10.0, **options)``: starts a server on that file (run as ``crm intake
  serve`` runs it, options go to ``make_asgi_app``) and returns its base URL; every server started is
  stopped when the test ends.
- ``server``: a server with the default options and no rate limit.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from crm_tui.data.db import database, open_database
from crm_tui.intake.server import make_asgi_app, uvicorn_config
from crm_tui.services import intake, pipelines, users

NOW = datetime(2026, 3, 2, 9, 0, 0)


@dataclass(frozen=True)
class IntakeDesk:
    path: Path
    url: str
    admin_id: int
    anna_id: int
    key: str


@pytest.fixture
def intake_db(tmp_path: Path) -> Iterator[IntakeDesk]:
    path = tmp_path / "crm.db"
    db = open_database(str(path))
    with db.connection_context():
        admin = users.ensure_default(NOW)
        pipelines.ensure_default()
        anna = users.create("anna", "Анна Петрова", "manager", now=NOW)
        form = intake.add_form(
            "Landing",
            by=admin.id,
            now=NOW,
            owner_id=anna.id,
            default_source="site",
            allowed_origins=["https://shop.example"],
        )
    db.close()
    yield IntakeDesk(path, f"sqlite:///{path}", admin.id, anna.id, form.key)
    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()


StartServer = Callable[..., str]


@pytest.fixture
def start_server(intake_db: IntakeDesk) -> Iterator[StartServer]:
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(header_timeout: float = 10.0, **options: Any) -> str:
        app = make_asgi_app(intake_db.url, **options)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn_config(app, log_level="warning", lifespan="on", header_timeout=header_timeout)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the intake server did not start")
            time.sleep(0.01)
        running.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(start_server: StartServer) -> str:
    return start_server(rate=0)
