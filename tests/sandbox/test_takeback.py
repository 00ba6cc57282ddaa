"""What a sandboxed run made comes back only through git's own strict checks, in SHA-1 and
SHA-256 repositories: real git in a real sandbox writes into the run's private pieces
(`run_plan`, as an agent's process gets them), then `take_back` runs as at the run's end."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from seedbed.domain.models import SandboxNetwork
from seedbed.sandbox.bwrap import bwrap_argv, sandbox_environment, sandbox_support
from seedbed.sandbox.gitshare import GitShare, make_share
from seedbed.sandbox.policy import run_plan
from seedbed.sandbox.takeback import take_back
from seedbed.vcs.git import create_worktree
from tests.conftest import SeedbedCli, git

pytestmark = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)

BRANCH = "seedbed/1-task"
FORMATS = ["sha1", "sha256"]


def new_repo(path: Path, object_format: str) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main", f"--object-format={object_format}")
    (path / "README.md").write_text("# demo\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial commit")
    return path


class Run:
    """A task's worktree of a repository in `object_format`, and its run's private git
    pieces; `agent(script)` runs a shell script in the run's sandbox."""

    def __init__(self, tmp_path: Path, object_format: str) -> None:
        self.repo = new_repo(tmp_path / "repo", object_format)
        self.worktree = tmp_path / "wt"
        create_worktree(self.repo, self.worktree, BRANCH, "main")
        self.data_dir = tmp_path / "data"
        self.share: GitShare = make_share(
            self.data_dir / "sandbox" / "run-1", self.worktree, self.repo, BRANCH
        )
        self.start = self.share.branch_tip

    def agent(self, script: str, stdin: bytes = b"") -> str:
        plan = run_plan(self.worktree, self.data_dir, self.repo, SandboxNetwork.NONE, self.share)
        bwrap = sandbox_support().bwrap
        assert bwrap is not None
        done = subprocess.run(
            bwrap_argv(bwrap, plan, ["sh", "-ec", script]),
            env=sandbox_environment(os.environ, plan),
            input=stdin,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    def tip(self) -> str:
        return git(self.repo, "rev-parse", BRANCH).strip()

    def has(self, name: str) -> bool:
        found = subprocess.run(
            ["git", "-C", str(self.repo), "cat-file", "-e", name], capture_output=True, check=False
        )
        return found.returncode == 0


@pytest.fixture(params=FORMATS)
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    return Run(tmp_path, request.param)


def test_a_history_with_a_merge_and_a_binary_file_comes_back_with_what_is_staged(
    run: Run,
) -> None:
    said = run.agent(
        """
        echo one > one.txt && git add one.txt && git commit -qm one
        head -c 4096 /dev/urandom > data.bin && git add data.bin && git commit -qm binary
        fork=$(git rev-parse HEAD)
        echo side > side.txt && git add side.txt && git commit -qm side
        side=$(git rev-parse HEAD)
        git reset -q --hard "$fork"
        echo more >> one.txt && git commit -qam more
        git merge -q --no-edit "$side"
        echo staged > staged.txt && git add staged.txt
        git rev-parse HEAD :staged.txt
        """
    )
    merge, staged = said.split()

    notes = take_back(run.share)

    assert notes == []
    assert run.tip() == merge
    assert git(run.repo, "rev-list", "--count", "--merges", BRANCH).strip() == "1"
    subjects = git(run.repo, "log", "--format=%s", BRANCH).splitlines()
    assert sorted(subjects)[1:] == ["binary", "initial commit", "more", "one", "side"]
    assert subjects[0].startswith("Merge")
    assert git(run.repo, "cat-file", "-s", f"{BRANCH}:data.bin").strip() == "4096"
    assert run.has(staged)  # the index names it: Seedbed's commit of what is left needs it
    assert git(run.repo, "fsck", "--no-progress", "--no-dangling", "--no-reflogs").strip() == ""
    assert not run.share.root.exists()


def raw_tree(run: Run, entry: str, blob: str) -> bytes:
    """A tree object's content naming `blob` as `entry`, whatever fsck thinks of it (git
    mktree would refuse a `/`)."""
    return b"100644 " + entry.encode() + b"\0" + bytes.fromhex(blob)


@pytest.mark.parametrize("entry", [".git", ".GIT", "..", "a/b"])
def test_a_tree_with_an_entry_git_forbids_never_reaches_the_branch(run: Run, entry: str) -> None:
    content = run.repo.parent / "x.txt"
    content.write_text("x\n")
    blob = git(run.repo, "hash-object", str(content)).strip()
    tree = run.agent(
        f"""
        printf 'x\\n' | git hash-object -w --stdin >/dev/null
        tree=$(git hash-object -t tree --literally -w --stdin)
        commit=$(git commit-tree "$tree" -p HEAD -m planted)
        git update-ref refs/heads/{BRANCH} "$commit"
        echo "$tree"
        """,
        stdin=raw_tree(run, entry, blob),
    ).strip()

    notes = take_back(run.share)

    assert run.tip() == run.start
    assert not run.has(tree)
    assert run.has(blob)  # a blob is only bytes: the worktree's index may name it
    [note] = notes
    assert f"{BRANCH} was not moved to the agent's" in note
    assert str(run.share.root) in note and run.share.root.exists()  # kept for inspection
    assert git(run.repo, "fsck", "--no-progress", "--no-dangling", "--no-reflogs").strip() == ""


COMMITS = {
    "missing tree": "tree {missing}\nparent {head}\n{who}\nmissing tree\n",
    "missing parent": "tree {tree}\nparent {missing}\n{who}\nmissing parent\n",
    "no author": "tree {tree}\nparent {head}\ncommitter A <a@b> 1 +0000\n\nno author\n",
}


@pytest.mark.parametrize("kind", list(COMMITS))
def test_a_commit_with_a_missing_tree_or_parent_or_malformed_never_reaches_the_branch(
    run: Run, kind: str
) -> None:
    head = run.start
    text = COMMITS[kind].format(
        missing="1" * len(head),
        head=head,
        tree=git(run.repo, "rev-parse", "main^{tree}").strip(),
        who="author A <a@b> 1 +0000\ncommitter A <a@b> 1 +0000\n",
    )
    commit = run.agent(
        f"""
        commit=$(git hash-object -t commit --literally -w --stdin)
        git update-ref refs/heads/{BRANCH} "$commit"
        echo "$commit"
        """,
        stdin=text.encode(),
    ).strip()

    notes = take_back(run.share)

    assert run.tip() == run.start
    assert not run.has(commit)
    assert any(f"{BRANCH} was not moved" in note for note in notes), notes
    assert run.share.root.exists()


def test_the_commits_of_a_detached_head_come_back_for_the_branch_to_take(run: Run) -> None:
    """Seedbed's commit of what is left puts them on the branch (return_to_branch)."""
    detached = run.agent(
        "git checkout -q --detach && echo away > away.txt && git add away.txt && "
        "git commit -qm away && git rev-parse HEAD"
    ).strip()

    assert take_back(run.share) == []

    assert run.tip() == run.start
    assert git(run.repo, "show", f"{detached}:away.txt") == "away\n"


def test_commits_an_agent_packed_come_back(run: Run) -> None:
    tip = run.agent(
        "echo one > one.txt && git add one.txt && git commit -qm one && "
        "git repack -q -d -l && git rev-parse HEAD"
    ).strip()
    assert list((run.share.objects / "pack").glob("*.pack"))
    assert not list(run.share.objects.glob("??/*"))  # all of it packed

    assert take_back(run.share) == []

    assert run.tip() == tip
    assert git(run.repo, "show", f"{BRANCH}:one.txt") == "one\n"


def test_an_agents_commit_in_a_sha256_repository_reaches_its_branch(
    seedbed: SeedbedCli, tmp_path: Path
) -> None:
    repo = new_repo(tmp_path / "repo", "sha256")
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    commit = "echo more >> README.md && git commit -qam 'the agent commits'"
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", commit,
        "--sandbox", "--network", "none",
    )  # fmt: skip
    task_id = int(
        seedbed.ok("task", "add", "--project", "demo", "--title", "T", "--start").out.strip()
    )
    seedbed.ok("run", "--until-idle")

    task = seedbed.show(task_id)
    assert task["phase"] == "ready", task["error"]
    said = git(repo, "log", "--format=%s", f"main..{task['branch']}").splitlines()
    assert "the agent commits" in said
    assert git(repo, "show", f"{task['branch']}:README.md") == "# demo\nmore\n"


