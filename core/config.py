"""Settings from the environment (`DESKPILOT_` prefix) with sensible standalone defaults."""

from __future__ import annotations

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
