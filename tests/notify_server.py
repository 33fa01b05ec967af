"""A small freedesktop notification server for tests: ``python notify_server.py RECORD_FILE [MODE]``.

It owns ``org.freedesktop.Notifications`` on the session bus named by ``DBUS_SESSION_BUS_ADDRESS`` and
appends one JSON line ``{"app", "summary", "body"}`` to RECORD_FILE for every ``Notify`` call it answers.
MODE ``markup`` announces the ``body-markup`` capability (as GNOME and KDE do); MODE ``bare`` knows only
``Notify``; MODE ``silent`` owns the name and never answers anything (a desktop that hangs).
"""

from __future__ import annotations

import json
import sys

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

NAME = "org.freedesktop.Notifications"
INTROSPECTION = """<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
 <interface name="org.freedesktop.Notifications">
  <method name="Notify">
   <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
   <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
   <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/><arg type="u" direction="out"/>
  </method>
  <method name="GetCapabilities"><arg type="as" direction="out"/></method>
  <method name="GetServerInformation">
   <arg type="s" direction="out"/><arg type="s" direction="out"/>
   <arg type="s" direction="out"/><arg type="s" direction="out"/>
  </method>
  <method name="CloseNotification"><arg type="u" direction="in"/></method>
 </interface>
</node>
"""


def serve(record_path: str, mode: str = "") -> None:
    conn = open_dbus_connection(bus="SESSION")
    conn.send_and_get_reply(message_bus.RequestName(NAME, 4))  # 4: do not queue
    next_id = 0
    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call or mode == "silent":
            continue
        member = msg.header.fields.get(HeaderFields.member)
        if member == "Notify":
            app, _replaces, _icon, summary, body = msg.body[:5]
            with open(record_path, "a", encoding="utf-8") as out:
                out.write(json.dumps({"app": app, "summary": summary, "body": body}, ensure_ascii=False))
                out.write("\n")
            next_id += 1
            conn.send(new_method_return(msg, "u", (next_id,)))
        elif member == "GetCapabilities" and mode == "bare":
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))
        elif member == "GetCapabilities":
            capabilities = ["body", "body-markup"] if mode == "markup" else ["body"]
            conn.send(new_method_return(msg, "as", (capabilities,)))
        elif member == "GetServerInformation":
            conn.send(new_method_return(msg, "ssss", ("crm-test", "crm-tui", "1", "1.2")))
        elif member == "CloseNotification":
            conn.send(new_method_return(msg))
        elif member == "Introspect":
            conn.send(new_method_return(msg, "s", (INTROSPECTION,)))
        else:
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