def test_a_refused_branch_is_said_in_the_log_and_its_files_are_committed_as_they_are(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    planted = (
        "echo work > work.txt && git add work.txt && git commit -qm work && "
        "blob=$(git rev-parse HEAD:work.txt) && "
        "tree=$(printf '100644 blob %s\\t.git\\n' \"$blob\" | git mktree) && "
        'git update-ref HEAD "$(git commit-tree "$tree" -p HEAD -m planted)"'
    )
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", planted,
        "--sandbox", "--network", "none",
    )  # fmt: skip
    task_id = int(
        seedbed.ok("task", "add", "--project", project, "--title", "T", "--start").out.strip()
    )
    seedbed.ok("run", "--until-idle")

    task = seedbed.show(task_id)
    branch = task["branch"]
    said = [str(e.get("message", "")) for e in seedbed.log_events(task_id)]
    [refused] = [line for line in said if "was not moved to the agent's commit" in line]
    assert "hasDotgit" in refused and "kept in" in refused
    subjects = git(repo, "log", "--format=%s", f"main..{branch}").splitlines()
    assert "planted" not in subjects and "work" not in subjects  # its commits refused
    assert git(repo, "show", f"{branch}:work.txt") == "work\n"  # its files are not lost
    assert ".git" not in git(repo, "ls-tree", "--name-only", branch).split()
    assert list((seedbed.data_dir / "sandbox").glob("run-*/objects"))  # for inspection
