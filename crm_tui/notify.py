"""Desktop notifications, usable by the CLI and the app (no Textual here).

A :class:`Notifier` returns ``True`` when the desktop took the notification and ``False`` when it could not.
:class:`DesktopNotifier` never raises and never waits longer than :data:`TIMEOUT` seconds: call it from a
thread, never from the UI loop.

- **Linux and the BSDs**: ``org.freedesktop.Notifications.Notify`` is sent over the D-Bus session bus with
  ``jeepney`` (pure Python), so nothing needs installing: no ``notify-send``, no dbus-python. Every step
  (connect, authenticate, ``Hello``, ``NameHasOwner``, ``GetCapabilities``, ``Notify``) shares one
  deadline, and ``Notify`` is sent with ``NO_AUTO_START``: a bus where nobody owns the name answers at
  once instead of trying to start a notification daemon.
- **macOS and Windows**: plyer, run in a thread that is waited for at most :data:`TIMEOUT` seconds.

After a failure the desktop is not tried again for :data:`RETRY_AFTER` seconds (the reminders of that
check, or of a whole ``crm remind`` run, go straight to their fallback), then it is tried again: the
desktop may have come back. ``unavailable`` says why it failed, in one line for people.
"""

from __future__ import annotations

import itertools
import os
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

NOTIFICATIONS_NAME = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
APP_NAME = "crm-tui"
TIMEOUT = 3.0
"""Seconds one notification may take, all steps together (a desktop answers in milliseconds)."""
PROBE_TIMEOUT = TIMEOUT
RETRY_AFTER = 60.0
"""Seconds the desktop is left alone after it failed."""
URGENCY_NORMAL = 1


class Notifier(Protocol):
    def notify(self, title: str, body: str) -> bool: ...


class Unavailable(Exception):
    """Why the desktop did not take a notification, worded for people (English, one line), and ``code``
    for faces that say it in another language: ``no-bus``, ``bus-down`` (an address that leads nowhere,
    a bus that does not answer), ``no-server`` (nobody owns the name) or ``server-failed``."""

    def __init__(self, why: str, code: str) -> None:
        super().__init__(why)
        self.code = code


# --- the D-Bus session bus, every step bounded ------------------------------------------------------


class SessionBus:
    """One short connection to the session bus, where every read and write shares one deadline.

    jeepney's own blocking connection waits for the bus's answer to ``Hello`` without a time limit;
    this one is built from jeepney's protocol pieces (authenticator, parser, messages) on a socket whose
    timeout is the time left."""

    def __init__(self, address: str, deadline: float) -> None:
        from jeepney import Parser
        from jeepney.bus import get_connectable_addresses
        from jeepney.bus_messages import message_bus

        self.deadline = deadline
        self.parser = Parser()
        self.serials = itertools.count(1)
        try:
            path = next(get_connectable_addresses(address))
        except (RuntimeError, ValueError, StopIteration) as error:
            raise Unavailable(f"the D-Bus session bus address is not usable ({error})", "bus-down") from error
        self.sock = socket.socket(socket.AF_UNIX)
        try:
            self._within(self.sock.connect, path)
            self._authenticate()
            self.call(message_bus.Hello())
        except BaseException:
            self.sock.close()
            raise

    def __enter__(self) -> SessionBus:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def _within(self, method: Callable[..., Any], *args: Any) -> Any:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        return method(*args)

    def _read(self) -> bytes:
        data: bytes = self._within(self.sock.recv, 4096)
        if not data:
            raise ConnectionResetError("the bus closed the connection")
        return data

    def _authenticate(self) -> None:
        from jeepney.auth import BEGIN, Authenticator

        if hasattr(socket, "SCM_CREDS"):  # the BSDs: the kernel fills in who we are
            self._within(self.sock.sendmsg, [b"\0"], [(socket.SOL_SOCKET, socket.SCM_CREDS, bytes(512))])
        else:  # Linux: the bus asks the kernel (SO_PEERCRED)
            self._within(self.sock.sendall, b"\0")
        auth = Authenticator(inc_null_byte=False)
        for line in auth:
            self._within(self.sock.sendall, line)
            auth.feed(self._read())
        self._within(self.sock.sendall, BEGIN)

    def call(self, message: Any) -> tuple[Any, ...]:
        """Send a method call and return the body of its reply (``DBusErrorResponse`` for an error)."""
        from jeepney import HeaderFields
        from jeepney.wrappers import unwrap_msg

        serial = next(self.serials)
        self._within(self.sock.sendall, message.serialise(serial=serial))
        while True:
            reply = self.parser.get_next_message()
            if reply is None:
                self.parser.add_data(self._read())
                continue
            if reply.header.fields.get(HeaderFields.reply_serial) == serial:
                return tuple(unwrap_msg(reply))


def _session_address() -> str:
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        raise Unavailable("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)", "no-bus")
    return address


def _open_bus(timeout: float) -> SessionBus:
    address = _session_address()
    try:
        return SessionBus(address, time.monotonic() + timeout)
    except Unavailable:
        raise
    except TimeoutError as error:
        raise Unavailable(f"the D-Bus session bus did not answer within {timeout:g} s", "bus-down") from error
    except Exception as error:  # noqa: BLE001 - refused, missing socket, failed authentication...
        why = f"the D-Bus session bus cannot be reached ({type(error).__name__}: {error})"
        raise Unavailable(why, "bus-down") from error


def _server_present(bus: SessionBus) -> None:
    from jeepney.bus_messages import message_bus

    (owned,) = bus.call(message_bus.NameHasOwner(NOTIFICATIONS_NAME))
    if not owned:
        raise Unavailable("no desktop notification service on the D-Bus session bus", "no-server")


