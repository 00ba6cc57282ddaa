"""ModelForm: editors built from pydantic field declarations, real widgets offscreen."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from seedbed.domain.models import (
    AgentKind,
    AgentProfile,
    MergeStrategy,
    Project,
    ProviderKind,
    Settings,
    profile_fields,
)
from seedbed.ui.common.theme import danger
from seedbed.ui.settings.model_form import NONE_TEXT, ErrorLabel, ModelForm


def make_form(qtbot: QtBot, model: type[BaseModel], fields: list[str]) -> ModelForm:
    form = ModelForm(model, fields)
    qtbot.addWidget(form)
    return form


def test_each_type_gets_its_editor_with_the_declared_range(qtbot: QtBot) -> None:
    form = make_form(qtbot, Settings, list(Settings.model_fields))
    parallel = form.editor("max_parallel")
    assert isinstance(parallel, QSpinBox)
    assert (parallel.minimum(), parallel.maximum()) == (1, 32)
    assert isinstance(form.editor("merged_days"), QSpinBox)
    assert form.editor("merged_days").maximum() == 3650
    strategy = form.editor("merge_strategy")
    assert isinstance(strategy, QComboBox)
    assert [strategy.itemText(i) for i in range(strategy.count())] == [
        m.value for m in MergeStrategy
    ]
    assert isinstance(form.editor("notify"), QCheckBox)
    # A fresh form shows the declared defaults.
    assert form.values() == Settings().model_dump()


def test_descriptions_are_tooltips_and_grey_hints(qtbot: QtBot) -> None:
    form = make_form(qtbot, Settings, ["max_parallel"])
    description = Settings.model_fields["max_parallel"].description
    assert form.editor("max_parallel").toolTip() == description
    hints = [label for label in form.findChildren(QLabel) if label.text() == description]
    assert len(hints) == 1
    assert hints[0].foregroundRole() == QPalette.ColorRole.PlaceholderText


def test_optional_numbers_and_enums(qtbot: QtBot) -> None:
    form = make_form(qtbot, AgentProfile, ["timeout", "provider", "price_in"])
    timeout = form.editor("timeout")
    assert isinstance(timeout, QDoubleSpinBox)
    assert timeout.text() == NONE_TEXT
    assert form.values()["timeout"] is None
    timeout.setValue(90)
    assert form.values()["timeout"] == 90.0
    assert timeout.text() == "90"
    provider = form.editor("provider")
    assert isinstance(provider, QComboBox)
    assert provider.itemText(0) == ""
    assert form.values()["provider"] is None
    provider.setCurrentIndex(provider.findText("anthropic"))
    assert form.values()["provider"] is ProviderKind.ANTHROPIC
    form.editor("price_in").setValue(0.075)
    assert form.values()["price_in"] == pytest.approx(0.075)


def test_lists_split_on_commas_and_spaces_and_shell_words_for_arguments(qtbot: QtBot) -> None:
    project = make_form(qtbot, Project, ["copy_globs"])
    project.editor("copy_globs").setText(".env, config/*.local  secrets.json")
    assert project.values()["copy_globs"] == [".env", "config/*.local", "secrets.json"]
    profile = make_form(qtbot, AgentProfile, ["extra_args"])
    profile.editor("extra_args").setText("--append-system-prompt 'be brief, please' -v")
    assert profile.values()["extra_args"] == ["--append-system-prompt", "be brief, please", "-v"]
    profile.set_values(AgentProfile(name="x", extra_args=["--x", "two words"]))
    assert profile.editor("extra_args").text() == "--x 'two words'"


@pytest.mark.parametrize("kind", list(AgentKind))
def test_set_values_then_values_gives_the_instance_back(qtbot: QtBot, kind: AgentKind) -> None:
    profile = AgentProfile(
        name="p",
        kind=kind,
        command="make agent",
        timeout=42.5,
        provider=ProviderKind.OPENAI,
        model="m",
        base_url="http://127.0.0.1:1",
        key_name="k",
        context_window=32_000,
        price_in=1.25,
        context_warn=0.5,
        binary="/opt/bin/tool",
        permission_mode="plan",
        extra_args=["--flag", "a b"],
        idle_timeout=0.0,
    )
    fields = profile_fields(kind)
    form = make_form(qtbot, AgentProfile, fields)
    form.set_values(profile)
    assert form.values() == {name: getattr(profile, name) for name in fields}
    assert form.validate() == AgentProfile.model_validate(
        {name: getattr(profile, name) for name in fields}
    )


def test_changed_is_sent_for_edits_not_for_loading(qtbot: QtBot) -> None:
    form = make_form(qtbot, Settings, list(Settings.model_fields))
    seen: list[None] = []
    form.changed.connect(lambda: seen.append(None))
    form.set_values(Settings(max_parallel=9, notify=False))
    assert seen == []
    assert form.values()["max_parallel"] == 9
    notify = form.editor("notify")
    assert isinstance(notify, QCheckBox)
    notify.click()
    assert len(seen) == 1
    assert form.values()["notify"] is True


class Demo(BaseModel):
    slug: str = Field("ok", pattern=r"^[a-z]+$", description="lower-case letters")
    words: list[str] = Field(default_factory=list, json_schema_extra={"split": "shell"})
    when: Path = Path()


def test_validation_errors_show_next_to_the_field_not_raise(qtbot: QtBot) -> None:
    form = make_form(qtbot, Demo, ["slug", "words"])
    slug = form.editor("slug")
    assert isinstance(slug, QLineEdit)
    qtbot.keyClicks(slug, "Not OK")
    assert form.validate() is None
    assert "pattern" in form.error("slug")
    assert form.error("words") == ""
    # Editing the field clears its error; a valid value validates.
    slug.clear()
    qtbot.keyClicks(slug, "fine")
    assert form.error("slug") == ""
    assert form.validate() == Demo(slug="fine")

    form.editor("words").setText("'unclosed")
    assert form.validate() is None
    assert "closing quotation" in form.error("words")
    form.show_error("elsewhere", "not a field of this form")
    assert form.error() == "not a field of this form"
    form.clear_errors()
    assert form.error("words") == form.error() == ""


def test_a_type_without_an_editor_is_refused_when_building(qtbot: QtBot) -> None:
    with pytest.raises(TypeError, match=r"Demo\.when"):
        ModelForm(Demo, ["when"])


def test_error_labels_take_their_red_from_the_palette(qtbot: QtBot) -> None:
    label = ErrorLabel()
    qtbot.addWidget(label)
    light = label.palette().color(QPalette.ColorRole.WindowText)
    assert light == danger(label.palette())
    dark = QPalette(label.palette())
    dark.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    label.setPalette(dark)
    recomputed = label.palette().color(QPalette.ColorRole.WindowText)
    assert recomputed == danger(dark) != light
    label.show_message("")
    assert label.isHidden()
    label.show_message("broken")
    assert not label.isHidden()
