"""Settings, built once by a factory from the environment and the command line."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable; environment variables are prefixed ``SCELLE_``."""

    model_config = SettingsConfigDict(env_prefix="SCELLE_", extra="ignore")

    data: Path = Field(default=Path("var/scelle"), description="data directory")
    database_url: str | None = Field(
        default=None,
        description="postgresql://user@host:port/db for scale-out; SQLite in the data "
        "directory when unset",
    )
    default_retention_days: int = Field(default=15, ge=1, le=30)
    clock_drift_threshold_seconds: float = Field(
        default=2.0, gt=0, description="camera clock vs recorder clock, above which it is flagged"
    )
    max_segment_bytes: int = Field(default=4 * 1024**3, gt=0)
    seal_in_transaction: bool = Field(
        default=True,
        description="seal inside each save's transaction; false leaves it to 'scelle seal "
        "--follow' (a writer node that must not wait on the ledger)",
    )
    s3_bucket: str | None = Field(
        default=None, description="S3 bucket for content; filesystem if unset"
    )
    s3_endpoint_url: str | None = Field(default=None, description="MinIO, Ceph RGW… endpoint")
    s3_prefix: str = ""

    @property
    def events_path(self) -> Path:
        return self.data / "events.sqlite"

    @property
    def keys_dir(self) -> Path:
        return self.data / "keys"

    @property
    def blobs_dir(self) -> Path:
        return self.data / "blobs"

    @property
    def quarantine_dir(self) -> Path:
        return self.data / "quarantine"

    @property
    def log_skey_path(self) -> Path:
        return self.keys_dir / "log.skey"

    @property
    def log_vkey_path(self) -> Path:
        return self.data / "log.vkey"

    @property
    def checkpoints_dir(self) -> Path:
        """Copies of every checkpoint outside the database, to catch a rolled-back database."""
        return self.data / "checkpoints"

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url)

    def eventsourcing_env(self) -> dict[str, str]:
        """The ``eventsourcing`` library's configuration for the chosen backend."""
        if not self.database_url:
            return {
                # the library's SQLite factory, keeping prepared statements per connection
                "PERSISTENCE_MODULE": "evidence.ledger.sqlite_factory:CachingSQLiteFactory",
                "SQLITE_DBNAME": str(self.events_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        url = urlparse(self.database_url)
        if url.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"unsupported database URL scheme {url.scheme!r}")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
        }
