"""claims' own settings (CRM_CLAIMS_*), beside the platform's CRM_* ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from claims.s3_storage import MIN_PART, S3Location


def _state_dir() -> Path:
    return Path(os.environ.get("CRM_STATE_DIR", Path.cwd() / ".local"))


class ClaimsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_CLAIMS_", extra="ignore")

    storage: Literal["local", "s3"] = Field(
        default="local", description="Where files' bytes live: a local directory, or an S3-compatible bucket."
    )
    files_dir: Path = Field(
        default_factory=lambda: _state_dir() / "claims" / "files",
        description="The local storage's directory; under the state directory (CRM_STATE_DIR) by default.",
    )
    max_file_bytes: int = Field(default=25 * 1024 * 1024, description="The largest file a claim accepts.")
    chunk_bytes: int = Field(default=256 * 1024, description="Size of the chunks a download is streamed in.")

    s3_bucket: str = Field(default="", description="The bucket (required with storage=s3); it must exist.")
    s3_endpoint_url: str = Field(
        default="", description="An S3-compatible server's URL (MinIO, Ceph); empty for AWS S3 itself."
    )
    s3_region: str = Field(default="", description="The bucket's region; empty for botocore's default.")
    s3_access_key_id: str = Field(
        default="", description="Empty to use botocore's own chain (AWS_* variables, web identity)."
    )
    s3_secret_access_key: SecretStr = Field(default=SecretStr(""), description="Pairs with s3_access_key_id.")
    s3_addressing_style: Literal["auto", "path", "virtual"] = Field(
        default="auto", description="path for most self-hosted servers, virtual or auto for AWS."
    )
    s3_prefix: str = Field(default="", description="A key prefix, to share a bucket with others.")
    s3_part_bytes: int = Field(
        default=8 * 1024 * 1024, ge=MIN_PART, description="Multipart upload part size; smaller files use one PUT."
    )

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> ClaimsSettings:
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("CRM_CLAIMS_S3_BUCKET is required when CRM_CLAIMS_STORAGE=s3")
        if bool(self.s3_access_key_id) != bool(self.s3_secret_access_key.get_secret_value()):
            raise ValueError("CRM_CLAIMS_S3_ACCESS_KEY_ID and CRM_CLAIMS_S3_SECRET_ACCESS_KEY go together")
        return self

    def s3_location(self) -> S3Location:
        return S3Location(
            bucket=self.s3_bucket,
            endpoint_url=self.s3_endpoint_url or None,
            region=self.s3_region or None,
            access_key_id=self.s3_access_key_id or None,
            secret_access_key=self.s3_secret_access_key.get_secret_value() or None,
            addressing_style=self.s3_addressing_style,
            prefix=self.s3_prefix,
            part_bytes=self.s3_part_bytes,
        )
