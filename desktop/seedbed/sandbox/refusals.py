"""What a sandboxed process was refused, read from what it printed, said once each.

The kernel tells a process, not us, when the sandbox refuses it: a write to a read-only
path fails with EROFS, a connection with no network fails to resolve or reach. Programs
print those errors in a few well-known shapes; each one seen becomes one line of the run's
log ("sandbox: refused writing /home/me/x (read-only here)"), so the user can widen the
profile instead of guessing.
"""

from __future__ import annotations

import re

from seedbed.domain.models import SandboxNetwork

# "cannot create /x: Read-only file system", "touch: cannot touch '/x': Read-only …",
# "[Errno 30] Read-only file system: '/x'", "Unable to create '/x.lock': Read-only …".
_READ_ONLY = re.compile(
    r"['\"]?(?P<a>/[^'\"\n:]*)['\"]?: Read-only file system"
    r"|Read-only file system: ['\"](?P<b>/[^'\"\n]*)['\"]"
)
_NO_NETWORK = re.compile(
    r"Network is unreachable|Temporary failure in name resolution|Name or service not known"
    r"|Could not resolve host|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|No address associated"
)
MAX_NOTES = 20  # a run that keeps hitting the walls says so this many times at most


class RefusalWatch:
    """Reads a sandboxed process's lines; `notes(lines)` are the refusals not said yet."""

    def __init__(self, network: SandboxNetwork) -> None:
        self.network = network
        self._said: set[str] = set()

    def notes(self, lines: list[str]) -> list[str]:
        found: list[str] = []
        for line in lines:
            if "Read-only file system" in line:
                match = _READ_ONLY.search(line)
                if match:
                    path = match.group("a") or match.group("b")
                    found.append(
                        f"sandbox: refused writing {path} (read-only in the sandbox; a "
                        "profile or project can add rw:PATH to its sandbox paths)"
                    )
            elif self.network is SandboxNetwork.NONE and _NO_NETWORK.search(line):
                found.append(
                    "sandbox: refused a network connection (the profile's network is none)"
                )
        fresh = [note for note in found if note not in self._said]
        room = MAX_NOTES - len(self._said)
        fresh = list(dict.fromkeys(fresh))[: max(0, room)]
        self._said.update(fresh)
        return fresh
