"""What every request needs, wired once per application from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api.identity.passwords import Passwords
from api.identity.ratelimit import RateLimiter
from api.identity.store import CredentialStore
from api.listing import Listings
from api.playback import Tickets
from api.settings import ApiSettings
from evidence.bootstrap import System, open_system
from evidence.config import Settings


def credentials_path(settings: Settings) -> Path:
    return settings.data / "api" / "credentials.sqlite"


@dataclass
class ApiContext:
    settings: Settings
    api: ApiSettings
    system: System
    credentials: CredentialStore
    passwords: Passwords
    limiter: RateLimiter
    listings: Listings
    tickets: Tickets
    owns_system: bool

    @classmethod
    def build(
        cls, settings: Settings, system: System | None = None, api: ApiSettings | None = None
    ) -> ApiContext:
        api = api or ApiSettings()
        owns = system is None
        system = system or open_system(settings)

        return cls(
            settings=settings,
            api=api,
            system=system,
            credentials=CredentialStore(credentials_path(settings)),
            passwords=Passwords(api.argon2_time_cost, api.argon2_memory_kib),
            limiter=RateLimiter(api.login_rate_per_minute),
            listings=Listings(system),
            tickets=Tickets(settings.data / "api" / "ticket.key"),
            owns_system=owns,
        )

    def close(self) -> None:
        self.credentials.close()
        self.listings.close()
        if self.owns_system:
            self.system.close()
