"""Setting up projects and agent profiles, with the input checks the user sees."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from seedbed import secrets, vcs
from seedbed.core.checking import InvalidField, checked
from seedbed.core.context import Changed, Context, Done
from seedbed.core.sandboxing import sandbox_by_default, sandboxable
from seedbed.domain.errors import SeedbedError, UserError
from seedbed.domain.models import AgentKind, AgentProfile, Project
from seedbed.domain.permissions import parse_rule
from seedbed.domain.slug import slugify
from seedbed.sandbox.allowlist import parse_entry
from seedbed.sandbox.policy import guarded_places, path_problem
from seedbed.store import Store

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

PROJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_sandbox(
    settings: Project | AgentProfile, flags: bool = True, repo: Path | None = None
) -> None:
    """The sandbox settings of a project or profile, checked for the user (InvalidField if
    not): each allowed host one the proxy can match, each path absolute and showing no
    place the sandbox hides (the home, `/`, the main checkout `repo`; Seedbed's data dir
    is checked when a run starts), each variable name a variable's."""
    for entry in settings.allowed_hosts:
        try:
            parse_entry(entry)
        except ValueError as exc:
            named = "--allow-host" if flags else "an allowed host"
            raise InvalidField(f"{named} {exc}", "allowed_hosts") from None
    guarded = guarded_places(repo=repo)
    for entry in settings.sandbox_paths:
        problem = path_problem(entry, guarded)
        if problem:
            named = "--sandbox-path" if flags else "the sandbox path"
            raise InvalidField(f"{named} {problem}", "sandbox_paths")
    for name in settings.sandbox_env:
        if not VARIABLE_NAME.fullmatch(name):
            named = "--sandbox-env" if flags else "a sandbox variable"
            raise InvalidField(f"{named} {name!r} is not a variable's name", "sandbox_env")


def check_text(text: str, what: str) -> None:
    """Text that becomes a process's stdin, environment or a commit message."""
    if "\0" in text:
        raise UserError(f"{what} contains a NUL byte")


# -- projects ---------------------------------------------------------------------------


PROJECTS = Changed(projects=True)
PROFILES = Changed(profiles=True)


def add_project(
    ctx: Context,
    path: Path,
    name: str | None = None,
    base: str | None = None,
    roles: dict[str, str] | None = None,
    settings: dict[str, JsonValue] | None = None,
) -> Done[Project]:
    """A new project on the repository at `path` (or above it), with these Project
    `settings` by field name (the model's defaults for the rest) and `roles`, the profiles
    by name of its executor_profile_id, planner_profile_id, reviewer_profile_id ("": none); a
    repository already added is refused, by whatever path or symlink it is named, as is
    an unknown profile, before anything is written."""
    store = ctx.store
    settings = dict(settings or {})
    for field, profile in (roles or {}).items():
        settings[field] = store.find_profile(profile).id if profile.strip() else None
    top = vcs.open_repository(path)
    if base is None:
        base = vcs.current_branch(top)
        if base is None:
            raise UserError(f"{top} has a detached HEAD: name the base branch with --base")
    elif not vcs.branch_exists(top, base):
        raise UserError(f"base branch {base!r} does not exist in {top}")
    # The settings' bounds, as the model declares them (the name is checked below).
    named = {"name": name or top.name, "path": top, "base_branch": base}
    check_sandbox(checked(Project, {**named, **settings}, "project"), repo=top)
    if name is not None and not name.strip():
        raise UserError("the project name is empty")
    if name is not None and not PROJECT_NAME.fullmatch(name.strip()):
        raise UserError(
            f"{name!r} is not a usable project name: use letters, digits, '.', '_' and '-' "
            "(it names a directory), starting with a letter or digit"
        )
    for field in ("setup_command", "check_command"):
        check_text(str(settings.get(field, "")), field.replace("_", " "))
    check_new_repository(store, top)
    project = Project.model_validate(
        {
            **settings,
            "name": slugify(top.name, fallback="project") if name is None else name.strip(),
            "path": top,
            "base_branch": base,
        }
    )
    if not project.name:
        raise UserError("the project name is empty")
    return Done(value=store.add_project(project), changed=PROJECTS)


def check_new_repository(store: Store, top: Path) -> None:
    """Refuse a repository that is a project already: the same checkout by another path
    (a symlink, a subdirectory) or another worktree of the same repository."""
    own = vcs.repository_dir(top)
    for project in store.list_projects():
        same = project.path.resolve() == top.resolve()
        if not same and project.path.is_dir():
            try:
                same = vcs.repository_dir(project.path) == own
            except SeedbedError:
                same = False  # its checkout is gone or broken: not this repository
        if same:
            raise UserError(
                f"this repository is already project {project.name!r} "
                f"(id {project.id}, at {project.path})"
            )


