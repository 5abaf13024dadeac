"""The one place that wires the archive together from settings (cosmicpython's bootstrap)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from evidence.application import Archives
from evidence.clock import Clock
from evidence.config import Settings
from evidence.content.blobs import BlobStore, FilesystemBlobStore
from evidence.content.keys import KeyTable
from evidence.content.s3 import S3BlobStore
from evidence.content.vault import ContentVault
from evidence.ledger.log import Ledger, LedgerError, create_log_key
from evidence.ledger.note import Signer, Verifier
from evidence.ledger.recorder import (
    SEALING_POSTGRES_RECORDER_TOPIC,
    SEALING_RECORDER_TOPIC,
    SealingPostgresRecorder,
    SealingSQLiteRecorder,
)
from evidence.ledger.store import LedgerDB, PostgresLedgerDB, SQLiteLedgerDB


class NotInitialised(LedgerError):
    """The data directory has no log key yet: run ``scelle init``."""


def ledger_db(settings: Settings) -> LedgerDB:
    if settings.database_url:
        return PostgresLedgerDB(settings.database_url)
    return SQLiteLedgerDB(str(settings.events_path))


def init_data_dir(settings: Settings, origin: str | None = None) -> str:
    """Create the data directory, the log key and the tables; return the log's vkey."""
    settings.data.mkdir(parents=True, exist_ok=True)
    settings.checkpoints_dir.mkdir(exist_ok=True)
    origin = origin or f"scelle.local/csu-{secrets.token_hex(4)}"
    vkey = create_log_key(settings.log_skey_path, settings.log_vkey_path, origin)
    system = open_system(settings, create_tables=True)
    try:
        system.ledger.checkpoint()  # the empty tree, signed: the log is anchored from birth
    finally:
        system.close()
    return vkey


def read_verifier(path: Path) -> Verifier:
    try:
        return Verifier.from_vkey(path.read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        raise NotInitialised(
            f"no log key in {path.parent}: run 'scelle init' first",
        ) from None


def content_vault(settings: Settings) -> ContentVault:
    """Filesystem by default; an S3-protocol bucket when ``s3_bucket`` is set."""
    keys = KeyTable(settings.keys_dir / "keys.sqlite", settings.keys_dir)
    blobs: BlobStore
    if settings.s3_bucket:
        import boto3

        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url)
        blobs = S3BlobStore(settings.s3_bucket, client, prefix=settings.s3_prefix)
    else:
        blobs = FilesystemBlobStore(settings.blobs_dir)
    return ContentVault(keys, blobs)


@dataclass
class System:
    settings: Settings
    archives: Archives
    ledger: Ledger
    _vault: ContentVault | None = None

    @property
    def vault(self) -> ContentVault:
        """Opened on first use: verifying or checkpointing never needs the content keys."""
        if self._vault is None:
            self._vault = content_vault(self.settings)
        return self._vault

    def close(self) -> None:
        self.archives.close()
        self.ledger.db.close()
        if self._vault is not None:
            self._vault.keys.close()


def open_system(
    settings: Settings,
    clock: Clock | None = None,
    embedded_sealing: bool | None = None,
    create_tables: bool = False,
) -> System:
    """Open the archive. Each save seals its events inside its own transaction (both
    backends), unless settings or ``embedded_sealing=False`` leave it to a follower."""
    verifier = read_verifier(settings.log_vkey_path)
    signer = None
    if settings.log_skey_path.exists():
        signer = Signer.from_skey(settings.log_skey_path.read_text(encoding="utf-8").strip())
    db = ledger_db(settings)
    seal_now = settings.seal_in_transaction if embedded_sealing is None else embedded_sealing
    env = settings.eventsourcing_env()
    # Tables are created once, by 'scelle init': writers opening together must not race on
    # the schema (PostgreSQL refuses concurrent CREATE OR REPLACE FUNCTION).
    env["CREATE_TABLE"] = "y" if create_tables else "n"
    if seal_now:
        env["APPLICATION_RECORDER_TOPIC"] = (
            SEALING_POSTGRES_RECORDER_TOPIC if settings.uses_postgres else SEALING_RECORDER_TOPIC
        )
    archives = Archives(env=env, clock=clock)
    if create_tables:
        db.ensure_schema()
    ledger = Ledger(db, verifier, signer, settings.checkpoints_dir)
    if isinstance(archives.recorder, SealingSQLiteRecorder | SealingPostgresRecorder):
        archives.recorder.sealer = ledger.sealer  # sealed inside each save's transaction
    return System(settings, archives, ledger)
