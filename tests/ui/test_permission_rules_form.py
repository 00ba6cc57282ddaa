"""A profile's permission rules in the settings form: shell words, so that a rule with
spaces (`deny:Bash(git push*)`) stays one rule; shown for Claude Code only."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from seedbed.domain.models import AgentKind, AgentProfile, profile_fields
from tests.ui.test_model_form import make_form


def test_the_rules_are_shell_words_and_only_claude_code_has_them(qtbot: QtBot) -> None:
    form = make_form(qtbot, AgentProfile, ["permission_rules"])
    form.editor("permission_rules").setText("'deny:Bash(git push*)' allow:Bash(pytest*)")
    assert form.values()["permission_rules"] == ["deny:Bash(git push*)", "allow:Bash(pytest*)"]
    form.set_values(AgentProfile(name="x", permission_rules=["ask:Bash(npm publish*)"]))
    assert form.editor("permission_rules").text() == "'ask:Bash(npm publish*)'"
    assert "permission_rules" in profile_fields(AgentKind.CLAUDE_CODE)
    assert "permission_rules" not in profile_fields(AgentKind.CODEX)
