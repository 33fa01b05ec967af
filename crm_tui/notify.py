"""Desktop notifications, usable by the CLI and the app (no Textual here).

A :class:`Notifier` returns ``True`` when the desktop took the notification and ``False`` when it could not
(no session bus, nobody owning ``org.freedesktop.Notifications``, no plyer backend, an error). It never
raises and never waits longer than a few seconds: call it from a thread, never from the UI loop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import warnings
from dataclasses import dataclass, field
from typing import Protocol

NOTIFICATIONS_NAME = "org.freedesktop.Notifications"
APP_NAME = "crm-tui"
PROBE_TIMEOUT = 2.0


class Notifier(Protocol):
    def notify(self, title: str, body: str) -> bool: ...


def probe_session_bus(timeout: float = PROBE_TIMEOUT) -> str | None:
    """``None`` when a notification server is on the session bus, else why not (one line for people)."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        return "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    try:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus=address, auth_timeout=timeout) as conn:
            reply = conn.send_and_get_reply(message_bus.NameHasOwner(NOTIFICATIONS_NAME), timeout=timeout)
    except Exception as error:  # noqa: BLE001 - any failure means "no desktop notifications"
        return f"the D-Bus session bus cannot be reached ({type(error).__name__}: {error})"
    if not reply.body or not reply.body[0]:
        return "no desktop notification service on the D-Bus session bus"
    return None


def _plyer_backend_problem() -> str | None:
    """plyer on Linux needs dbus-python or ``notify-send``; without either it raises or fails silently."""
    if os.path.isdir("/app"):
        return "plyer would use the Flatpak portal here, which fails silently"
    try:
        import dbus  # type: ignore[import-not-found]  # noqa: F401

        return None
    except ImportError:
        pass
    if shutil.which("notify-send"):
        return None
    return "no plyer backend: install notify-send (Debian: libnotify-bin) or dbus-python"


@dataclass
class DesktopNotifier:
    """plyer, guarded: probes the bus first (once, then again after a failure), then sends."""

    app_name: str = APP_NAME
    timeout: int = 10
    unavailable: str | None = field(default=None, init=False)
    _probed: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def available(self) -> bool:
        """Whether the desktop can show notifications; ``unavailable`` then says why not."""
        with self._lock:
            if not self._probed:
                self.unavailable = probe_session_bus() or _plyer_backend_problem()
                self._probed = True
            return self.unavailable is None

    def notify(self, title: str, body: str) -> bool:
        if not self.available():
            return False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from plyer import notification

                notification.notify(
                    title=title, message=body, app_name=self.app_name, timeout=self.timeout
                )
        except (Exception, subprocess.SubprocessError) as error:  # noqa: BLE001 - plyer raises anything
            with self._lock:
                self.unavailable = f"desktop notification failed ({type(error).__name__}: {error})"
                self._probed = False  # probe again next time: the desktop may come back
            return False
        return True


@dataclass
class RecordingNotifier:
    """Keeps what it was asked to show; for tests and for ``--dry-run`` style callers."""

    works: bool = True
    sent: list[tuple[str, str]] = field(default_factory=list)

    def notify(self, title: str, body: str) -> bool:
        if not self.works:
            return False
        self.sent.append((title, body))
        return True
