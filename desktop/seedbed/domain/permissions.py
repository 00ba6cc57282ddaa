"""Permission rules: which of an agent's tool calls Seedbed allows, refuses or asks about.

A rule reads like Claude Code's own permission rules, with the answer in front:

    allow:Bash(pytest*)      deny:Bash(git push*)      ask:Bash      allow:mcp__github

- The answer: `allow`, `deny` or `ask` (asking the human, the same as no rule at all).
- The tool: its name as the agent calls it (`Bash`, `Write`, `WebFetch`,
  `mcp__server__tool`); `mcp__server` is every tool of that server; `*` and `?` glob.
- The pattern, in parentheses, optional: a glob (`*` any characters, `?` one, `[…]` a
  class; case-sensitive) over the whole of the call's subject: a command's text, a
  file's path, an address (`subject`); else the input as compact JSON. A trailing `:*`
  (Claude Code's prefix form, `Bash(npm run test:*)`) is `*`. No pattern: any input.

The most restrictive rule that matches answers, whatever the order: deny, then ask, then
allow (Claude Code's own precedence), but for a rule without wildcards, the very call a
human allowed ("Allow for this task", "Always for this profile"): it answers before an
ask, never before a deny, so a rule added later can never undo a deny.

A shell command is judged part by part: split at `;`, `&&`, `||`, `|`, `&` and line
ends, it is allowed only when every part is, refused when one part is; one with `$(`, a
backquote or `<(` is never allowed by a pattern (what it runs is not in its text), so
`allow:Bash(echo*)` passes neither `echo $(rm -rf ~)` nor `echo; rm -rf ~`. A rule
without wildcards (what a human's answer adds) allows its command whole.

Pure: no I/O.
"""

from __future__ import annotations

import json
import posixpath
import re
from enum import StrEnum
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, JsonValue

SHELL_TOOLS = frozenset({"Bash"})
# Where a tool's input keeps what the call works on, by the names Claude Code gives them.
SUBJECT_KEYS = ("command", "file_path", "notebook_path", "path", "url", "pattern", "query")
PATH_KEYS = frozenset({"file_path", "notebook_path", "path"})
# The tools that change files: allowed inside the worktree by `worktree_rules`.
EDIT_TOOLS = ("Edit", "Write", "MultiEdit", "NotebookEdit")
RULE = re.compile(r"(?P<action>[a-z]+):(?P<tool>[^()\s]+)(?:\((?P<pattern>.*)\))?", re.DOTALL)
# `&` ends a command unless it is a redirection's (`2>&1`, `&>file`).
_SEPARATORS = re.compile(r"&&|\|\||[;|\n]|(?<![<>])&(?!>)")
_HIDDEN_COMMANDS = ("$(", "`", "<(", ">(")
# Output sent to a file (`> f`, `>> f`, `2> f`): to one outside the working directory (an
# absolute path, `~`, `..`, a variable), a command an allow rule names would write where
# its pattern does not say. `2>&1` and /dev/null are no such file.
_REDIRECT = re.compile(r">>?\s*(?P<target>[^\s&|;<>]+)")


def _writes_outside(command: str) -> bool:
    for found in _REDIRECT.finditer(command):
        target = found["target"].strip("'\"")
        if target == "/dev/null" or found["target"].startswith("&"):
            continue
        if target.startswith(("/", "~", "$")) or ".." in target.split("/"):
            return True
    return False


_GLOB_CHARS = re.compile(r"([*?\[])")
_LITERALS = re.compile(r"\[[*?\[]\]")  # `[*]`: a glob character taken literally
_WILDCARDS = re.compile(r"[*?\[]")


class Action(StrEnum):
    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


# The order in which rules that match overrule each other: the most restrictive first.
PRECEDENCE = (Action.DENY, Action.ASK, Action.ALLOW)


class Decision(StrEnum):
    """The human's answer to a permission request (the card's four buttons)."""

    ALLOW_ONCE = "allow_once"
    ALLOW_TASK = "allow_task"  # becomes a rule the task's later requests meet
    ALLOW_PROFILE = "allow_profile"  # becomes a rule saved on the profile
    DENY = "deny"


