"""Which runs are sandboxed and in what sandbox (sandbox/ makes it; this decides it).

A run is sandboxed when the profile that runs its agent says so, with the profile's
network mode. The project's setup and check commands of a task run in a sandbox when its
own agent's profile is sandboxed, with the project's network setting (`check_network`:
checks often need none), so a task left alone never runs anything with the user's full
rights. The paths and hosts a sandbox adds are the profile's and the project's; with
network `model`, an agent CLI also reaches its model's API (`sandbox_network` runs the
filtering proxy for as long as the sandbox's processes run). What a task's sandboxed runs
keep in the data dir (its CLIs' private home, its runs' git pieces) goes once the task
can no longer run (`forget_task_sandbox`, `remove_leftovers`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

from seedbed.agents.cli.command import KEY_VARIABLE
from seedbed.agents.cli.registry import adapter_for, is_cli
from seedbed.domain.models import (
    AgentKind,
    AgentProfile,
    Project,
    RunStatus,
    SandboxNetwork,
    Task,
    TaskState,
    profile_fields,
)
from seedbed.sandbox.allowlist import Allowlist
from seedbed.sandbox.bwrap import SandboxSupport, sandbox_support, secrets_withheld
from seedbed.sandbox.gitshare import GitShare, left_share, make_share
from seedbed.sandbox.homes import carry_back
from seedbed.sandbox.plan import PROXY_SOCKET, SandboxPlan
from seedbed.sandbox.policy import WRITABLE_PREFIX, run_plan
from seedbed.sandbox.proxy import FilteringProxy
from seedbed.sandbox.proxy_dirs import new_proxy_dir, serving
from seedbed.secrets import ENV_FALLBACK
from seedbed.store import Store

DEFAULT_VARIABLE = "SEEDBED_SANDBOX_DEFAULT"  # off: new profiles are not sandboxed
SANDBOX_KINDS_NOTE = "every kind of agent"
DEFAULT_PORTS = {"http": 80, "https": 443}
HOME_NAME = re.compile(r"task-([0-9]+)")
SHARE_NAME = re.compile(r"run-([0-9]+)")
# A task in these may run again (a planned one was requeued, or has not run yet).
LIVE_STATES = (TaskState.PLANNED, TaskState.RUNNING, TaskState.AWAITING_REVIEW)


def sandbox_by_default() -> bool:
    """Whether a new profile is sandboxed unless told otherwise: where a sandbox can be
    made here, unless SEEDBED_SANDBOX_DEFAULT is off (a script's, the test suite's)."""
    if os.environ.get(DEFAULT_VARIABLE, "").strip().lower() in ("off", "0", "no", "false"):
        return False
    return sandbox_support().works


def sandbox_here() -> SandboxSupport:
    """Whether a sandbox can be made on this machine (bubblewrap), and if not, why."""
    return sandbox_support()


def sandboxable(kind: AgentKind) -> bool:
    """Whether Seedbed can sandbox the agents of this kind (its profile has the switch)."""
    return "sandbox" in profile_fields(kind)


def sandboxed(profile: AgentProfile | None) -> bool:
    return profile is not None and profile.sandbox


def share_dir(data_dir: Path, run_id: int) -> Path:
    """Where a run's private git pieces live while it runs (under the hidden data dir)."""
    return data_dir / "sandbox" / f"run-{run_id}"


def task_home(data_dir: Path, task_id: int) -> Path:
    """Where a task's agent CLIs keep their own directories (Seedbed's copies of
    ~/.claude, ~/.codex …: its runs' sessions, so a follow-up resumes) and the record of
    the logins seeded there."""
    return data_dir / "sandbox" / "homes" / f"task-{task_id}"


def forget_task_sandbox(data_dir: Path, task_id: int, run_ids: Iterable[int]) -> None:
    """What the sandbox kept for a task that can no longer run (merged, discarded, its
    project removed): its private home, and what is left of its runs' (`run_ids`) git
    pieces once taken back (those still holding their record hold work not taken back:
    kept)."""
    _remove_tree(task_home(data_dir, task_id))
    for run_id in run_ids:
        share = share_dir(data_dir, run_id)
        if share.is_dir() and not share.is_symlink() and left_share(share) is None:
            _remove_tree(share)


def remove_leftovers(store: Store) -> None:
    """At an engine's start, once recovery is done (no run of the data dir goes on): the
    private homes of tasks that can no longer run and the git pieces taken back that are
    still there, left by an engine that died between a task's move and their removal,
    or by a Seedbed before this one."""
    root = store.path.parent / "sandbox"
    live = {task.id for task in store.list_tasks(states=LIVE_STATES)}
    homes = root / "homes"
    for home in homes.iterdir() if homes.is_dir() and not homes.is_symlink() else []:
        task = HOME_NAME.fullmatch(home.name)
        if task is not None and int(task[1]) not in live:
            _remove_tree(home)
    running = {run.id for run in store.runs_with_status(RunStatus.RUNNING.value)}
    for share in root.iterdir() if root.is_dir() and not root.is_symlink() else []:
        run = SHARE_NAME.fullmatch(share.name)
        if run is not None and int(run[1]) not in running and left_share(share) is None:
            _remove_tree(share)


