"""Aider (`aider`), driven with one message; its plain-text output parsed by its shape.

Checked against the CLI's own `aider --help` (0.86.2), its source, and by running it
against tests/model_server.py (recordings in tests/agents/cli/recordings/aider):

    /bin/sh -c WRAPPER seedbed-aider STATE METADATA \
        aider --message-file /dev/stdin --yes-always --no-pretty … --chat-history-file …
              [--restore-chat-history] [--model openai/M --openai-api-base URL
              --model-metadata-file STATE/model.metadata.json] [extra args…]

- `--message-file` (the file form of `--message`) runs one request and exits. The
  message comes on stdin, not in argv: Aider logs its command line into its chat
  history, and a message of several lines in argv broke that log, so that
  `--restore-chat-history` read it back as an answer the model never gave. (No argv
  length limit either, and a message that starts with "-" is no option.)
  `--yes-always` answers Aider's questions (create a file, add a file the answer
  names) with yes, except those that need an explicit yes: shell commands are never
  run, so `--no-suggest-shell-commands` keeps the model from proposing them.
  `--no-pretty` prints plain text; NO_COLOR and a huge COLUMNS keep rich from colouring
  or wrapping Aider's own lines; PYTHONUNBUFFERED makes every line arrive when it is
  printed (the idle timeout watches them).
- Git: the engine commits what a run leaves, so Aider must not: `--no-auto-commits`,
  `--no-dirty-commits`, `--no-gitignore` (else it adds `.aider*` to the worktree's
  .gitignore). Aider writes a placeholder identity into the repository's config when
  git has none; a `GIT_CONFIG_*` identity in its environment prevents that (Aider makes
  no commits here, so the name is never used). It still `git add`s a file it creates;
  the engine stages everything anyway. `--no-auto-lint`: the project's own checks run
  after every run; Aider's lint (its own flake8 rules) would be a second, different one.
- Nothing of Aider's lands in the worktree: the chat and input histories are in a state
  dir next to the worktree (`.<worktree name>.aider`), and the repo-map cache, which
  Aider always writes into the git root, is moved there by the wrapper when Aider exits
  (and back before the next run). The wrapper traps SIGTERM so that a stop (the engine
  signals the whole group) still puts the cache away.
- Offline: `--no-check-update` (PyPI), `--no-analytics` (PostHog, for this run only:
  `--analytics-disable` would write a permanent opt-out into the user's
  ~/.aider/analytics.json), `--no-show-release-notes` (on a version's first run it
  offers to open them, and `--yes-always` would accept), `--no-detect-urls` and
  `--disable-playwright` (no scraping of URLs in the prompt, no Playwright install),
  BROWSER=true (no offer of Aider's can open a browser),
  LITELLM_LOCAL_MODEL_COST_MAP=True (litellm's bundled prices, not GitHub's). Aider
  itself downloads litellm's price list from GitHub for a model it has no metadata
  for: for a profile with a base URL the wrapper writes the model's metadata (context
  window, prices from the profile) and `--model-metadata-file` hands it over, so such a
  run makes its model calls and nothing else.
- The model: with a base URL, an OpenAI-compatible server (`--openai-api-base`), which
  litellm calls `openai/<model>`. Aider gives an unknown model its "whole" edit format
  (whole files); `--extra-arg --edit-format --extra-arg diff` asks for SEARCH/REPLACE.
  Without a base URL the model name goes as it is (Aider's aliases, litellm names).
- Key: OPENAI_API_KEY, put there by CliRuntime when one was resolved; litellm refuses to
  call without one, so a base URL with no key gets a stand-in (a local server needs
  none). Aider also loads `.env` files (home, git root) over it, as it always does.
- Follow-ups: Aider has no session to resume, but it can restore its chat history: a
  follow-up after a run that started (the parser's "session") passes
  `--restore-chat-history` with the same history file and asks the follow-up alone;
  otherwise it asks the whole task again with the follow-up. Aider does not know which
  files the earlier run edited: when the answer names one, it adds it and asks again.
  A history too long for the model is summarised by Aider first (one more call).
- Permission modes: Aider has none to choose (edits are applied, commands never run);
  a profile that sets one is refused.
- In a sandbox (the home hidden, the worktree's parent with it): Aider writes its
  task's state dir (named to `sandbox_dirs` by SEEDBED_AIDER_STATE) and ~/.aider/ (its
  analytics id, installs.json, caches), so both are bound writable; litellm's
  tokenizers come with it, the rest (tree-sitter, Python caches) goes to the sandbox's
  private XDG_CACHE_HOME. The home's ~/.aider.conf.yml and ~/.env are not seen there
  (a profile can add them: `--sandbox-path ~/.aider.conf.yml`).

Against a local Chat Completions server a run makes one streaming
`POST /v1/chat/completions` per model call (no stream usage asked for: Aider counts the
tokens itself), and nothing else. An answer that names a file not in the chat costs a
second call; an edit that does not apply is sent back up to three times. HTTP errors are
retried twice by the OpenAI client, then by Aider with doubling delays for about a
minute (printed); a server that never answers is ended by the profile's idle timeout.
Aider exits 0 after an API error or edits it gave up on: the parser says the run failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.adapter import CliAdapter, StreamParser
from seedbed.agents.process import ProcessSpec
from seedbed.agents.text import task_message
from seedbed.domain.errors import UserError
from seedbed.domain.events import (
    ErrorEvent,
    Event,
    RawEvent,
    StatusEvent,
    TextEvent,
    ToolCallEvent,
    ToolKind,
    ToolResultEvent,
    UsageEvent,
)
from seedbed.domain.models import AgentKind, AgentProfile

# What a follow-up resumes: not an id (Aider has none) but the chat history it wrote.
HISTORY_SESSION = "chat-history"
# litellm refuses an OpenAI-compatible call without a key, which a local server may not
# need: such a server gets this stand-in when no key was found.
NO_KEY = "seedbed-no-key"
# The task's state dir, in the run's environment: what a sandbox must let Aider write.
STATE_VARIABLE = "SEEDBED_AIDER_STATE"
FLAGS = [
    "--yes-always",
    "--no-pretty",
    "--no-check-update",
    "--no-analytics",
    "--no-show-release-notes",
    "--no-auto-commits",
    "--no-dirty-commits",
    "--no-gitignore",
    "--no-show-model-warnings",
    "--no-detect-urls",
    "--disable-playwright",
    "--no-suggest-shell-commands",
    "--no-fancy-input",
    "--no-auto-lint",
]
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "BROWSER": "true",
    "PYTHONUNBUFFERED": "1",
    "NO_COLOR": "1",
    "COLUMNS": "100000",
}
IDENTITY = (("user.name", "Seedbed"), ("user.email", "seedbed@localhost"))
# The shell between Seedbed and Aider: it makes the state dir, writes the model's
# metadata, and keeps Aider's repo-map cache (which Aider always writes into the git
# root) in the state dir between runs instead of in the worktree. A stop signals the
# whole group: the trap lets the shell outlive Aider long enough to put the cache away.
WRAPPER = r"""
state=$1 metadata=$2
shift 2
mkdir -p "$state" || exit 1
if [ -n "$metadata" ]; then
  printf '%s\n' "$metadata" > "$state/model.metadata.json" || exit 1