class Rule(BaseModel):
    """One parsed rule; `text` as the user wrote it."""

    model_config = ConfigDict(frozen=True)

    action: Action
    tool: str
    pattern: str | None = None
    text: str

    def matches_tool(self, tool: str) -> bool:
        if self.tool == tool or fnmatchcase(tool, self.tool):
            return True
        # `mcp__server`: every tool of that server (Claude Code's own shorthand).
        return self.tool.startswith("mcp__") and tool.startswith(self.tool + "__")

    @property
    def exact(self) -> bool:
        """Whether its pattern matches one text only (`exact_rule`'s, a human's answer)."""
        return self.pattern is not None and not _WILDCARDS.search(_LITERALS.sub("", self.pattern))

    def matches(self, tool: str, subject: str) -> bool:
        if not self.matches_tool(tool):
            return False
        return self.pattern is None or fnmatchcase(subject, self.pattern)


class Verdict(BaseModel):
    """What the rules say about one call: `rule` answered it (None: no rule did, so a
    human is to be asked, as for an `ask` rule)."""

    model_config = ConfigDict(frozen=True)

    action: Action
    rule: Rule | None = None


ASK_NOBODY = Verdict(action=Action.ASK)  # no rule answers: ask a human


def parse_rule(text: str) -> Rule:
    """The rule `text` reads as; ValueError saying what is wrong if it is none."""
    found = RULE.fullmatch(text.strip())
    if found is None:
        raise ValueError(
            f"{text!r} is not a rule: write ACTION:TOOL or ACTION:TOOL(PATTERN), e.g. "
            "allow:Bash(pytest*)"
        )
    try:
        action = Action(found["action"])
    except ValueError:
        raise ValueError(f"{text!r}: the answer must be allow, deny or ask") from None
    pattern = found["pattern"]
    if pattern is not None:
        if not pattern.strip():
            raise ValueError(f"{text!r}: the pattern in parentheses is empty")
        if pattern.endswith(":*"):
            pattern = pattern[:-2] + "*"
    return Rule(action=action, tool=found["tool"], pattern=pattern, text=text.strip())


def parse_rules(texts: list[str]) -> list[Rule]:
    return [parse_rule(text) for text in texts]


def subject(tool_input: dict[str, JsonValue]) -> str:
    """What a call works on, as a rule's pattern sees it: its command, path or address,
    else its whole input as compact JSON."""
    for key in SUBJECT_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str):
            # `/work/tree/../secret` is not inside /work/tree.
            absolute = key in PATH_KEYS and value.startswith("/")
            return posixpath.normpath(value) if absolute else value
    return json.dumps(tool_input, separators=(",", ":"), sort_keys=True)


def _verdict(rules: list[Rule], tool: str, text: str) -> Verdict:
    matching = [rule for rule in rules if rule.matches(tool, text)]
    for action in PRECEDENCE:
        for rule in matching:
            if rule.action is action:
                return Verdict(action=action, rule=rule)
    return ASK_NOBODY


def command_parts(command: str) -> list[str]:
    """A shell command's simple commands, split at its separators (quotes are not
    parsed: a separator inside quotes splits too, which can only make an allow rule match
    less, and a deny more)."""
    # Spaces made one: `git  push` is `git push` to a rule too.
    return [" ".join(part.split()) for part in _SEPARATORS.split(command) if part.strip()]


def decide(rules: list[Rule], tool: str, tool_input: dict[str, JsonValue]) -> Verdict:
    """Which rule answers the call of `tool` with `tool_input` (see the module's doc)."""
    text = subject(tool_input)
    shell = tool in SHELL_TOOLS and "command" in tool_input
    parts = [_verdict(rules, tool, part) for part in command_parts(text)] if shell else []
    whole = _verdict(rules, tool, text)
    for verdict in (whole, *parts):
        if verdict.action is Action.DENY:
            return verdict
    # The very call a human allowed ("Allow for this task"): over an ask, compound or not.
    for rule in rules:
        if rule.action is Action.ALLOW and rule.exact and rule.matches(tool, text):
            return Verdict(action=Action.ALLOW, rule=rule)
    if not shell:
        return whole
    parts = parts or [whole]
    if any(verdict.action is not Action.ALLOW for verdict in parts):
        return next((v for v in parts if v.action is Action.ASK and v.rule), ASK_NOBODY)
    if any(mark in text for mark in _HIDDEN_COMMANDS) or _writes_outside(text):
        return ASK_NOBODY
    return parts[0]


