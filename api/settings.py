"""The API's own settings (prefix ``SCELLE_API_``), built once by a factory, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Identity, session and background-work settings for ``scelle serve``."""

    model_config = SettingsConfigDict(env_prefix="SCELLE_API_", extra="ignore")

    token_ttl_seconds: int = Field(default=900, ge=30, le=86_400, description="token lifetime")
    ticket_ttl_seconds: int = Field(default=600, ge=10, le=3_600, description="playback ticket")
    lockout_failures: int = Field(default=5, ge=1, description="failures before lock-out")
    lockout_seconds: int = Field(default=900, ge=1)
    login_rate_per_minute: int = Field(
        default=20, ge=1, description="login attempts per client address per minute"
    )
    secure_cookies: bool = Field(default=True, description="session cookie only over HTTPS")
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65_536, ge=8)
    purge_interval_seconds: float = Field(
        default=300.0, gt=0, description="seconds between two purge passes"
    )
    projection_interval_seconds: float = Field(
        default=1.0, gt=0, description="seconds between two catch-ups of the DuckDB views"
    )
    seal_interval_seconds: float = Field(default=1.0, gt=0)
    watch_folder: Path | None = Field(default=None, description="watch folder to ingest")
    watch_camera: str | None = Field(default=None, description="camera of the watch folder")
    watch_interval_seconds: float = Field(default=5.0, gt=0)