def _remove_tree(path: Path) -> None:
    """Remove `path` and all in it, a folder a run made read-only too (links never
    followed)."""
    if not path.is_dir() or path.is_symlink():
        return
    with contextlib.suppress(OSError):
        path.chmod(0o700)
    for folder, folders, _files in os.walk(path):
        for name in folders:
            inner = Path(folder) / name
            if not inner.is_symlink():
                with contextlib.suppress(OSError):
                    inner.chmod(0o700)
    shutil.rmtree(path, ignore_errors=True)


def carry_back_logins(data_dir: Path, task_id: int) -> list[str]:
    """The logins a run of the task renewed in its private home, carried back to the
    user's (sandbox/homes.py says when); notes for the run's log."""
    return carry_back(task_home(data_dir, task_id))


def url_host(address: str) -> str:
    """The `host:port` of an http(s) URL ("" for none)."""
    url = urlparse(address)
    if not url.hostname:
        return ""
    return f"{url.hostname}:{url.port or DEFAULT_PORTS.get(url.scheme, 443)}"


def model_host(profile: AgentProfile) -> str:
    """The `host:port` of the model API an agent CLI talks to itself ("" for the kinds
    whose model calls Seedbed makes, or that have none)."""
    if profile.kind in (AgentKind.BUILTIN, AgentKind.COMMAND):
        return ""
    url = urlparse(profile.effective_base_url())
    if not url.hostname:
        return ""
    return f"{url.hostname}:{url.port or DEFAULT_PORTS.get(url.scheme, 443)}"


def loopback_forwards(hosts: list[str]) -> list[tuple[str, int]]:
    """The `host:port` entries on this machine (a local model server): inside, the
    sandbox serves them on its own loopback and tunnels them out."""
    forwards: list[tuple[str, int]] = []
    for entry in hosts:
        host, _, port = entry.rpartition(":")
        if not port.isdigit() or not host:
            continue
        host = host.strip("[]")
        try:
            local = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
        if local and (host, int(port)) not in forwards:
            forwards.append((host, int(port)))
    return forwards


def own_key_variables(profile: AgentProfile) -> list[str]:
    """The variables that carry the key a run of `profile` is given on purpose: the one
    its CLI reads; a command profile's named key (SEEDBED_API_KEY and the provider's).
    The sandbox withholds every other key-like variable."""
    if is_cli(profile.kind):
        return [adapter_for(profile.kind).key_source(profile)[1]]
    if profile.kind is AgentKind.COMMAND and profile.key_name:
        fallback = ENV_FALLBACK.get(profile.key_name)
        return [KEY_VARIABLE, *([fallback] if fallback else [])]
    return []


def _plan(
    worktree: Path,
    data_dir: Path,
    project: Project,
    network: SandboxNetwork,
    share: GitShare | None,
    paths: list[str],
    hosts: list[str],
    passed: list[str],
    projects: Sequence[Path],
) -> SandboxPlan:
    plan = run_plan(
        worktree,
        data_dir,
        project.path,
        network,
        share,
        paths,
        proxy_dir=new_proxy_dir(),
        allowed=hosts,
        forwards=loopback_forwards(hosts),
        others=[path for path in projects if path != project.path],
    )
    kept = sorted({*passed, *project.sandbox_env})
    return plan.model_copy(update={"passed_env": kept})


def agent_sandbox(
    data_dir: Path,
    project: Project,
    task: Task,
    profile: AgentProfile,
    run_id: int,
    projects: Sequence[Path] = (),
    servers: Sequence[str] = (),
) -> tuple[SandboxPlan, GitShare]:
    """The sandbox of a run's agent, which may commit on the task's branch (its git
    pieces made now: `take_back` them when it ends); `projects` are the main checkouts
    of every project Seedbed knows (`known_projects`), hidden with its own; `servers`
    the URLs of the user's HTTP MCP servers it is given (reached like its model). On a
    git thread."""
    assert task.worktree is not None and task.branch is not None
    share = make_share(share_dir(data_dir, run_id), task.worktree, project.path, task.branch)
    paths = [*profile.sandbox_paths, *project.sandbox_paths]
    model = model_host(profile)
    hosts = [*([model] if model else []), *profile.allowed_hosts, *project.allowed_hosts]
    hosts += [host for host in map(url_host, servers) if host and host not in hosts]
    kept = [*own_key_variables(profile), *profile.sandbox_env]
    network = profile.network
    plan = _plan(task.worktree, data_dir, project, network, share, paths, hosts, kept, projects)
    # An agent CLI's own directories, kept apart for this task's runs (its sessions go on
    # from one to the next; what one task's agent planted there reaches no other task).
    return plan.model_copy(update={"homes": task_home(data_dir, task.id)}), share