fi
ours=1
for cache in .aider.tags.cache.v*; do [ -e "$cache" ] && ours=; done
if [ -n "$ours" ]; then
  for kept in "$state"/.aider.tags.cache.v*; do [ -d "$kept" ] && mv "$kept" .; done
fi
trap : TERM INT HUP
"$@"
status=$?
if [ -n "$ours" ]; then
  for cache in .aider.tags.cache.v*; do
    [ -e "$cache" ] && { rm -rf "$state/$cache"; mv "$cache" "$state/" || rm -rf "$cache"; }
  done
fi
exit $status
"""


class AiderAdapter(CliAdapter):
    kind = AgentKind.AIDER
    label = "Aider"
    binary = "aider"
    install_hint = (
        "Install it with `uv tool install aider-chat` (or `pipx install aider-chat`), "
        "or give the profile its path with --binary."
    )
    key_provider = "openai"
    key_env = "OPENAI_API_KEY"
    min_version = (0, 86, 0)

    def prepare(
        self,
        profile: AgentProfile,
        request: RunRequest,
        binary: str,
        env: dict[str, str],
        session_id: str,
    ) -> ProcessSpec:
        if profile.permission_mode:
            raise UserError(
                f"Aider has no permission modes (profile {profile.name!r} asks for "
                f"{profile.permission_mode!r}): it applies file edits unasked and never runs "
                "shell commands in a Seedbed run"
            )
        state = state_dir(request.worktree)
        resume = bool(request.follow_up and session_id)
        message = task_message(request, resume)
        if not message.strip():
            raise UserError("the task has nothing to ask Aider: no title, prompt or follow-up")
        # On stdin, never in argv: Aider logs its command line into the chat history as
        # one line, and the lines of a message in argv would come back from
        # --restore-chat-history as a made-up answer.
        argv = [binary, "--message-file", "/dev/stdin"]
        argv += FLAGS
        argv += [
            "--chat-history-file",
            str(state / "chat.history.md"),
            "--input-history-file",
            str(state / "input.history"),
        ]
        if resume:
            argv.append("--restore-chat-history")
        model = model_name(profile)
        metadata = ""
        if model:
            argv += ["--model", model]
        if profile.base_url:
            argv += ["--openai-api-base", profile.base_url.rstrip("/")]
            if model:
                metadata = json.dumps(model_metadata(profile, model))
                argv += ["--model-metadata-file", str(state / "model.metadata.json")]
        argv += profile.extra_args
        run_env = dict(env)
        run_env.update(OFFLINE_ENV)
        run_env.update(identity_env(env))
        run_env[STATE_VARIABLE] = str(state)
        if profile.base_url and not run_env.get(self.key_env):
            run_env[self.key_env] = NO_KEY
        return ProcessSpec(
            argv=["/bin/sh", "-c", WRAPPER, "seedbed-aider", str(state), metadata, *argv],
            cwd=request.worktree,
            env=run_env,
            stdin=message.encode(),
            timeout=profile.timeout,
            grace=profile.grace_seconds,
        )

    def parser(self) -> AiderParser:
        return AiderParser()

    def sandbox_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """The task's state dir (next to the worktree, so hidden with the data dir) and
        ~/.aider/, Aider's own (it reads its analytics opt-out there too)."""
        home = Path(env.get("HOME") or Path.home())
        dirs = [home / ".aider"]
        if env.get(STATE_VARIABLE):
            dirs.insert(0, Path(env[STATE_VARIABLE]))
        return dirs


