"""What every command shares: settings from the global options, and French error output."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from uuid import UUID

import typer
from rich.console import Console

from evidence.bootstrap import System, open_system
from evidence.config import Settings
from evidence.ledger.log import LedgerError
from evidence.model.errors import DomainError

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False)

USAGE_ERROR = 2


@dataclass
class CliState:
    data: Path
    database_url: str | None

    def settings(self) -> Settings:
        return Settings(data=self.data, database_url=self.database_url)


def state(ctx: typer.Context) -> CliState:
    found = ctx.find_root().obj
    assert isinstance(found, CliState)
    return found


def fail(message: str, code: int = USAGE_ERROR) -> typer.Exit:
    errors.print(f"[bold red]ERREUR[/] {message}")
    return typer.Exit(code)


def parse_uuid(text: str, what: str) -> UUID:
    """An identifier given on the command line, refused with a French usage error."""
    try:
        return UUID(text)
    except ValueError:
        raise fail(f"{what} {text!r} : identifiant invalide") from None


def parse_instant(text: str) -> datetime:
    """ISO 8601 date or instant; without an offset it is UTC."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise fail(
            f"date invalide : {text!r} (attendu AAAA-MM-JJ ou AAAA-MM-JJTHH:MM[:SS][+HH:MM])"
        ) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


class StopFlag:
    """Set by SIGINT or SIGTERM: long-running commands finish their step and stop."""

    def __init__(self) -> None:
        self.requested = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


@contextmanager
def opened(ctx: typer.Context) -> Iterator[System]:
    """Open the archive for one command; domain refusals become readable French errors."""
    try:
        system = open_system(state(ctx).settings())
    except LedgerError as exc:
        raise fail(str(exc)) from None
    try:
        yield system
    except DomainError as exc:
        raise fail(exc.message_fr, 1) from None
    finally:
        system.close()