def literal(text: str) -> str:
    """`text` as a pattern that matches only itself."""
    return _GLOB_CHARS.sub(r"[\1]", text)


def worktree_rules(worktree: str) -> list[Rule]:
    """What Claude Code's acceptEdits approves, as rules: edits of files inside the
    worktree (a profile's rules come first: their deny or ask overrules these)."""
    root = literal(posixpath.normpath(worktree))
    inside = root + "/*"
    # Its `.git` (a link to the repository's git dir) is no file to edit: asked.
    git = [f"{root}/.git", f"{root}/.git/*"]
    asked = [
        parse_rule(f"{Action.ASK.value}:{tool}({path})") for tool in EDIT_TOOLS for path in git
    ]
    return asked + [parse_rule(f"{Action.ALLOW.value}:{tool}({inside})") for tool in EDIT_TOOLS]


def exact_rule(tool: str, tool_input: dict[str, JsonValue]) -> str:
    """The rule that allows exactly this call again ("Allow for this task", "Always for
    this profile"): its subject with the glob's characters taken literally."""
    return f"{Action.ALLOW.value}:{tool}({literal(subject(tool_input))})"


def describe_call(tool: str, tool_input: dict[str, JsonValue], limit: int = 200) -> str:
    """`Bash(pytest -q)`: a call in one line, for the log."""
    text = " ".join(subject(tool_input).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{tool}({text})"


def headless_shell_rules(texts: list[str]) -> list[tuple[str, Action]]:
    """The rules about Bash as (glob, allow or deny) for a CLI that cannot ask, allows
    first, then denies: `ask` is a deny, as nobody answers a headless run; a rule without
    a pattern is `*`; one that does not parse (they are checked when saved) is left out."""
    rules = []
    for text in texts:
        try:
            rule = parse_rule(text)
        except ValueError:
            continue
        if rule.matches_tool("Bash"):
            rules.append(rule)
    return [
        (rule.pattern or "*", Action.ALLOW if action is Action.ALLOW else Action.DENY)
        for action in reversed(PRECEDENCE)
        for rule in rules
        if rule.action is action
    ]


def shell_permissions(texts: list[str]) -> dict[str, str]:
    """The rules about Bash as a CLI's own glob → answer table for shell commands
    (OpenCode's `permission.bash`, where the last pattern that matches answers), so a
    deny, coming after, overrules an allow."""
    table: dict[str, str] = {}
    for glob, answer in headless_shell_rules(texts):
        table.pop(glob, None)
        table[glob] = answer.value
    return table


# Gemini CLI matches a rule's regex against the call's arguments as JSON with every
# top-level pair wrapped in NULs (`\0"command":"…"\0`), and drops a rule whose regex has
# a quantified group (its guard against ReDoS): no group is written. A wildcard is a run
# of anything but a NUL, which cannot leave the command's pair; the end is the closing
# quote and its NUL. Where JSON's text and the glob's characters part (an escaped
# character: a quote, a backslash, a tab, \u00XX; a run of spaces, which Seedbed reads as
# one; a class), a deny errs on matching more and an allow on matching less: Gemini never
# allows more than Seedbed's own reading of the rule, nor denies less.
_ANY_RUN = r"[^\x00]*"
# An allow's `*`: characters JSON writes as they are (a run through an escape could end
# inside it, and what follows match its letter: `*t` a tab).
_PLAIN_RUN = r"[^\x00\\]*"
_SOME_CHARS = r"[^\x00]{1,6}"  # a deny's `?` or class: one character however JSON writes it
_PLAIN_CHAR = r"[^\x00\\\ud800-\udfff]"  # an allow's `?`: one character JSON writes as is
_BLANKS = r"[ \\t]+"  # a deny's spaces: a run of spaces and tabs (`\t` in JSON)
_EDGE_BLANKS = r"[ \\t]*"  # before and after a deny's command
_NOTHING = r"[^\s\S]"  # an allow's class that matches nothing Seedbed's would
_END = r'"\x00'
_REGEX_SPECIAL = set("\\^$.|?*+()[]{}/")
MAX_REGEX = 2048 - len('"command":"')  # Gemini drops a longer regex


def _regex_literal(text: str) -> str:
    """`text` as JSON writes it inside a string, escaped for a JavaScript regex (only
    its syntax characters, so the pattern is valid with the `u` flag too)."""
    encoded = json.dumps(text, ensure_ascii=False)[1:-1]
    return "".join("\\" + char if char in _REGEX_SPECIAL else char for char in encoded)


def _allowed_class(body: str, negated: bool) -> str:
    """An allow's `[…]`: characters JSON writes as they are. One with a quote or a
    backslash in it (JSON escapes them; leaving them out could change a range) or with a
    range out of order (fnmatch matches nothing with it) matches nothing."""
    if '"' in body or "\\" in body:
        return _NOTHING
    try:
        re.compile(f"[{body}]")
    except re.error:
        return _NOTHING
    escaped = "".join("\\" + c if c in "]^[" else c for c in body)
    if negated:
        return f"[^{escaped}\\x00\\\\\\ud800-\\udfff]"
    return f"(?!\\\\)[{escaped}]"  # never the backslash of an escape a range covers


def json_command_regex(glob: str, deny: bool) -> str:
    """A command glob (fnmatch's: `*`, `?`, `[…]`) as a regex over the command's text as
    Gemini CLI's policy sees it, after `"command":"`, to the end of the command: for a
    deny rule (`deny`) or an allow rule, each erring on its own safe side."""
    out: list[str] = []
    at = 0
    while at < len(glob):
        char = glob[at]
        first = at + 2 if glob[at + 1 : at + 2] == "!" else at + 1
        end = glob.find("]", first + 1) if char == "[" else -1
        if char == "*":
            out.append(_ANY_RUN if deny else _PLAIN_RUN)
        elif char == "?":
            out.append(_SOME_CHARS if deny else _PLAIN_CHAR)
        elif end != -1:
            negated = first == at + 2
            out.append(_SOME_CHARS if deny else _allowed_class(glob[first:end], negated))
            at = end
        else:
            run_end = at + 1
            while run_end < len(glob) and glob[run_end] not in "*?[":
                run_end += 1
            literal = glob[at:run_end]
            if deny:
                words = re.split(r"([ \t]+)", literal)
                out.extend(_BLANKS if i % 2 else _regex_literal(w) for i, w in enumerate(words))
            else:
                out.append(_regex_literal(literal))
            at = run_end
            continue
        at += 1
    if deny:  # blanks around it too, which Seedbed's reading drops
        return _EDGE_BLANKS + "".join(out) + _EDGE_BLANKS + _END
    return "".join(out) + _END


def shell_policy_rules(texts: list[str]) -> list[tuple[str, Action]]:
    """The rules about Bash as (command regex, allow or deny) for Gemini CLI's policy
    engine (`headless_shell_rules`, each glob as `json_command_regex`). A regex too long
    for Gemini: a deny's glob is cut short and ends in `*` (it denies more), an allow is
    left out (it allows less)."""
    found = []
    for glob, answer in headless_shell_rules(texts):
        deny = answer is Action.DENY
        regex = json_command_regex(glob, deny)
        while deny and _js_length(regex) > MAX_REGEX:  # a prefix, no class cut in two
            glob = glob[: len(glob) // 2].split("[")[0] + "*"
            regex = json_command_regex(glob, deny)
        if _js_length(regex) <= MAX_REGEX:
            found.append((regex, answer))
    return found


def _js_length(text: str) -> int:
    """`text`'s length as JavaScript counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2