def state_dir(worktree: Path) -> Path:
    """Where Aider keeps a task's chat history and caches: next to the worktree, never in it."""
    return worktree.parent / f".{worktree.name}.aider"


def model_name(profile: AgentProfile) -> str:
    """The profile's model as litellm names it: a model of an OpenAI-compatible server at
    the profile's base URL is `openai/<model>`."""
    model = profile.model.strip()
    if model and profile.base_url and not model.startswith("openai/"):
        return f"openai/{model}"
    return model


def model_metadata(profile: AgentProfile, model: str) -> dict[str, object]:
    return {
        model: {
            "max_input_tokens": profile.context_window,
            "max_output_tokens": profile.max_output_tokens,
            "input_cost_per_token": profile.price_in / 1e6,
            "output_cost_per_token": profile.price_out / 1e6,
            "litellm_provider": "openai",
            "mode": "chat",
        }
    }


def identity_env(env: dict[str, str]) -> dict[str, str]:
    """A git identity for Aider's process only, as `git -c`-style environment entries."""
    count = env.get("GIT_CONFIG_COUNT", "0")
    if not count.isdigit():
        return {}
    first = int(count)
    added = {"GIT_CONFIG_COUNT": str(first + len(IDENTITY))}
    for offset, (key, value) in enumerate(IDENTITY):
        added[f"GIT_CONFIG_KEY_{first + offset}"] = key
        added[f"GIT_CONFIG_VALUE_{first + offset}"] = value
    return added


