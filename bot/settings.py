"""Typed settings from the environment and `.env` (CONTRACT.md "Configuration")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from adapters.persistence.engine import DEFAULT_URL

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

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

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
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        raise ConfigurationError(f"{name}: {first['msg'].removeprefix('Value error, ')}") from None