def probe_session_bus(timeout: float = PROBE_TIMEOUT) -> str | None:
    """``None`` when a notification server is on the session bus, else why not (one line for people)."""
    try:
        with _open_bus(timeout) as bus:
            _server_present(bus)
    except Unavailable as why:
        return str(why)
    except TimeoutError:
        return f"the D-Bus session bus did not answer within {timeout:g} s"
    except Exception as error:  # noqa: BLE001 - anything else: no desktop notifications
        return f"the D-Bus session bus failed ({type(error).__name__}: {error})"
    return None


def _escape_markup(text: str) -> str:
    """Servers announcing ``body-markup`` read the body as a little HTML: ``&``, ``<``, ``>`` escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send_over_dbus(title: str, body: str, *, app_name: str = APP_NAME, timeout: float = TIMEOUT) -> int:
    """Show a notification through the session bus's notification server; its id. Raises
    :class:`Unavailable` (why not, for people) when there is none or it does not answer in time."""
    from jeepney import DBusAddress, MessageFlag, new_method_call
    from jeepney.wrappers import DBusErrorResponse

    started = time.monotonic()
    step, code = "the D-Bus session bus", "bus-down"
    try:
        with _open_bus(timeout) as bus:
            _server_present(bus)
            step, code = "the desktop notification service", "server-failed"
            server = DBusAddress(
                NOTIFICATIONS_PATH, bus_name=NOTIFICATIONS_NAME, interface=NOTIFICATIONS_NAME
            )
            try:
                (caps,) = bus.call(_no_auto_start(new_method_call(server, "GetCapabilities"), MessageFlag))
            except DBusErrorResponse:  # a server without it: plain text is safe everywhere
                caps = []
            if "body-markup" in caps:
                body = _escape_markup(body)
            hints = {"urgency": ("y", URGENCY_NORMAL), "category": ("s", "x-crm-tui.reminder")}
            notify = new_method_call(
                server,
                "Notify",
                "susssasa{sv}i",
                (app_name, 0, "", title, body, [], hints, -1),  # -1: the desktop's own display time
            )
            (notification_id,) = bus.call(_no_auto_start(notify, MessageFlag))
    except Unavailable:
        raise
    except TimeoutError as error:
        raise Unavailable(f"{step} did not answer within {timeout:g} s", code) from error
    except DBusErrorResponse as error:
        raise Unavailable(f"{step} refused the notification ({error.name})", code) from error
    except Exception as error:  # noqa: BLE001 - a broken connection, a malformed reply...
        why = f"{step} failed after {time.monotonic() - started:.1f} s ({type(error).__name__}: {error})"
        raise Unavailable(why, code) from error
    return int(notification_id)


def _no_auto_start(message: Any, flags: Any) -> Any:
    """Never make the bus start a notification daemon: a missing one fails at once, not after 25 s."""
    message.header.flags |= flags.no_auto_start
    return message


# --- macOS and Windows: plyer, bounded ----------------------------------------------------------------


def send_with_plyer(title: str, body: str, *, app_name: str = APP_NAME, timeout: float = TIMEOUT) -> None:
    """plyer's notification, waited for at most ``timeout`` seconds. Raises :class:`Unavailable`."""
    failure: list[BaseException] = []

    def show() -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from plyer import notification

                notification.notify(title=title, message=body, app_name=app_name, timeout=10)
        except BaseException as error:  # noqa: BLE001 - plyer raises anything, even NotImplementedError
            failure.append(error)

    worker = threading.Thread(target=show, name="crm-desktop-notification", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise Unavailable(f"the desktop notification did not return within {timeout:g} s", "server-failed")
    if failure:
        error = failure[0]
        why = f"desktop notification failed ({type(error).__name__}: {error})"
        raise Unavailable(why, "server-failed") from error


def uses_dbus(platform: str = sys.platform) -> bool:
    """Linux and the BSDs speak to the desktop over D-Bus; macOS and Windows through plyer."""
    return not (platform.startswith("darwin") or platform.startswith("win") or platform == "cygwin")


# --- the notifier the app and the CLI use -----------------------------------------------------------


@dataclass
class DesktopNotifier:
    """The desktop's notifications, guarded: ``notify`` is ``False`` (and ``unavailable`` says why) when
    the desktop cannot take them; after a failure it is not tried again for :data:`RETRY_AFTER` seconds."""

    app_name: str = APP_NAME
    timeout: float = TIMEOUT
    retry_after: float = RETRY_AFTER
    platform: str = sys.platform
    unavailable: str | None = field(default=None, init=False)
    unavailable_code: str | None = field(default=None, init=False)
    """:class:`Unavailable`'s ``code`` for ``unavailable``."""
    _retry_at: float = field(default=0.0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def notify(self, title: str, body: str) -> bool:
        with self._lock:
            if self.unavailable is not None and time.monotonic() < self._retry_at:
                return False
        try:
            if uses_dbus(self.platform):
                send_over_dbus(title, body, app_name=self.app_name, timeout=self.timeout)
            else:
                send_with_plyer(title, body, app_name=self.app_name, timeout=self.timeout)
        except Unavailable as why:
            self._failed(str(why), why.code)
            return False
        except Exception as error:  # noqa: BLE001 - never a traceback for a notification
            self._failed(f"desktop notification failed ({type(error).__name__}: {error})", "server-failed")
            return False
        with self._lock:
            self.unavailable = self.unavailable_code = None
        return True

    def _failed(self, why: str, code: str) -> None:
        with self._lock:
            self.unavailable, self.unavailable_code = why, code
            self._retry_at = time.monotonic() + self.retry_after


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
