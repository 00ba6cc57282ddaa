"""The repository's shared settings that run programs, as an agent found them, put back
when it is done (issue 15): `git config` run in a worktree writes the shared `.git/config`,
and a `filter.*.clean` planted there would run under Seedbed's next `git add` and the
user's next git command.

Only what can run code is guarded: config keys that name a program or point git at
other code (CODE_KEYS), and the shared hooks. Each is put back on its own through `git
config` (git's own lock), never by rewriting the file, so whatever else the user (or
git) changes meanwhile (a remote, `branch.*` of `push -u`, an IDE's keys) stays.
Qt-free; every function blocks."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import stat
import tempfile
import threading
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from seedbed.vcs.git import repository_dir
from seedbed.vcs.runner import GitError, run_git

# Config keys (git's lower-cased names) whose value git runs as a program, or that point
# it at other code, config or another tree: what a planted setting could use to run
# something under Seedbed's git or the user's next git command.
CODE_KEYS = (
    "filter.*",
    "core.hookspath",
    "core.fsmonitor",
    "core.sshcommand",
    "core.gitproxy",
    "core.askpass",
    "core.pager",
    "core.editor",
    "core.alternaterefscommand",
    "core.worktree",
    "core.bare",
    "sequence.editor",
    "pager.*",
    "alias.*",
    "include.*",
    "includeif.*",
    "credential.*",
    "gpg.*",
    "diff.external",
    "diff.*.command",
    "diff.*.textconv",
    "merge.*.driver",
    "difftool.*",
    "mergetool.*",
    "interactive.difffilter",
    "uploadpack.packobjectshook",
    "remote.*.uploadpack",
    "remote.*.receivepack",
    "ssh.*",
    "browser.*",
    "man.*",
    "web.browser",
    "sendemail.*",
    "submodule.*.update",
    "trailer.*.command",
    "trailer.*.cmd",
    "imap.tunnel",
    "protocol.allow",
    "protocol.*.allow",
    # `extensions.worktreeConfig` makes git read each worktree's own config.worktree,
    # where `git config --worktree` would plant what this guard does not read.
    "extensions.*",
)
NO_VALUE = "true"  # what a key given without `= value` means; written back as such


def runs_code(key: str) -> bool:
    return any(fnmatch.fnmatchcase(key.lower(), pattern) for pattern in CODE_KEYS)


class SharedFile(BaseModel):
    """One hook of the common git directory as it was: its bytes and mode, or a
    symlink's target (`link`)."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    content: bytes
    mode: int = 0o644
    link: bool = False


