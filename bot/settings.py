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
