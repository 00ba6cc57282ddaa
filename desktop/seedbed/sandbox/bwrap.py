"""Bubblewrap: whether it can make a sandbox here, and the command line of a plan.

Every sandbox gets its own PID, IPC and UTS namespaces (it sees none of our processes,
and all of its own die with it), a private /tmp, no D-Bus, SSH agent or keyring
variables, none of other services' credentials (by their names: …_TOKEN, …_PASSWORD),
and no network unless its plan says `full`. `--die-with-parent` ends it if
the engine dies.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from seedbed.domain.models import SandboxNetwork
from seedbed.sandbox.plan import (
    PROXY_DIR_INSIDE,
    PROXY_SOCKET,
    SANDBOX_TMP,
    TALKBACK_DIR_INSIDE,
    Bind,
    SandboxPlan,
)
from seedbed.sandbox.relay import relay_command

BWRAP_VARIABLE = "SEEDBED_BWRAP"  # the bubblewrap to use, instead of the one on PATH
PROBE_TIMEOUT_S = 10.0
# Variables that lead out of the sandbox: the session bus (and the keyring behind it),
# the SSH and GPG agents, the display, the engine's socket.
WITHHELD = frozenset(
    {
        "DBUS_SESSION_BUS_ADDRESS",
        "DBUS_SYSTEM_BUS_ADDRESS",
        "SSH_AUTH_SOCK",
        "SSH_AGENT_PID",
        "GPG_AGENT_INFO",
        "GNOME_KEYRING_CONTROL",
        "GNOME_KEYRING_PID",
        "KRB5CCNAME",
        "DISPLAY",
        "WAYLAND_DISPLAY",
        "XAUTHORITY",
        "PYTHON_KEYRING_BACKEND",
        "SEEDBED_ENGINE_SOCKET",
    }
)
WITHHELD_PREFIXES = ("KEYRING_", "SEEDBED_KEYRING")
# Keys and credentials by the shape of their names: any provider's key (MISTRAL_API_KEY,
# GROQ_API_KEY: not only those Seedbed knows), other services' (GH_TOKEN, GITHUB_PAT,
# AWS_SECRET_ACCESS_KEY, TWINE_PASSWORD, NPM_TOKEN…): a sandboxed agent could spend,
# push, publish or deploy with them wherever its network reaches. The run's own key and
# the variables its profile and project keep (plan.passed_env) stay.
# A word anywhere in the name (PGPASSWORD, GITHUB_TOKEN_READONLY), or a component of
# it, with a number after it or not (OPENAI_API_KEY_2, OP_SESSION_MY, MYSQL_PWD).
SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL"
    r"|(?:^|_)(?:KEY|APIKEY|KEY_ID|PAT|AUTH|PWD|DSN|SESSION|WEBHOOK|WEBHOOK_URL)(?:_?\d+|_[A-Z0-9]+)?$",
    re.IGNORECASE,
)
SECRET_NAMES = frozenset({"DOCKER_AUTH_CONFIG", "NETRC", "GIT_ASKPASS", "SSH_ASKPASS"})
# Git's configuration by the environment (`git -c` as variables) may carry a token too
# (an extraHeader, a credential setting): those settings are withheld, the rest (a user
# name, core settings) stays.
GIT_SECRET_KEY = re.compile(r"extraheader|credential|password|token", re.IGNORECASE)
# Named like a secret, and none: what a shell or a desktop session sets.
NOT_SECRETS = frozenset(
    {"PWD", "OLDPWD", "XDG_SESSION_ID", "XDG_SESSION_TYPE", "XDG_SESSION_CLASS",
     "XDG_SESSION_DESKTOP", "DESKTOP_SESSION"}
)  # fmt: skip
# A URL with a password in it (DATABASE_URL=postgres://me:pw@db/app), whatever its name.
URL_WITH_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: sudo apt install bubblewrap; Fedora: sudo dnf "
    "install bubblewrap; Arch: sudo pacman -S bubblewrap)"
)


class SandboxSupport(BaseModel):
    """Whether a sandbox can be made on this machine, and if not, why (a sentence)."""

    model_config = ConfigDict(frozen=True)

    bwrap: str = ""
    version: str = ""
    problem: str = ""

    @property
    def works(self) -> bool:
        return not self.problem


def find_bwrap() -> str | None:
    return os.environ.get(BWRAP_VARIABLE) or shutil.which("bwrap")


@functools.cache
def _probe(bwrap: str | None) -> SandboxSupport:
    if bwrap is None:
        return SandboxSupport(problem=f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    argv += ["--unshare-pid", "--unshare-net", "--", "true"]
    try:
        tried = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
        version = subprocess.run(
            [bwrap, "--version"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxSupport(bwrap=bwrap, problem=f"{bwrap} could not be run: {exc}")
    if tried.returncode != 0:
        said = tried.stderr.strip().splitlines()[-1:] or [f"exit {tried.returncode}"]
        return SandboxSupport(
            bwrap=bwrap,
            version=version,
            problem=f"{bwrap} cannot make a sandbox here ({said[0]}): unprivileged user "
            "namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, or "
            "an AppArmor rule for bwrap)",
        )
    return SandboxSupport(bwrap=bwrap, version=version)


def sandbox_support() -> SandboxSupport:
    """Whether bubblewrap can make a sandbox here (tried once per bwrap per process)."""
    return _probe(find_bwrap())


def secrets_withheld(env: Mapping[str, str], plan: SandboxPlan) -> list[str]:
    """The names of `env`'s variables the sandbox withholds as other services'
    credentials (those the plan passes stay), sorted."""
    passed = set(plan.passed_env)
    return sorted(
        name
        for name, value in env.items()
        if name not in passed
        and name not in NOT_SECRETS
        and (
            name in SECRET_NAMES
            or _git_secret(name, value, env)
            or (SECRET_NAME.search(name) and not name.startswith("GIT_CONFIG_"))
            or URL_WITH_PASSWORD.match(value)
        )
    )


def _git_secret(name: str, value: str, env: Mapping[str, str]) -> bool:
    """Whether `name` is git's configuration by the environment setting a credential."""
    if name == "GIT_CONFIG_PARAMETERS":
        return bool(GIT_SECRET_KEY.search(value) or URL_WITH_PASSWORD.search(value))
    if name.startswith("GIT_CONFIG_VALUE_"):
        key = env.get("GIT_CONFIG_KEY_" + name.removeprefix("GIT_CONFIG_VALUE_"), "")
        return bool(GIT_SECRET_KEY.search(key))
    return False