def command_sandbox(
    store: Store, project: Project, task: Task, worktree: Path
) -> SandboxPlan | None:
    """The sandbox of the project's setup or check command run for `task` in `worktree`
    (its own, or a merge check's); None when its agent is not sandboxed."""
    profile = store.get_profile(task.profile_id) if task.profile_id else None
    if not sandboxed(profile):
        return None
    assert profile is not None
    paths = [*profile.sandbox_paths, *project.sandbox_paths]
    network = project.check_network
    data_dir = store.path.parent
    hosts = list(project.allowed_hosts)
    passed, projects = profile.sandbox_env, known_projects(store)
    return _plan(worktree, data_dir, project, network, None, paths, hosts, passed, projects)


def known_projects(store: Store) -> list[Path]:
    """The main checkouts of every project Seedbed knows: each sandbox hides them all."""
    return [project.path for project in store.list_projects()]


@contextlib.asynccontextmanager
async def sandbox_network(
    plan: SandboxPlan | None, note: Callable[[str], None]
) -> AsyncIterator[None]:
    """The filtering proxy of a sandbox whose network is `model`, serving for as long as
    the block runs; each host it refuses is said once through `note`."""
    if plan is None or plan.network is not SandboxNetwork.MODEL or plan.proxy_dir is None:
        yield
        return
    refused: set[str] = set()

    def said(host: str, port: int) -> None:
        where = f"{host}:{port}"
        if where not in refused:
            refused.add(where)
            note(
                f"sandbox: refused connect to {where} (not an allowed host: a profile or "
                "project can add it with --allow-host)"
            )

    proxy = FilteringProxy(Allowlist(entries=tuple(plan.allowed)), said)
    # Its directory locked while the proxy serves: one a killed engine left is removed at
    # the next engine's start, and no other's (sandbox/proxy_dirs.py).
    with serving(plan.proxy_dir):
        try:
            await proxy.start(plan.proxy_dir / PROXY_SOCKET)
            yield
        finally:
            await proxy.close()


def describe(plan: SandboxPlan, env: Mapping[str, str]) -> str:
    """One line for the run's log: what the sandbox lets it see and reach, and the
    credentials of `env` (the engine's) it withholds, by name."""
    network = plan.network.value
    if plan.network is SandboxNetwork.MODEL:
        network += f" ({', '.join(plan.allowed) or 'no host allowed'})"
    hidden = ", ".join(str(path) for path in plan.hidden)
    line = f"sandbox: network {network}; {plan.cwd} writable; hidden: {hidden}"
    withheld = secrets_withheld(env, plan)
    if withheld:
        line += (
            f"; withheld: {', '.join(withheld)} (a profile or project keeps one with "
            "--sandbox-env NAME)"
        )
    return line


def effective_sandbox(profile: AgentProfile, data_dir: Path) -> list[str]:
    """What a sandboxed profile's runs may see, write and reach, a line each (pure: for
    `seedbed agents doctor` and the profile form); [] when it is not sandboxed."""
    if not profile.sandbox:
        return []
    home = Path.home()
    own: list[Path] = []
    if is_cli(profile.kind):
        own = adapter_for(profile.kind).sandbox_dirs({"HOME": str(home)})
    copies = [f"{path} (Seedbed's copy for the task)" for path in own]
    writable = ["the task's worktree (and its own branch)", *copies]
    readable = ["the system", "the repository's .git (its objects, other branches)"]
    for entry in profile.sandbox_paths:
        path = entry.removeprefix(WRITABLE_PREFIX)
        (writable if entry.startswith(WRITABLE_PREFIX) else readable).append(path)
    mode = SandboxNetwork(profile.network)  # a form's value may be its text
    if mode is SandboxNetwork.MODEL:
        model = model_host(profile)
        reach = [*([f"{model} (its model)"] if model else []), *profile.allowed_hosts]
        network = "model: " + (", ".join(reach) if reach else "nothing")
        network += " (and each project's allowed hosts)"
    elif mode is SandboxNetwork.FULL:
        network = (
            "full (the machine's network, and with it its abstract sockets: an X display, "
            "a D-Bus bus on one)"
        )
    else:
        network = mode.value
    hidden = [
        f"{home} (but the above)",
        "/run, /var/run, /var/tmp (and every other socket)",
        str(data_dir),
        "every project's main checkout",
    ]
    withheld = (
        "the D-Bus buses, SSH and GPG agents, the display, keyring variables, other "
        "models' keys, other services' credentials (…_TOKEN, …_PASSWORD, …_SECRET …)"
    )
    if profile.sandbox_env:
        withheld += f" but {', '.join(profile.sandbox_env)}"
    return [
        f"writable: {', '.join(writable)}",
        f"read-only: {', '.join(readable)}",
        f"hidden: {', '.join(hidden)}",
        f"network: {network}",
        f"withheld: {withheld} (and each project's kept variables)",
    ]
