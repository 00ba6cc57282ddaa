"""A real, private Secret Service for tests: its own D-Bus session bus with an unlocked
gnome-keyring-daemon on it, in a temporary home, killed afterwards.

Nothing here touches the developer's own bus or keyrings: the bus has its own config (no
service activation, so no second daemon and no password prompter can be started behind
our back), and the daemon runs with a temporary HOME, XDG_DATA_HOME and XDG_RUNTIME_DIR.

Debian packages: dbus (for dbus-daemon) and gnome-keyring; `.ci/run` installs them.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.keyring_backends import use_keyring

PACKAGES = "dbus gnome-keyring"  # Debian; the same list as .ci/run
SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
PASSWORD = "test-login-password"
STARTUP_SECONDS = 15.0

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={socket_dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@dataclass
class SecretService:
    """A running private Secret Service."""

    address: str  # DBUS_SESSION_BUS_ADDRESS of the private bus
    home: Path  # the daemon's HOME; its keyrings are under home/data/keyrings
    bus: subprocess.Popen[bytes]
    daemon: subprocess.Popen[bytes]
    log: Path  # the daemon's stdout and stderr

    def env(self) -> dict[str, str]:
        """What a client process (this one or a subprocess) needs to use it."""
        return {
            "DBUS_SESSION_BUS_ADDRESS": self.address,
            "PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND,
        }

    def lock(self) -> None:
        """Lock the default collection, as a screen lock or `seahorse` would."""
        import secretstorage

        with _connection(self.address) as conn:
            secretstorage.get_default_collection(conn).lock()


@contextmanager
def connections_left_open() -> Iterator[None]:
    """For calls that fail on a locked or unopenable collection: keyring's SecretService
    backend opens a D-Bus connection in get_preferred_collection() and does not close it
    when it then raises (KeyringLocked, InitError), so the socket's ResourceWarning comes
    whenever the garbage collector gets to it, which under `filterwarnings = error` fails
    whichever test is running then. Collect it here, where it is expected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()


def require_programs() -> None:
    """Fail (not skip) when the daemons are missing: CI installs them."""
    missing = [exe for exe in ("dbus-daemon", "gnome-keyring-daemon") if not shutil.which(exe)]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: the real Secret Service tests need the Debian "
            f"packages {PACKAGES} (`apt-get install {PACKAGES}`; .ci/run installs them)",
            pytrace=False,
        )


@contextmanager
def _connection(address: str) -> Iterator[object]:
    from jeepney.io.blocking import open_dbus_connection

    conn = open_dbus_connection(bus=address)
    try:
        yield conn
    finally:
        conn.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _start_bus(root: Path, stack: ExitStack) -> tuple[subprocess.Popen[bytes], str]:
    socket_dir = Path(os.environ.get("TMPDIR", "/tmp"))  # socket paths must stay short
    config = root / "bus.conf"
    config.write_text(BUS_CONFIG.format(socket_dir=socket_dir), encoding="utf-8")
    bus = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    stack.callback(_stop, bus)
    assert bus.stdout is not None
    stack.callback(bus.stdout.close)
    address = bus.stdout.readline().decode().strip()
    if not address:
        raise AssertionError(f"dbus-daemon printed no address (exit {bus.poll()})")
    return bus, address


def _start_daemon(
    root: Path, address: str, unlock: bool, stack: ExitStack
) -> tuple[subprocess.Popen[bytes], Path]:
    home = root / "home"
    runtime = root / "run"
    for path in (home, runtime):
        path.mkdir(mode=0o700)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK"}
    }
    env.update(
        DBUS_SESSION_BUS_ADDRESS=address,
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_RUNTIME_DIR=str(runtime),
    )
    log = root / "gnome-keyring.log"
    args = ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [*args, "--unlock"] if unlock else args,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    stack.callback(_stop, daemon)
    assert daemon.stdin is not None
    # --unlock reads the login keyring's password from stdin up to end of file, and
    # creates that keyring (as the default collection) when it does not exist yet.
    with daemon.stdin:
        if unlock:
            daemon.stdin.write(PASSWORD.encode())
    return daemon, log


def _wait(address: str, daemon: subprocess.Popen[bytes], log: Path, unlocked: bool) -> None:
    """Until org.freedesktop.secrets is on the bus and, if `unlocked`, its default
    collection exists and is unlocked."""
    import secretstorage
    from jeepney.bus_messages import message_bus

    deadline = time.monotonic() + STARTUP_SECONDS
    problem = "not started"
    while time.monotonic() < deadline and daemon.poll() is None:
        try:
            with _connection(address) as conn:
                has_owner = message_bus.NameHasOwner(secretstorage.util.BUS_NAME)
                if not conn.send_and_get_reply(has_owner).body[0]:
                    problem = "org.freedesktop.secrets is not on the bus yet"
                elif not unlocked or not secretstorage.Collection(conn).is_locked():
                    return  # (Collection(conn) is the "default" alias)
                else:
                    problem = "the default collection is locked"
        except Exception as exc:  # not up yet: anything the bus or the service says
            problem = f"{type(exc).__name__}: {exc}"
        time.sleep(0.05)
    output = log.read_text(errors="replace").strip()
    raise AssertionError(
        f"gnome-keyring-daemon did not become ready ({problem}; exit {daemon.poll()}): {output}"
    )


@contextmanager
def running_secret_service(root: Path, *, unlock: bool = True) -> Iterator[SecretService]:
    """Start a private bus and gnome-keyring-daemon under `root` (an empty temporary
    directory); stop both on exit. With unlock=False there is no login keyring at all, so
    the first use must create one, which needs a password prompt that cannot appear here:
    keyring then reports the prompt as dismissed."""
    require_programs()
    root.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        bus, address = _start_bus(root, stack)
        daemon, log = _start_daemon(root, address, unlock, stack)
        _wait(address, daemon, log, unlocked=unlock)
        yield SecretService(address, root / "home", bus, daemon, log)


@contextmanager
def secret_service_keyring(root: Path, *, unlock: bool = True) -> Iterator[SecretService]:
    """A running private Secret Service, selected as this process's keyring backend (and,
    through the environment, that of every subprocess) until the end of the block."""
    with running_secret_service(root, unlock=unlock) as service, use_keyring(**service.env()):
        yield service