def set_project_defaults(
    ctx: Context,
    project: Project,
    executor: str | None = None,
    planner: str | None = None,
    reviewer: str | None = None,
) -> Done[Project]:
    """The profiles the project's new tasks get unless they name their own; None keeps
    one as it is, "" clears it."""
    store = ctx.store

    def pick(name: str | None, current: int | None) -> int | None:
        if name is None:
            return current
        return store.find_profile(name).id if name.strip() else None

    updated = project.model_copy(
        update={
            "executor_profile_id": pick(executor, project.executor_profile_id),
            "planner_profile_id": pick(planner, project.planner_profile_id),
            "reviewer_profile_id": pick(reviewer, project.reviewer_profile_id),
        }
    )
    return Done(value=store.update_project(updated), changed=PROJECTS)


def update_project_settings(ctx: Context, project: Project) -> Done[Project]:
    """Save a project's settings (setup and check commands, copied files, diff budget,
    check timeout), checked for the user; its name and path do not change."""
    store = ctx.store
    saved = store.get_project(project.id)
    # model_copy(update=…) checks nothing: the model's bounds are checked here (and a
    # choice given as text becomes its enum).
    project = checked(Project, dict(project), "project", flags=False)
    check_sandbox(project, flags=False, repo=project.path)
    if project.base_branch != saved.base_branch and not (
        vcs.branch_exists(project.path, project.base_branch)
    ):
        raise InvalidField(
            f"base branch {project.base_branch!r} does not exist in {project.path}", "base_branch"
        )
    texts = [
        ("setup_command", project.setup_command, "the setup command"),
        ("check_command", project.check_command, "the check command"),
        *(("copy_globs", pattern, "a copied-files pattern") for pattern in project.copy_globs),
    ]
    for field, text, what in texts:
        try:
            check_text(text, what)
        except UserError as exc:
            raise InvalidField(str(exc), field) from None
    return Done(value=store.update_project(project), changed=PROJECTS)


# -- profiles ---------------------------------------------------------------------------


def add_profile(
    ctx: Context, name: str, kind: AgentKind, options: dict[str, JsonValue] | None = None
) -> Done[AgentProfile]:
    """A new agent profile; `options` are AgentProfile fields by name, checked here for
    the user. Sandboxed unless `options` says otherwise, where a sandbox can be made."""
    options = dict(options or {})
    if "sandbox" not in options and sandboxable(kind):
        options["sandbox"] = sandbox_by_default()
    profile = check_profile(name, kind, **options)
    return Done(value=ctx.store.add_profile(profile), changed=PROFILES)


def remove_profile(ctx: Context, name: str) -> Done[AgentProfile]:
    """Delete the profile `name`: refused while a project or a task uses it."""
    profile = ctx.store.find_profile(name)
    ctx.store.delete_profile(profile.id)
    # The projects naming it as a default let go of it (store.delete_profile).
    return Done(value=profile, changed=Changed(profiles=True, projects=True))


def check_profile(name: str, kind: AgentKind, **options: Any) -> AgentProfile:
    """The profile `name` of `kind` with these AgentProfile fields, checked for the user
    (the same rules for `profile add` and the settings dialog); InvalidField if not.
    Pure: no I/O."""
    name = name.strip()
    if not name:
        raise InvalidField("the profile name is empty", "name")
    profile: AgentProfile = checked(
        AgentProfile, {"name": name, "kind": kind, **options}, "profile"
    )
    check_sandbox(profile)
    for rule in profile.permission_rules:
        try:
            parse_rule(rule)
        except ValueError as exc:
            raise InvalidField(f"--permission-rule {exc}", "permission_rules") from None
    if options.get("key_name"):
        try:
            secrets.validate_name(options["key_name"])
        except UserError as exc:
            raise InvalidField(str(exc), "key_name") from None
    base_url = str(options.get("base_url", ""))
    if base_url and not base_url.startswith(("http://", "https://")):
        raise InvalidField(
            f"--base-url must start with http:// or https://, not {base_url!r}", "base_url"
        )
    if kind is AgentKind.COMMAND and not str(options.get("command", "")).strip():
        raise InvalidField("a command profile needs --command", "command")
    if kind is AgentKind.BUILTIN:
        if not options.get("provider"):
            raise InvalidField(
                "a builtin profile needs --provider (openai or anthropic)", "provider"
            )
        if not str(options.get("model", "")).strip():
            raise InvalidField("a builtin profile needs --model", "model")
    return profile


def update_profile(
    ctx: Context,
    profile_id: int,
    name: str,
    kind: AgentKind,
    options: dict[str, JsonValue] | None = None,
) -> Done[AgentProfile]:
    """Replace profile `profile_id` with these settings, checked as `add_profile` does.
    Fields `options` leaves out get their defaults."""
    ctx.store.get_profile(profile_id)
    profile = check_profile(name, kind, **(options or {}))
    saved = ctx.store.update_profile(profile.model_copy(update={"id": profile_id}))
    return Done(value=saved, changed=PROFILES)
