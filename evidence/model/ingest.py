"""Files refused at intake: each refusal is a fact, so nothing a camera sent goes unaccounted."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event


class QuarantinedFile(Aggregate):
    """A file moved to quarantine with its reason; one aggregate per file, no contention."""

    TOPIC = "scelle:QuarantinedFile"

    class Created(Aggregate.Created):
        TOPIC = "scelle:QuarantinedFile.Created"  # declared for the library; never stored

    @event("Recorded", topic="scelle:QuarantinedFile.Recorded")
    def __init__(
        self,
        source_name: str,
        camera_code: str | None,
        reason_code: str,
        reason_fr: str,
        detail: str | None,
        size: int,
        sha256: str | None,
        quarantine_name: str,
        at: datetime,
    ) -> None:
        self.source_name = source_name
        self.reason_code = reason_code
