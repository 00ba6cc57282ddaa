"""A real, private desktop notification server for tests: its own D-Bus session bus
(tests/secret_service.py's), with org.freedesktop.Notifications owned by a thread of
this process that records every Notify call and answers it as a desktop would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from jeepney import HeaderFields, Message, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from tests.secret_service import _start_bus

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
INTROSPECTION = f"""<node name="{PATH}">
  <interface name="{NAME}">
    <method name="Notify">
      <arg type="s" direction="in"/><arg type="u" direction="in"/>
      <arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="as" direction="in"/>
      <arg type="a{{sv}}" direction="in"/><arg type="i" direction="in"/>
      <arg type="u" direction="out"/>
    </method>
  </interface>
</node>"""


class NotificationServer:
    """Owns the notifications name on the bus at `address`; `notified` holds each
    Notify call's (app name, summary, body)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.notified: list[tuple[str, str, str]] = []
        self._conn: DBusConnection = open_dbus_connection(bus=address)
        reply = self._conn.send_and_get_reply(message_bus.RequestName(NAME))
        assert reply.body[0] == 1, f"could not own {NAME}: {reply.body}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="notifications", daemon=True)
        self._thread.start()

    def env(self) -> dict[str, str]:
        return {"DBUS_SESSION_BUS_ADDRESS": self.address}

    def wait(self, count: int, timeout: float) -> list[tuple[str, str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.notified) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.notified)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._conn.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._conn.receive(timeout=0.1)
            except TimeoutError:
                continue
            if message.header.message_type is MessageType.method_call:
                self._conn.send(self._answer(message))

    def _answer(self, message: Message) -> Any:
        member = message.header.fields.get(HeaderFields.member)
        if member == "Introspect":
            return new_method_return(message, "s", (INTROSPECTION,))
        if member == "Notify":
            app, _replaces, _icon, summary, body, *_rest = message.body
            self.notified.append((app, summary, body))
            return new_method_return(message, "u", (len(self.notified),))
        return new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s", (member,))


@contextmanager
def notification_server(root: Path) -> Iterator[NotificationServer]:
    root.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        _bus, address = _start_bus(root, stack)
        server = NotificationServer(address)
        stack.callback(server.close)
        yield server
