"""The domain model: aggregates and their past-tense events.

Every event class carries an explicit, stable topic (``scelle:<Aggregate>.<Event>``) so that
the log stays readable decades later whatever the module layout becomes. Events hold metadata
only: ids, times, hashes, actor ids, purposes and legal references — never an image and never
a citizen's name in clear.
"""

from evidence.model.access import AccessDenial, AccessRequest, Mission
from evidence.model.camera import Camera, Commune, PrivacyZone
from evidence.model.errors import DomainError
from evidence.model.ingest import QuarantinedFile
from evidence.model.judicial import Export, Requisition, TimeRange
from evidence.model.security import User
from evidence.model.segment import Hold, Segment

__all__ = [
    "AccessDenial",
    "AccessRequest",
    "Camera",
    "Commune",
    "DomainError",
    "Export",
    "Hold",
    "Mission",
    "PrivacyZone",
    "QuarantinedFile",
    "Requisition",
    "Segment",
    "TimeRange",
    "User",
]
