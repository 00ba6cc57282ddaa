"""What of the engine's environment a sandboxed process gets: keys and credentials by
the shape of their names or values are withheld (but the run's own and those kept on
purpose); what a shell or a program needs stays."""

from __future__ import annotations

from pathlib import Path

from seedbed.sandbox.bwrap import sandbox_environment, secrets_withheld
from seedbed.sandbox.plan import SandboxPlan

WITHHELD = [
    "ANTHROPIC_API_KEY", "MISTRAL_API_KEY", "OPENAI_API_KEY_2", "GH_TOKEN",
    "GITHUB_TOKEN_READONLY", "GITHUB_PAT", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
    "AWS_SESSION_TOKEN", "PGPASSWORD", "MYSQL_PWD", "TWINE_PASSWORD", "SENTRY_DSN",
    "SLACK_WEBHOOK_URL", "BW_SESSION", "OP_SESSION_MY", "NPM_TOKEN", "VAULT_TOKEN",
    "DOCKER_AUTH_CONFIG",
]  # fmt: skip
KEPT = [
    "PATH", "HOME", "PWD", "OLDPWD", "LANG", "TERM", "SHELL", "USER", "VIRTUAL_ENV",
    "JAVA_HOME", "GOPATH", "NODE_OPTIONS", "PYTHONPATH", "XDG_SESSION_TYPE", "KEYMAP",
    "GIT_AUTHOR_NAME", "EDITOR", "LESSKEY", "MONKEY",
]  # fmt: skip


def test_keys_and_credentials_are_withheld_and_the_rest_stays() -> None:
    env = {name: "value" for name in [*WITHHELD, *KEPT]}
    env["DATABASE_URL"] = "postgres://me:pw@db.example/app"  # a password in a URL
    env["PLAIN_URL"] = "https://example.org/path"
    # Git's configuration by the environment: a credential withheld, a user name kept.
    env |= {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "http.https://github.com/.extraheader",
        "GIT_CONFIG_VALUE_0": "AUTHORIZATION: bearer secret",
        "GIT_CONFIG_KEY_1": "user.name",
        "GIT_CONFIG_VALUE_1": "Me",
        "GIT_CONFIG_PARAMETERS": "'http.extraheader'='AUTHORIZATION: bearer secret'",
    }
    plan = SandboxPlan(cwd=Path("/"), passed_env=["ANTHROPIC_API_KEY", "PGPASSWORD"])

    withheld = secrets_withheld(env, plan)
    inside = sandbox_environment(env, plan)

    git_secrets = {"GIT_CONFIG_VALUE_0", "GIT_CONFIG_PARAMETERS"}
    expected = sorted(
        {*WITHHELD, "DATABASE_URL", *git_secrets} - {"ANTHROPIC_API_KEY", "PGPASSWORD"}
    )
    assert withheld == expected
    git_kept = {"GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_KEY_1", "GIT_CONFIG_VALUE_1"}
    assert set(inside) == {*KEPT, *git_kept, "PLAIN_URL", "ANTHROPIC_API_KEY", "PGPASSWORD"}
