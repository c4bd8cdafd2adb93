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
    microsoft_app_id: str | None = Field(None, alias="MicrosoftAppId")
    microsoft_app_password: str | None = Field(None, alias="MicrosoftAppPassword")
    microsoft_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = Field(
        "MultiTenant", alias="MicrosoftAppType"
    )
    microsoft_app_tenant_id: str | None = Field(None, alias="MicrosoftAppTenantId")
    teams_insecure_dev: bool = Field(False, alias="LAUREL_TEAMS_INSECURE_DEV")
    teams_tenants: str | None = Field(None, alias="LAUREL_TEAMS_TENANTS")
    scim_token: str | None = Field(None, alias="LAUREL_SCIM_TOKEN")
    hrms_csv: str | None = Field(None, alias="LAUREL_HRMS_CSV")
    hrms_url: str | None = Field(None, alias="LAUREL_HRMS_URL")
    hrms_token: str | None = Field(None, alias="LAUREL_HRMS_TOKEN")
    admins_setting: str | None = Field(None, alias="LAUREL_ADMINS")

    @property
    def slack_oauth(self) -> bool:
        """Multi-workspace install (SLACK_CLIENT_ID and _SECRET) instead of one bot token."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and (self.slack_bot_token or self.slack_oauth))

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id) or self.teams_insecure_dev

    @property
    def admins(self) -> tuple[str, ...]:
        """LAUREL_ADMINS: the e-mail addresses that hold the HR-admin role from the start."""
        return tuple(
            e.strip().casefold() for e in (self.admins_setting or "").split(",") if e.strip()
        )

    @property
    def allowed_tenants(self) -> frozenset[str]:
        """Empty: every tenant may talk to laurel."""
        return frozenset(t.strip() for t in (self.teams_tenants or "").split(",") if t.strip())

    @model_validator(mode="after")
    def _teams_auth_is_unambiguous(self) -> Settings:
        if self.teams_insecure_dev and self.microsoft_app_id:
            raise ValueError(
                "LAUREL_TEAMS_INSECURE_DEV=1 turns authentication off; unset it when "
                "MicrosoftAppId is set"
            )
        if not self.microsoft_app_id:
            return self
        kind = self.microsoft_app_type
        if kind != "MultiTenant" and not self.microsoft_app_tenant_id:
            raise ValueError(f"MicrosoftAppType={kind} needs MicrosoftAppTenantId")
        if kind != "UserAssignedMSI" and not self.microsoft_app_password:
            raise ValueError("MicrosoftAppId needs MicrosoftAppPassword (the client secret)")
        return self

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
