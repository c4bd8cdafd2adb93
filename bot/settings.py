"""Typed settings from the environment and `.env` (CONTRACT.md "Configuration")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from adapters.persistence.engine import DEFAULT_URL
from adapters.secrets import SecretBox, SecretsUnavailable

ASYNC_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_URL, alias="DATABASE_URL")
    locale: Literal["en", "de", "fr", "it", "ar"] = Field("en", alias="LAUREL_LOCALE")
    log_format: Literal["console", "json"] = Field("console", alias="LAUREL_LOG_FORMAT")
    auto_migrate: bool = Field(True, alias="LAUREL_AUTO_MIGRATE")
    host: str = Field("0.0.0.0", alias="HOST")
    port: int = Field(3000, alias="PORT", ge=1, le=65535)
    slack_bot_token: str | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    slack_client_id: str | None = Field(None, alias="SLACK_CLIENT_ID")
    slack_client_secret: str | None = Field(None, alias="SLACK_CLIENT_SECRET")
    secret_keys: str | None = Field(None, alias="LAUREL_SECRET_KEYS")

    @property
    def slack_oauth(self) -> bool:
        """Multi-workspace install (SLACK_CLIENT_ID and _SECRET) instead of one bot token."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and (self.slack_bot_token or self.slack_oauth))

    @model_validator(mode="after")
    def _oauth_needs_keys(self) -> Settings:
        if self.slack_oauth and not self.secret_keys:
            raise ValueError("LAUREL_SECRET_KEYS must be set to store Slack installations")
        if self.secret_keys:
            SecretBox.from_setting(self.secret_keys)  # fails here, not at the first install
        return self

    @field_validator("slack_app_token")
    @classmethod
    def _app_level_token(cls, value: str | None) -> str | None:
        if value and not value.startswith("xapp-"):
            raise ValueError("an app-level token starts with xapp-")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL") from None
        if url.drivername not in ASYNC_DRIVERS:
            raise ValueError(f"use one of {', '.join(sorted(ASYNC_DRIVERS))}, not {url.drivername}")
        return value


class ConfigurationError(Exception):
    """One line that says what is wrong with the configuration."""


def load_settings() -> Settings:
    try:
        return Settings()
    except SecretsUnavailable as error:
        raise ConfigurationError(str(error)) from None
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        raise ConfigurationError(f"{name}: {first['msg'].removeprefix('Value error, ')}") from None
