"""claims' own settings (CRM_CLAIMS_*), beside the platform's CRM_* ones."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _state_dir() -> Path:
    return Path(os.environ.get("CRM_STATE_DIR", Path.cwd() / ".local"))


class ClaimsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_CLAIMS_", extra="ignore")

    files_dir: Path = Field(
        default_factory=lambda: _state_dir() / "claims" / "files",
        description="The local storage's directory; under the state directory (CRM_STATE_DIR) by default.",
    )
    max_file_bytes: int = Field(default=25 * 1024 * 1024, description="The largest file a claim accepts.")
    chunk_bytes: int = Field(default=256 * 1024, description="Size of the chunks a download is streamed in.")
