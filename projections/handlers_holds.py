"""Handlers for hold orders (``evidence/model/holds.py``): the legal act behind each hold.

A segment's own holds (``Segment.HoldPlaced`` …) feed the ``holds`` view; the order they come
from is a view of its own, so an inspector sees why segments outlived their deadline: the
basis, the scope (cameras and time ranges), every extension and the release.
"""

from __future__ import annotations

from typing import Any

from projections.apply import Projector, dumps, handles, s


@handles("scelle:HoldOrder.Placed")
def order_placed(p: Projector, nid: int, e: Any) -> None:
    p.append(
        "hold_orders",
        s(e.originator_id),
        e.kind,
        e.reference,
        e.legal_basis,
        e.authority,
        [str(c) for c in e.camera_ids],
        dumps([[a.isoformat(), b.isoformat()] for a, b in e.ranges]),
        e.expires_at,
        s(e.actor_id),
        e.timestamp,
        None,
        None,
        None,
        nid,
    )


@handles("scelle:HoldOrder.SegmentsHeld")
def order_segments(p: Projector, nid: int, e: Any) -> None:
    order = s(e.originator_id)
    for segment_id in e.segment_ids:
        p.append("hold_order_segments", order, s(segment_id), e.timestamp, nid)


@handles("scelle:HoldOrder.Extended")
def order_extended(p: Projector, nid: int, e: Any) -> None:
    p.append(
        "hold_order_expiry",
        s(e.originator_id),
        e.expires_at,
        s(e.actor_id),
        e.reason,
        e.timestamp,
        nid,
    )


@handles("scelle:HoldOrder.Released")
def order_released(p: Projector, nid: int, e: Any) -> None:
    p.direct(
        "UPDATE hold_orders SET released_at = ?, released_by = ?, release_reason = ? "
        "WHERE order_id = ? AND released_at IS NULL",
        [e.timestamp, s(e.actor_id), e.reason, s(e.originator_id)],
    )