class SharedConfig(BaseModel):
    """What of a repository's shared settings can run code, as a run found it: the
    CODE_KEYS entries of its config (values in order) and its hooks (by `hooks/NAME`);
    kept in the data dir while the run goes. `config`: the whole file, put back only
    when the config no longer reads as one."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    common: Path  # the common git directory (found while git could still read it)
    entries: dict[str, list[str]]
    hooks: dict[str, SharedFile]
    config: bytes = b""


def _read_file(path: Path) -> SharedFile | None:
    with contextlib.suppress(OSError):
        if path.is_symlink():
            return SharedFile(content=os.fsencode(os.readlink(path)), link=True)
        if path.is_file():
            mode = stat.S_IMODE(path.stat().st_mode)
            return SharedFile(content=path.read_bytes(), mode=mode)
    return None


def _code_entries(config: Path) -> dict[str, list[str]] | None:
    """The CODE_KEYS entries of a config file (no includes followed); None when git cannot
    read it as a config."""
    if not config.exists():
        return {}
    try:
        out = run_git(config.parent, "config", "--file", str(config), "--list", "-z")
    except GitError:
        return None
    entries: dict[str, list[str]] = {}
    for entry in filter(None, out.split("\0")):
        key, _, value = entry.partition("\n")
        if runs_code(key):
            entries.setdefault(key, []).append(value if "\n" in entry else NO_VALUE)
    return entries


def read_shared_config(repo: Path) -> SharedConfig:
    return _read_common(repository_dir(repo))


def _read_common(common: Path) -> SharedConfig:
    hooks: dict[str, SharedFile] = {}
    with contextlib.suppress(OSError):
        for entry in (common / "hooks").iterdir():
            if not entry.name.endswith(".sample") and (found := _read_file(entry)):
                hooks[f"hooks/{entry.name}"] = found
    raw = b""
    with contextlib.suppress(OSError):
        raw = (common / "config").read_bytes()
    entries = _code_entries(common / "config") or {}
    return SharedConfig(common=common, entries=entries, hooks=hooks, config=raw)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _put_back(path: Path, old: SharedFile | None) -> None:
    if old is None:
        path.unlink(missing_ok=True)
    elif old.link:
        path.unlink(missing_ok=True)
        os.symlink(os.fsdecode(old.content), path)
    else:
        _write_atomically(path, old.content, old.mode)


def _put_back_key(config: Path, key: str, values: list[str]) -> None:
    run_git(config.parent, "config", "--file", str(config), "--unset-all", "--", key, check=False)
    for value in values:
        run_git(config.parent, "config", "--file", str(config), "--add", "--", key, value)


def restore_shared_config(before: SharedConfig) -> list[str]:
    """Put the settings that run code back as `before` had them: each config key that
    changed (through git config, the rest of the file left as it is now) and each hook;
    what had changed (keys, `hooks/NAME`), [] when nothing did."""
    common = before.common
    config = common / "config"
    changed: list[str] = []
    now = _code_entries(config)
    if now is None:  # no longer a config at all: the whole file as it was
        _put_back(config, SharedFile(content=before.config, mode=0o644) if before.config else None)
        changed.append("config")
    else:
        for key in sorted(now.keys() | before.entries.keys()):
            old = before.entries.get(key, [])
            if now.get(key, []) != old:
                _put_back_key(config, key, old)
                changed.append(key)
    hooks = _read_common(common).hooks
    for name in sorted(hooks.keys() | before.hooks.keys()):
        if hooks.get(name) != before.hooks.get(name):
            _put_back(common / name, before.hooks.get(name))
            changed.append(name)
    return changed


def config_change_reason(repo: Path, changed: list[str]) -> str:
    # "while the agent worked", not "the agent changed": with runs side by side, or the
    # user's own `git config` meanwhile, the change may be another's.
    return (
        f"the shared git configuration of {repo} changed while the agent worked, in what "
        f"runs programs ({', '.join(changed)}); Seedbed put it back as it was before the run"
    )


def _kept_path(data_dir: Path, run_id: int) -> Path:
    return data_dir / "shared-config" / f"run-{run_id}.json"


def keep_shared_config(data_dir: Path, run_id: int, shared: SharedConfig) -> None:
    """Keep what a run found in the data dir, so that recovery can put it back when the
    engine dies while the agent works. A disk that cannot take it only leaves recovery
    without it: the running engine puts the config back from memory."""
    path = _kept_path(data_dir, run_id)
    with contextlib.suppress(OSError):
        path.parent.mkdir(exist_ok=True)
        _write_atomically(path, shared.model_dump_json().encode(), 0o600)


def kept_shared_config(data_dir: Path, run_id: int) -> SharedConfig | None:
    """What keep_shared_config kept for the run; None when nothing (or nothing readable)."""
    with contextlib.suppress(OSError, ValueError):
        return SharedConfig.model_validate_json(_kept_path(data_dir, run_id).read_bytes())
    return None


def forget_shared_config(data_dir: Path, run_id: int) -> None:
    _kept_path(data_dir, run_id).unlink(missing_ok=True)


class _Baselines:
    """The shared config of each repository as the first of its agents working side by
    side found it: a run that starts while another's agent works takes that one, never
    what the other agent may have planted meanwhile (it would put the plant back)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[Path, tuple[SharedConfig, int]] = {}

    def take(self, repo: Path) -> SharedConfig:
        common = repository_dir(repo)
        with self._lock:
            baseline, holders = self._held.get(common) or (read_shared_config(repo), 0)
            self._held[common] = (baseline, holders + 1)
            return baseline

    def give_back(self, repo: Path) -> None:
        common = repository_dir(repo)
        with self._lock:
            baseline, holders = self._held.get(common, (None, 1))
            if holders <= 1 or baseline is None:
                self._held.pop(common, None)
            else:
                self._held[common] = (baseline, holders - 1)


_BASELINES = _Baselines()


class SharedConfigGuard:
    """The shared config of a run's repository as its agent found it (kept in the data dir
    too, for recovery), put back whenever the engine is about to run git there while the
    agent works (`restore`, on a git thread) and when it ends (`end`: what had changed)."""

    def __init__(self, repo: Path, data_dir: Path, run_id: int) -> None:
        self.repo, self.data_dir, self.run_id = repo, data_dir, run_id
        self.before = _BASELINES.take(repo)
        self.changed: list[str] = []
        keep_shared_config(data_dir, run_id, self.before)

    def restore(self) -> None:
        self.changed += restore_shared_config(self.before)

    def end(self) -> list[str]:
        try:
            self.restore()
        finally:
            _BASELINES.give_back(self.repo)
        forget_shared_config(self.data_dir, self.run_id)
        return list(dict.fromkeys(self.changed))