# Numbers as Aider prints them: 786, 1.2k, 26k (and M, should one ever be that big).
NUMBER = r"[\d.]+[kM]?"
TOKENS = re.compile(
    rf"^Tokens: (?P<sent>{NUMBER}) sent"
    rf"(?:, (?P<write>{NUMBER}) cache write)?(?:, (?P<hit>{NUMBER}) cache hit)?"
    rf", (?P<received>{NUMBER}) received\.(?: (?P<cost>Cost: .*))?$"
)
COST = re.compile(r"^Cost: \$(?P<message>[\d.]+) message, \$[\d.]+ session\.$")
APPLIED = re.compile(r"^Applied edit to (?P<path>.+)$")
NOT_APPLIED = re.compile(r"^Did not apply edit to (?P<path>.+?)(?: \(--dry-run\))?$")
API_ERROR = re.compile(r"^litellm\.\w+: ")
RETRYING = re.compile(r"^Retrying in [\d.]+ seconds\.\.\.$")
STARTING = re.compile(
    r"^(?:Aider v\d|(?:Main |Weak |Editor )?[Mm]odel: |Git repo: |Repo-map: |"
    r"Restored previous conversation history\.|Added .+ to the chat\.$|"
    r"Cur working dir: |Git working dir: |Analytics have been )"
)
WARNING = re.compile(r"^(?:Warning\b|Note: |Update git (?:name|email) with: )")
COMMITTED = re.compile(r"^Commit [0-9a-f]{7,} ")
# Aider's messages after which the run has failed, whatever follows.
FATAL = re.compile(
    r"^(?:Only \d+ reflections allowed, stopping\.|Skipping edits to |Unable to create .+, "
    r"skipping edits\.|Exception while updating files:|Model .+ has hit a token limit!|"
    r"Empty response received from LLM\.|Traceback \(most recent call last\):)"
)
EDIT_FAILED = "The LLM did not conform to the edit format."
# The last line of the edit-format error Aider prints (and sends back to the model):
# after it the model's next answer begins.
EDIT_ERROR_END = re.compile(
    r"^(?:The SEARCH section must exactly match |Just reply with fixed versions of the |"
    r"\^\^\^ |No filename provided before )"
)
SEARCH_FAILED = re.compile(r"^# \d+ SEARCH/REPLACE blocks? failed to match!")
REASON_LIMIT = 500


def count(text: str | None) -> int:
    """786 → 786, 1.2k → 1200, 26k → 26000."""
    if not text:
        return 0
    scale = {"k": 1_000, "M": 1_000_000}.get(text[-1], 1)
    try:
        return round(float(text[:-1] if scale != 1 else text) * scale)
    except ValueError:
        return 0


