"""The repository's shared config, info files and hooks as an agent found them, put back
when it is done (issue 15): `git config` run in a worktree writes the shared `.git/config`,
and a `filter.*.clean` planted there would run under Seedbed's next `git add` and the
user's next git command. Qt-free; every function blocks."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import threading
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from seedbed.vcs.git import repository_dir
from seedbed.vcs.runner import GitError, run_git

# Files in the common git directory that change what git runs or sees for every worktree
# (besides the hooks): a filter or hooksPath in the config, attributes that route files
# through a filter, excludes that would hide the agent's files from the snapshot commit.
SHARED_FILES = ("config", "info/attributes", "info/exclude")


class SharedFile(BaseModel):
    """One file of the common git directory as it was: its bytes and mode, or a symlink's
    target (`link`)."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    content: bytes
    mode: int = 0o644
    link: bool = False


class SharedConfig(BaseModel):
    """The repository's shared config, info files and hooks (SharedFile by path in the
    common git directory) as a run found them; kept in the data dir while the run goes."""

    model_config = ConfigDict(frozen=True)

    files: dict[str, SharedFile]


def _read_file(path: Path) -> SharedFile | None:
    with contextlib.suppress(OSError):
        if path.is_symlink():
            return SharedFile(content=os.fsencode(os.readlink(path)), link=True)
        if path.is_file():
            mode = stat.S_IMODE(path.stat().st_mode)
            return SharedFile(content=path.read_bytes(), mode=mode)
    return None


def read_shared_config(repo: Path) -> SharedConfig:
    common = repository_dir(repo)
    names = list(SHARED_FILES)
    with contextlib.suppress(OSError):
        names += [f"hooks/{entry.name}" for entry in (common / "hooks").iterdir()]
    files = {name: found for name in names if (found := _read_file(common / name)) is not None}
    return SharedConfig(files=files)


def _config_entries(text: bytes) -> set[str]:
    """`key=value` lines of a config file's text, as git reads them (no includes)."""
    with tempfile.NamedTemporaryFile(prefix="seedbed-config-") as copy:
        copy.write(text)
        copy.flush()
        out = run_git(Path(tempfile.gettempdir()), "config", "--file", copy.name, "-l", "-z")
    return {entry.replace("\n", "=", 1) for entry in out.split("\0") if entry}


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


def restore_shared_config(repo: Path, before: SharedConfig) -> list[str]:
    """Put the shared config, info files and hooks back as `before` had them; what had
    changed (config keys, else paths such as `hooks/pre-commit`), [] when nothing did."""
    now = read_shared_config(repo)
    common = repository_dir(repo)
    changed: list[str] = []
    for name in sorted(now.files.keys() | before.files.keys()):
        old, new = before.files.get(name), now.files.get(name)
        if old == new:
            continue
        keys: list[str] = []
        if name == "config" and old is not None and new is not None:
            with contextlib.suppress(GitError):  # not even a config: named as a whole
                differ = _config_entries(new.content) ^ _config_entries(old.content)
                keys = sorted({entry.split("=", 1)[0] for entry in differ})
        changed += keys or [name]
        _put_back(common / name, old)
    return changed


def config_change_reason(repo: Path, changed: list[str]) -> str:
    # "while the agent worked", not "the agent changed": with runs side by side, or the
    # user's own `git config` meanwhile, the change may be another's.
    return (
        f"the shared git configuration of {repo} changed while the agent worked "
        f"({', '.join(changed)}); Seedbed put it back as it was before the run"
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
        self.changed += restore_shared_config(self.repo, self.before)

    def end(self) -> list[str]:
        try:
            self.restore()
        finally:
            _BASELINES.give_back(self.repo)
        forget_shared_config(self.data_dir, self.run_id)
        return list(dict.fromkeys(self.changed))
