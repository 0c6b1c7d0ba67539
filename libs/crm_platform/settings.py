"""Settings read from the environment (``CRM_*``), one process = one service."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    service: str = Field(description="The service's name: partners, deals, ...")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; the local stack's crm_<service> database when unset.",
    )
    database_pool_size: int = 10
    kafka_bootstrap: str = "127.0.0.1:19092"
    kafka_group_id: str | None = Field(default=None, description="Consumer group; the service's name when unset.")
    kafka_create_topics: bool = Field(
        default=True, description="Create missing topics at start; off where an operator owns them."
    )
    kafka_topic_partitions: int = 3
    kafka_topic_replication: int = Field(default=1, description="3 on a production cluster.")
    redis_url: str = "redis://127.0.0.1:56379/0"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    jwt_secret: SecretStr = SecretStr("dev-only-secret-change-me-in-production-32b")
    jwt_issuer: str = "crm-platform"
    log_level: str = "INFO"
    profile_to: str | None = Field(
        default=None, description="Diagnostics: run under cProfile and write the stats to this file on shutdown."
    )
    shutdown_grace_seconds: float = 20.0
    outbox_poll_seconds: float = Field(
        default=0.05, description="How often the outbox relay looks for events while they keep coming."
    )
    outbox_idle_poll_seconds: float = Field(
        default=1.0,
        description="The slowest poll when idle; bounds how late an event committed by another replica is sent.",
    )
    outbox_batch_size: int = 500
    consumer_max_attempts: int = 5
    consumer_backoff_seconds: float = 0.2

    partners_addr: str = "127.0.0.1:50051"
    deals_addr: str = "127.0.0.1:50052"
    interactions_addr: str = "127.0.0.1:50053"
    claims_addr: str = "127.0.0.1:50054"
    pricing_addr: str = "127.0.0.1:50055"
    notifications_addr: str = "127.0.0.1:50056"

    @property
    def db_url(self) -> str:
        return self.database_url or f"postgresql+asyncpg://crm:crm@127.0.0.1:55432/crm_{self.service}"

    @property
    def group_id(self) -> str:
        return self.kafka_group_id or self.service