def one_line(text: str, limit: int = REASON_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Zone:
    """Where in Aider's output a line is, which says what an unknown line there is."""

    WAITING = "waiting"  # before an answer: the next unknown line starts it
    ANSWER = "answer"  # the model's answer, streamed line by line
    AFTER = "after"  # Aider's own lines after an answer (the files it asks about)
    EDIT_ERROR = "edit_error"  # the edit-format error Aider prints and sends back
    DETAIL = "detail"  # what Aider prints after a failure: no answer follows


class AiderParser(StreamParser):
    """Aider's plain-text output to events.

    Aider prints no structure, so the parser follows its shape: a start-up banner, then
    for each model call the answer as it streams, ended by the "Tokens: …" line, then
    Aider's own lines (the files it asks about, "Applied edit to PATH", errors). Aider's
    lines are recognised by their wording (aider 0.86.2); the model's answer becomes
    text deltas, line by line, and then one whole TextEvent. A model call that follows
    without a marker (after Aider added a file the answer named, or sent an edit error
    back) is told from Aider's lines by its first line: a file name Aider asks about has
    no spaces, an answer almost always has. Anything else is kept raw.

    `failed` says whether the run's last word was a failure: an API error not followed
    by a retry or an answer, an edit that did not apply and was not fixed later, or one
    of Aider's messages after which nothing is fixed (the reflections ran out, an edit
    was skipped, the context is full).
    """

    def __init__(self) -> None:
        self._zone = Zone.WAITING
        self._answer: list[str] = []
        self._edits = 0
        self._failure = ""  # "", "api", "edit" or "fatal": what would clear `failed`

    def feed(self, line: str) -> list[Event]:
        text = line.rstrip()
        zone = self._zone
        if zone == Zone.ANSWER:
            if not self._ends_answer(text):
                self._answer.append(line)
                return [TextEvent(text=line + "\n", delta=True)]
            events = self._answer_done()
            known = self._known(text)
            return events + (known if known is not None else [RawEvent(line=line)])
        if zone == Zone.EDIT_ERROR and not text.startswith(("litellm.", "Only ", "Tokens: ")):
            if EDIT_ERROR_END.match(text):
                self._zone = Zone.WAITING
            if SEARCH_FAILED.match(text):
                if self._failure == "edit":
                    self.reason = one_line(text)
                return [ErrorEvent(message=text)]
            return [RawEvent(line=line)] if text else []
        known = self._known(text)
        if known is not None:
            return known
        if not text:
            return []
        if zone == Zone.WAITING or (zone == Zone.AFTER and " " in text):
            self._zone = Zone.ANSWER
            self._answer = [line]
            return [TextEvent(text=line + "\n", delta=True)]
        return [RawEvent(line=line)]

    def _ends_answer(self, text: str) -> bool:
        return bool(
            text.startswith(("Tokens: ", "The API provider"))
            or API_ERROR.match(text)
            or RETRYING.match(text)
            or FATAL.match(text)
        )

    def _answer_done(self) -> list[Event]:
        self._zone = Zone.AFTER
        text = "\n".join(self._answer).strip("\n")
        self._answer = []
        return [TextEvent(text=text)] if text.strip() else []

    def _known(self, text: str) -> list[Event] | None:
        """The events of one of Aider's own lines, or None for a line that is not."""
        if match := TOKENS.match(text):
            self._zone = Zone.AFTER
            if self._failure == "api":
                self._fail("")
            cost = COST.match(match["cost"] or "")
            usage = UsageEvent(
                tokens_in=count(match["sent"]),
                tokens_out=count(match["received"]),
                cost_usd=float(cost["message"]) if cost else 0.0,
            )
            return [usage]
        if match := COST.match(text):
            return [UsageEvent(cost_usd=float(match["message"]))]
        if match := APPLIED.match(text):
            if self._failure == "edit":
                self._fail("")
            return self._edit(match["path"], text, ok=True)
        if match := NOT_APPLIED.match(text):
            self._fail("fatal", text)
            return [*self._edit(match["path"], text, ok=False), ErrorEvent(message=text)]
        if API_ERROR.match(text):
            self._zone = Zone.WAITING
            self._fail("api", text)
            return [ErrorEvent(message=text)]
        if text.startswith("The API provider"):
            return [ErrorEvent(message=text)]
        if RETRYING.match(text):
            self._zone = Zone.WAITING
            if self._failure == "api":
                self._fail("")
            return [StatusEvent(phase="retrying", message=text)]
        if text == EDIT_FAILED:
            self._zone = Zone.EDIT_ERROR
            self._fail("edit", "Aider could not apply the model's edits")
            return [ErrorEvent(message=text)]
        if FATAL.match(text):
            self._zone = Zone.DETAIL
            if text.startswith("Traceback"):
                reason = "Aider failed with an exception (see the log)"
            else:
                reason = f"{self.reason} ({text})" if self.failed else text
            self._fail("fatal", reason)
            return [ErrorEvent(message=text)]
        if STARTING.match(text):
            if text.startswith("Aider v"):
                self.session_id = HISTORY_SESSION
            return [StatusEvent(phase="starting", message=text)]
        if WARNING.match(text):
            return [StatusEvent(phase="warning", message=text)]
        if COMMITTED.match(text):
            return [StatusEvent(phase="committed", message=text)]
        return None

    def _edit(self, path: str, text: str, ok: bool) -> list[Event]:
        self._edits += 1
        call_id = f"edit-{self._edits}"
        return [
            ToolCallEvent(
                call_id=call_id, name="edit", tool_kind=ToolKind.EDIT, arguments={"path": path}
            ),
            ToolResultEvent(call_id=call_id, name="edit", output=text, is_error=not ok),
        ]

    def _fail(self, failure: str, reason: str = "") -> None:
        """Record a failure ("" clears one); a fatal one stays whatever follows."""
        if self._failure == "fatal":
            return
        self._failure = failure
        self.failed = bool(failure)
        self.reason = one_line(reason) if failure else ""
