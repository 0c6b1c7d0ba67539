"""notifications' own settings (CRM_NOTIFY_*): providers, throttling, the unsubscribe secret."""

from __future__ import annotations

from email.utils import parseaddr

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_NOTIFY_", extra="ignore")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS before sending.")
    smtp_use_tls: bool = Field(default=False, description="Implicit TLS (port 465).")
    smtp_timeout_seconds: float = 30.0
    smtp_connections: int = Field(default=4, description="SMTP connections kept open by each replica.")
    mail_from: str = "CRM <noreply@crm.example.ua>"
    message_id_domain: str = "crm.example.ua"

    sms_api_url: str = "http://127.0.0.1:9000/api/v1"
    sms_api_key: SecretStr = SecretStr("dev-sms-key")
    sms_sender: str = "CRM"
    sms_webhook_token: SecretStr = SecretStr("dev-sms-webhook-token")
    sms_timeout_seconds: float = 10.0

    public_base_url: str = Field(
        default="http://127.0.0.1:8086", description="Where this service's HTTP routes are reachable by recipients."
    )
    unsubscribe_secret: SecretStr = SecretStr("dev-only-unsubscribe-secret-change-me")

    bounce_host: str = Field(default="0.0.0.0", description="Where the inbound SMTP listener for bounces binds.")
    bounce_port: int = Field(default=2525, description="Port of the inbound SMTP listener receiving bounce reports.")
    bounce_domain: str = Field(
        default="",
        description="Domain of the VERP bounce addresses (MX pointing at the listener); default: mail_from's.",
    )

    email_rate_per_second: float = 200.0
    email_burst: int = 200
    sms_rate_per_second: float = 20.0
    sms_burst: int = 20
    sender_batch: int = 50
    handover_durable: bool = Field(
        default=True,
        description=(
            "Wait for PostgreSQL's disk when the ledger records a hand-over. Off is faster and still never "
            "re-sends after a crash of this service, but a crash of PostgreSQL itself within its WAL writer "
            "delay (~200 ms) could send those messages again."
        ),
    )
    sender_loops: int = Field(default=1, description="Sender loops per channel per replica.")
    sender_poll_seconds: float = 0.2
    lease_seconds: float = 60.0
    retry_base_seconds: float = 1.0

    @property
    def bounce_domain_or_default(self) -> str:
        return self.bounce_domain or parseaddr(self.mail_from)[1].rpartition("@")[2] or "localhost"
