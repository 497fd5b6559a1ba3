"""Settings from the environment (`DESKPILOT_` prefix) with sensible standalone defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide configuration; workspace AI access toggles live in the database instead."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_", extra="ignore")

    database_url: str = "sqlite:///./deskpilot.db"
    secret_key: SecretStr = SecretStr("dev-only-change-me")
    llm_model: str = "offline"
    llm_api_base: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(30.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, le=10)
    llm_temperature: float = Field(0.3, ge=0, le=2)
    llm_context_window: int = Field(8192, ge=512)
    ai_redact_pii: bool = True
    ai_language: str | None = None
    max_email_bytes: int = Field(10_000_000, gt=0)
    split_allow_chat: bool = False
    retention_days: int = Field(90, ge=1)
    purge_interval_seconds: int = Field(3600, ge=0)
    mount_prefix: str = "/helpdesk"
    # Outbound email. Without smtp_host, replies wait in the queue ("SMTP is not configured").
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "deskpilot@localhost"
    smtp_timeout: float = Field(30.0, gt=0)
    smtp_max_attempts: int = Field(3, ge=1, le=20)
    smtp_retry_backoff: float = Field(2.0, ge=0)  # seconds before the 2nd attempt; x4 for each later one
    mail_queue_interval_seconds: int = Field(60, ge=0)  # rescan for queued replies (0: only when kicked)
    # Attachments.
    attachments_store: Literal["disk", "database"] = "disk"
    attachments_dir: str = "./deskpilot-attachments"
    max_attachment_bytes: int = Field(10_000_000, gt=0)
    attachment_allowed_types: list[str] = Field(default_factory=lambda: [
        "image/png", "image/jpeg", "image/gif", "application/pdf", "application/zip", "text/plain",
    ])
