"""Hold use cases, mixed into ``Archives``: place, extend, release, and judicial holds.

A hold order and the ``HoldPlaced`` events of every segment in its scope are saved in one
transaction, so an order never exists half-applied. Segments in scope are found through the
due index, then each is re-read: a segment whose purge has begun is never reported as held
(its key may already be gone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from evidence.model.access import AccessRequest
from evidence.model.errors import InvalidState, RuleViolation
from evidence.model.holds import HoldOrder, hold_order_id
from evidence.model.segment import Segment
from evidence.retention.index import DueIndex, index_path


class RetentionCases:
    """Use cases on holds. Expects to be mixed into ``Archives`` (clock, save, getters)."""

    _retention_index: DueIndex | None = None

    def retention_index(self) -> DueIndex:
        """The due index, caught up with the log (opened on first use)."""
        if self._retention_index is None:
            self._retention_index = DueIndex(index_path(self))
        self._retention_index.catch_up(self)
        return self._retention_index

    def hold_order(self, order_id: UUID) -> HoldOrder:
        app: Any = self
        found: HoldOrder = app._get(HoldOrder, order_id, "conservation")
        return found

    def place_hold(
        self,
        kind: str,
        reference: str,
        camera_codes: list[str],
        ranges: list[tuple[datetime, datetime]],
        expires_at: datetime,
        actor_id: UUID,
        legal_basis: str | None = None,
        authority: str | None = None,
        access_request_id: UUID | None = None,
        key: str | None = None,
    ) -> UUID:
        """Place a hold with its legal basis on every live segment in scope; return its id."""
        app: Any = self
        if kind == "access_request":
            reference = self._pending_request(access_request_id)
        cameras = [app.camera(code).id for code in camera_codes]
        now = app.clock.now()
        order = HoldOrder.place(
            key=key or uuid4().hex,
            kind=kind,
            reference=reference,
            legal_basis=legal_basis,
            authority=authority,
            camera_ids=cameras,
            ranges=[[start, end] for start, end in ranges],
            expires_at=expires_at,
            actor_id=actor_id,
            placed_at=now,
        )
        segments = self._hold_in_scope(order, actor_id, now)
        try:
            app.save(order, *segments)
        except IntegrityError:
            raise InvalidState(
                f"hold {order.id} already exists or a segment changed meanwhile",
                "Cette conservation existe déjà, ou un segment a changé entre-temps : réessayez.",
            ) from None
        return order.id

    def extend_hold(
        self, order_id: UUID, expires_at: datetime, actor_id: UUID, reason: str
    ) -> None:
        """Push back the expiry of an order in force and of each segment it holds."""
        app: Any = self
        order = self.hold_order(order_id)
        now = app.clock.now()
        order.extend(expires_at, actor_id, reason, now)
        segments = []
        for segment in self._held_by(order, now):
            segment.extend_hold(str(order.id), expires_at, actor_id, reason, now)
            segments.append(segment)
        app.save(order, *segments)

    def release_hold(self, order_id: UUID, actor_id: UUID, reason: str) -> None:
        """Lift an order: the next purge run destroys what is past its deadline."""
        app: Any = self
        order = self.hold_order(order_id)
        now = app.clock.now()
        order.release(actor_id, reason, now)
        segments = []
        for segment in self._held_by(order, now):
            segment.lift_hold(str(order.id), actor_id, reason, now)
            segments.append(segment)
        app.save(order, *segments)

    def hold_for_requisition(
        self, requisition_id: UUID, actor_id: UUID, expires_at: datetime
    ) -> list[UUID]:
        """Judicial hold over a requisition's cameras and ranges; return the segments held.

        Idempotent: one order per requisition. Called again, it holds segments recorded in
        scope since, and extends the order if ``expires_at`` is later.
        """
        app: Any = self
        requisition = app.requisition(requisition_id)
        if requisition.closed:
            raise InvalidState(
                f"requisition {requisition_id} is closed",
                "La réquisition est close : aucune conservation ne peut s'y rattacher.",
            )
        key = f"requisition:{requisition_id}"
        try:
            order: HoldOrder = app.repository.get(hold_order_id(key))
        except AggregateNotFoundError:
            codes = [app.repository.get(c).code for c in requisition.camera_ids]
            order_id = self.place_hold(
                "judicial",
                requisition.procedure_number,
                codes,
                [(r.start, r.end) for r in requisition.ranges],
                expires_at,
                actor_id,
                legal_basis=requisition.legal_basis,
                authority=requisition.authority,
                key=key,
            )
            return list(self.hold_order(order_id).segment_ids)
        now = app.clock.now()
        if order.in_force(now) and expires_at > order.expires_at:
            self.extend_hold(order.id, expires_at, actor_id, "prolongation pour la réquisition")
            order = self.hold_order(order.id)
        if order.in_force(now):
            late = self._hold_in_scope(order, actor_id, now)
            if late:
                app.save(order, *late)
        return list(order.segment_ids)

    def hold_if_in_scope(self, segment: Segment, now: datetime) -> HoldOrder | None:
        """Hold a segment recorded after an order in force whose scope covers it.

        The purge runner calls it before destroying anything; the caller saves both.
        """
        index = self._retention_index or self.retention_index()
        for order_id in index.orders_covering(segment.camera_id, segment.start, segment.end, now):
            order = self.hold_order(order_id)
            hold_id = str(order.id)
            covers = order.covers(segment.camera_id, segment.start, segment.end)
            if order.in_force(now) and covers and hold_id not in segment.holds:
                segment.place_hold(order.hold_for(hold_id), order.actor_id, now)
                order.record_segments([segment.id])
                return order
        return None

    # ------------------------------------------------------------------ helpers
    def _hold_in_scope(self, order: HoldOrder, actor_id: UUID, now: datetime) -> list[Segment]:
        app: Any = self
        index = self.retention_index()
        held: list[Segment] = []
        ranges = [(r.start, r.end) for r in order.ranges]
        hold_id = str(order.id)
        for segment_id in index.in_scope(order.camera_ids, ranges):
            segment: Segment = app.segment(segment_id)
            if segment.purged or segment.purge_started or hold_id in segment.holds:
                continue  # a purge under way cannot be undone: never report it as held
            if order.covers(segment.camera_id, segment.start, segment.end):
                segment.place_hold(order.hold_for(hold_id), actor_id, now)
                held.append(segment)
        if held:
            order.record_segments([s.id for s in held])
        return held

    def _held_by(self, order: HoldOrder, now: datetime) -> list[Segment]:
        app: Any = self
        segments = [app.segment(s) for s in order.segment_ids]
        hold_id = str(order.id)
        return [
            s
            for s in segments
            if not s.purged and hold_id in s.holds and s.holds[hold_id]["expires_at"] > now
        ]

    def _pending_request(self, request_id: UUID | None) -> str:
        app: Any = self
        if request_id is None:
            raise RuleViolation(
                "an access-request hold names the pending request",
                "Une conservation pour demande d'accès désigne la demande en cours.",
            )
        request: AccessRequest = app._get(AccessRequest, request_id, "demande d'accès")
        if request.closed:
            raise RuleViolation(
                f"access request {request_id} is closed",
                "La demande d'accès est close : elle ne justifie plus de conservation.",
            )
        return str(request_id)
