"""The demo's capability steps: each capability appends its own step here.

A step gets the demo's state after the cameras have recorded and the first facts are in, and
runs before the final checkpoint and the full verification, so that everything it writes is
verified too. Keep each step short (seconds): ``make demo`` must stay quick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from evidence.bootstrap import System
from evidence.config import Settings


@dataclass
class DemoRun:
    """What the steps share: the open system, the recorded segments, the demo's start time."""

    settings: Settings
    system: System
    segments: list[UUID]
    start: datetime
    extras: dict[str, Any] = field(default_factory=dict)


#: (title printed in French, step). Steps run in this order.
CAPABILITY_STEPS: list[tuple[str, Callable[[DemoRun], None]]] = []