def sandbox_environment(env: Mapping[str, str], plan: SandboxPlan) -> dict[str, str]:
    """`env` without what leads out of the sandbox (buses, agents, the display, other
    services' credentials), with the plan's own variables."""
    secret = set(secrets_withheld(env, plan))
    kept = {
        name: value
        for name, value in env.items()
        if name not in WITHHELD and not name.startswith(WITHHELD_PREFIXES) and name not in secret
    }
    return kept | plan.env


def bwrap_argv(bwrap: str, plan: SandboxPlan, argv: list[str]) -> list[str]:
    """The command line that runs `argv` in the sandbox of `plan`."""
    # --cap-drop ALL: where Seedbed runs as root (a container, CI), what runs inside would
    # otherwise keep root's capabilities (a remount of the read-only .git writable).
    args = [bwrap, "--die-with-parent", "--cap-drop", "ALL"]
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    if plan.network is not SandboxNetwork.FULL:
        args.append("--unshare-net")
    args += ["--tmpfs", str(SANDBOX_TMP)]
    hidden = [path for path in plan.hidden if path.is_dir()]
    for path in hidden:
        args += ["--tmpfs", str(path)]
    binds = list(plan.binds)
    helpers = [bind for bind in plan.relay_binds if bind not in binds]
    if plan.network is SandboxNetwork.MODEL and plan.proxy_dir is not None:
        # The only way out: the relay, inside, hands each connection to the proxy.
        binds += [*helpers, Bind(source=plan.proxy_dir, target=PROXY_DIR_INSIDE)]
        helpers = []
        socket = str(PROXY_DIR_INSIDE / PROXY_SOCKET)
        argv = relay_command(socket, plan.forwards, argv, python=sys.executable)
    if plan.talkback_dir is not None:  # Seedbed's MCP server: its shim runs inside
        binds += [*helpers, Bind(source=plan.talkback_dir, target=TALKBACK_DIR_INSIDE)]
    for bind in binds:
        args += ["--bind" if bind.writable else "--ro-bind", str(bind.source), str(bind.target)]
    for path in hidden:  # empty and read-only: nothing written there is kept or seen
        args += ["--remount-ro", str(path)]
    args += ["--chdir", str(plan.cwd), "--", *argv]
    return args
