"""The settings file: `settings.json` in the data dir, one pydantic model."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from seedbed.domain.errors import UserError
from seedbed.domain.models import Settings

SETTINGS_FILE = "settings.json"


def load_settings(data_dir: Path) -> Settings:
    """The saved settings, or the defaults when there are none yet."""
    path = data_dir / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return Settings.model_validate_json(text)
    except ValidationError as exc:
        raise UserError(f"{path} is not valid: {exc.errors()[0]['msg']}") from None


def save_settings(data_dir: Path, settings: Settings) -> None:
    """Write atomically: a crash mid-write leaves the old file, never half a new one."""
    path = data_dir / SETTINGS_FILE
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(settings.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
