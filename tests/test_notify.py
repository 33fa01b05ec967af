"""Desktop notifications on Linux: the D-Bus session bus spoken directly, nothing installed; every way it
can fail ends within the timeout with ``False`` and one line saying why."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_tui.notify import DesktopNotifier, probe_session_bus, uses_dbus
from tests.desk_fixtures import private_session_bus


@pytest.fixture(autouse=True)
def no_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


def test_a_notification_reaches_the_server_with_no_notify_send_and_no_dbus_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_session_bus(tmp_path) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        monkeypatch.setenv("PATH", str(tmp_path))  # no notify-send to be found, whatever the machine has
        notifier = DesktopNotifier()
        assert notifier.notify("Task due: Call Иван", "lead: Иван · due 2026-03-02 10:00") is True
        assert notifier.unavailable is None
        received = bus.received()
    assert received == [
        {"app": "crm-tui", "summary": "Task due: Call Иван", "body": "lead: Иван · due 2026-03-02 10:00"}
    ]


def test_a_server_reading_markup_gets_the_body_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_session_bus(tmp_path, mode="markup") as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        assert DesktopNotifier().notify("Call R&D <Ромашка>", "contact: Smith & Sons <ООО>") is True
        (received,) = bus.received()
    assert received["summary"] == "Call R&D <Ромашка>"  # the summary is plain text for every server
    assert received["body"] == "contact: Smith &amp; Sons &lt;ООО&gt;"


def test_a_server_that_knows_only_notify_gets_it_in_plain_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_session_bus(tmp_path, mode="bare") as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        assert DesktopNotifier().notify("Call R&D", "Smith & Sons") is True
        (received,) = bus.received()
    assert (received["summary"], received["body"]) == ("Call R&D", "Smith & Sons")


def test_no_session_bus_says_so() -> None:
    notifier = DesktopNotifier()
    assert notifier.notify("t", "b") is False
    assert notifier.unavailable == "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    assert notifier.unavailable_code == "no-bus"
    assert probe_session_bus() == notifier.unavailable


def test_a_bus_nobody_serves_notifications_on_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_session_bus(tmp_path, with_server=False) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        notifier = DesktopNotifier()
        assert notifier.notify("t", "b") is False
    assert notifier.unavailable == "no desktop notification service on the D-Bus session bus"
    assert notifier.unavailable_code == "no-server"


def test_a_server_that_never_answers_is_given_up_on_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_session_bus(tmp_path, mode="silent") as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        assert probe_session_bus() is None  # it owns the name...
        notifier = DesktopNotifier(timeout=0.5)
        assert notifier.notify("t", "b") is False  # ...and never answers
    assert notifier.unavailable == "the desktop notification service did not answer within 0.5 s"
    assert notifier.unavailable_code == "server-failed"


@pytest.fixture
def mute_socket(tmp_path: Path) -> Iterator[Path]:
    """A socket that accepts connections and never says a word (a bus that hangs)."""
    path = tmp_path / "mute-bus"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(8)
    try:
        yield path
    finally:
        server.close()


def test_a_bus_that_never_answers_is_given_up_on_after_the_timeout(
    mute_socket: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={mute_socket}")
    notifier = DesktopNotifier(timeout=0.5)
    assert notifier.notify("t", "b") is False
    assert notifier.unavailable == "the D-Bus session bus did not answer within 0.5 s"
    assert notifier.unavailable_code == "bus-down"


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("unix:path={tmp}/nobody-listens", "the D-Bus session bus cannot be reached (FileNotFoundError"),
        ("tcp:host=localhost,port=1", "the D-Bus session bus address is not usable"),
        ("nonsense", "the D-Bus session bus address is not usable"),
    ],
)
def test_a_bus_address_that_leads_nowhere_says_so(
    address: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address.format(tmp=tmp_path))
    notifier = DesktopNotifier()
    assert notifier.notify("t", "b") is False
    assert notifier.unavailable is not None and notifier.unavailable.startswith(why)


def test_after_a_failure_the_desktop_is_left_alone_for_a_while_then_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient, eager = DesktopNotifier(), DesktopNotifier(retry_after=0)
    assert patient.notify("t", "b") is False and eager.notify("t", "b") is False  # no bus yet
    with private_session_bus(tmp_path) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        assert patient.notify("first", "b") is False  # not tried: the next check will
        assert eager.notify("second", "b") is True
        received = bus.received()
    assert [r["summary"] for r in received] == ["second"]
    assert eager.unavailable is None and eager.unavailable_code is None
    assert patient.unavailable is not None


def test_linux_and_the_bsds_use_dbus_macos_and_windows_plyer() -> None:
    assert uses_dbus("linux") and uses_dbus("freebsd14")
    assert not uses_dbus("darwin") and not uses_dbus("win32")
