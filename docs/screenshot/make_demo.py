"""Build a demo data dir with real runs and take the README's and the guide's
screenshots on Xvfb.

    uv run python docs/screenshot/make_demo.py docs/screenshot/board.png

Beside board.png it writes foreground.png, review.png, new-task.png, projects.png, keys.png,
welcome.png (a fresh data dir: the first start) and added.png (a repository added, no
agent yet).

Everything on the board really happened: a real git repository, real command agents,
the built-in agent talking to the scripted model server of the tests (OpenAI wire
format on 127.0.0.1), the engine as a real `seedbed run` process, the keys in a real
Secret Service (gnome-keyring on a private D-Bus, as in the tests). Needs `xvfb-run`,
`dbus` and `gnome-keyring`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.model_server import ModelServer, answer  # noqa: E402
from tests.secret_service import running_secret_service  # noqa: E402

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Demo",
    "GIT_AUTHOR_EMAIL": "demo@example.com",
    "GIT_COMMITTER_NAME": "Demo",
    "GIT_COMMITTER_EMAIL": "demo@example.com",
}


def run(
    *argv: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> str:
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, input=input,
        env={**os.environ, **GIT_ENV, **(env or {})}, check=False,
    )  # fmt: skip
    if result.returncode:
        raise SystemExit(f"{' '.join(map(str, argv))} failed:\n{result.stderr}")
    return result.stdout


def seedbed(
    data: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> str:
    return run(sys.executable, "-m", "seedbed", "--data-dir", data, *args, env=env, input=input)


def make_repo(path: Path) -> None:
    path.mkdir(parents=True)
    run("git", "-c", "init.defaultBranch=main", "init", "-q", cwd=path)
    (path / "README.md").write_text("# shop-api\n\nA small shop backend.\n")
    (path / "app").mkdir()
    (path / "app" / "login.py").write_text("def login(user, password):\n    return True\n")
    (path / "app" / "cart.py").write_text("def total(items):\n    return sum(items)\n")
    run("git", "add", "-A", cwd=path)
    run("git", "commit", "-q", "-m", "initial commit", cwd=path)


def task(data: Path, title: str, profile: str, *extra: str) -> str:
    out = seedbed(data, "task", "add", "--project", "shop-api", "--title", title,
                  "--profile", profile, *extra)  # fmt: skip
    return out.strip()


def shot(data: Path, target: Path, *extra: str, env: dict[str, str] | None = None) -> None:
    """`gui --screenshot` on a real X server (Xvfb), not the offscreen platform."""
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "QT_QPA_PLATFORM"}
    size = [] if "--size" in extra else ["--size", "1500x880"]
    subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m", "seedbed",
         "--data-dir", str(data), "gui", "--screenshot", str(target.resolve()), *size, *extra],
        check=True, env=env,
    )  # fmt: skip


def main(target: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="seedbed-demo-"))
    with running_secret_service(tmp / "keyring") as service:
        make_demo(tmp, target, service.env())


def make_demo(tmp: Path, target: Path, keyring: dict[str, str]) -> None:
    repo, data = tmp / "shop-api", tmp / "data"
    make_repo(repo)
    seedbed(data, "project", "add", repo, "--name", "shop-api", "--check", "test ! -f broken.txt")
    seedbed(data, "project", "set", "shop-api", "--fix-rounds", "2", "--budget-usd", "5")
    for name, key in (("anthropic", "sk-ant-demo"), ("openrouter.ai", "sk-or-demo")):
        seedbed(data, "key", "set", name, env=keyring, input=key + "\n")
    with ModelServer() as server:
        env = {"OPENAI_API_KEY": "sk-demo-not-a-real-key"}
        seedbed(data, "profile", "add", "gpt-builtin", "--kind", "builtin", "--provider",
                "openai", "--model", "demo-model", "--base-url", server.openai_url,
                "--context-window", "20000", "--price-in", "3", "--price-out", "15")  # fmt: skip
        seedbed(data, "profile", "add", "shell", "--kind", "command", "--command",
                'echo "working on: $SEEDBED_TASK_ID"; sh ./.agent.sh 2>&1 || true')  # fmt: skip
        flaky = "echo 'running the flaky test 20 times'; echo 'FAILED test_checkout' >&2; exit 1"
        seedbed(data, "profile", "add", "failing", "--kind", "command", "--command", flaky)
        seedbed(data, "profile", "add", "breaker", "--kind", "command", "--command",
                "echo 'upgrading dateutil'; echo oops > broken.txt")  # fmt: skip
        steps = 'for i in $(seq 1 2000); do echo "refactoring step $i: totals.py"; sleep 0.3; done'
        seedbed(data, "profile", "add", "long-runner", "--kind", "command", "--command", steps)

        server.script(
            answer("I'll add a token bucket to the login endpoint.",
                   tool_calls=[("c1", "write_file", {"path": "app/limits.py",
                                "content": "BUCKET = 10\n\ndef allow(user):\n    return True\n"})],
                   usage=(9000, 300)),
            answer(tool_calls=[("c2", "run_command", {"command": "python -c 'import app.limits'"})],
                   usage=(11000, 120)),
            answer("Rate limiting is in app/limits.py; login calls it.", usage=(13000, 200)),
            answer("Writing the deploy section.",
                   tool_calls=[("c3", "edit_file", {"path": "README.md", "old_text": "backend.",
                                "new_text": "backend.\n\n## Deploy\n\n`make deploy`"})],
                   usage=(4000, 150)),
            answer("Done: README has a Deploy section.", usage=(5000, 60)),
        )  # fmt: skip
        # One at a time: the scripted answers are one queue.
        ready = task(data, "Add rate limiting to the login endpoint", "gpt-builtin", "--start")
        seedbed(data, "run", "--until-idle", env=env)
        merged = task(data, "Document the deploy steps", "gpt-builtin", "--start")
        seedbed(data, "run", "--until-idle", env=env)
        task(data, "Fix the flaky checkout test", "failing", "--start")
        task(data, "Upgrade the date library", "breaker", "--start")
        seedbed(data, "run", "--until-idle", env=env)
    seedbed(data, "task", "approve", merged)
    seedbed(data, "task", "add", "--project", "shop-api", "--title",
            "Dark mode for the admin panel", "--profile", "gpt-builtin")  # fmt: skip
    seedbed(data, "task", "add", "--project", "shop-api", "--title",
            "Cache product images", "--profile", "shell")  # fmt: skip
    watched = task(data, "Refactor the cart totals", "long-runner", "--start", "--foreground")
    task(data, "Split the orders module", "long-runner", "--start")
    engine = subprocess.Popen(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data), "run"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(6)  # the long runners are implementing, with some output
        target.parent.mkdir(parents=True, exist_ok=True)
        shot(data, target, "--select", ready)
        shot(data, target.with_name("foreground.png"), "--select", watched, "--view", "foreground")
        shot(data, target.with_name("review.png"), "--select", ready, "--view", "review")
        shot(data, target.with_name("new-task.png"), "--view", "new-task")
        shot(data, target.with_name("projects.png"), "--view", "projects")
        shot(data, target.with_name("keys.png"), "--view", "keys", env=keyring)
        shot(tmp / "fresh", target.with_name("welcome.png"), "--size", "1100x680")
        seedbed(tmp / "added", "project", "add", repo, "--name", "shop-api")
        shot(tmp / "added", target.with_name("added.png"), "--size", "1100x500")
    finally:
        engine.terminate()
        engine.wait(60)
    print(f"{target} (data dir {data})")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot/board.png"))
