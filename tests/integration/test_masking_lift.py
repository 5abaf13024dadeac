"""A privacy mask is lifted only under an approved requisition, with a second approver;
every refused attempt is recorded as an AccessDenial, and nothing else is."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from evidence.model.errors import DomainError
from evidence.model.security import user_id
from tests.builders import T0, new_store, record_segments, register_camera
from tests.ingest_support import topic_counts

OFFICER, CHIEF = user_id("opj.durand"), user_id("chef.salle")


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    system = new_store(tmp_path)
    register_camera(system, "CAM-1")
    segment = record_segments(system, "CAM-1", 1)[0]
    requisition = system.archives.register_requisition(
        "Parquet de Lyon",
        "2026/42",
        "flagrance",
        ["CAM-1"],
        [(T0, T0 + timedelta(hours=1))],
        OFFICER,
    )
    yield system, segment, requisition, tmp_path / "data"
    system.close()


def refused(system, data: Path, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    before = topic_counts(data)
    with pytest.raises(DomainError) as caught:
        system.archives.lift_mask(reason="identification", **kwargs)
    after = topic_counts(data)
    assert (
        after.get("scelle:AccessDenial.Recorded", 0)
        == before.get("scelle:AccessDenial.Recorded", 0) + 1
    )
    assert after.get("scelle:Segment.MaskLifted", 0) == before.get("scelle:Segment.MaskLifted", 0)
    assert after.get("scelle:MaskLiftRequest.Requested", 0) == before.get(
        "scelle:MaskLiftRequest.Requested", 0
    )
    return caught.value


def test_without_requisition_refused_and_recorded(store) -> None:  # type: ignore[no-untyped-def]
    system, segment, _, data = store
    error = refused(
        system,
        data,
        segment_id=segment,
        requisition_id=None,
        requested_by=OFFICER,
        approved_by=CHIEF,
    )
    assert "réquisition" in error.message_fr


def test_without_second_approver_refused_and_recorded(store) -> None:  # type: ignore[no-untyped-def]
    system, segment, requisition, data = store
    system.archives.approve_requisition(requisition, CHIEF)
    refused(
        system,
        data,
        segment_id=segment,
        requisition_id=requisition,
        requested_by=OFFICER,
        approved_by=None,
    )
    refused(
        system,
        data,
        segment_id=segment,
        requisition_id=requisition,
        requested_by=OFFICER,
        approved_by=OFFICER,
    )


def test_unapproved_requisition_refused_and_recorded(store) -> None:  # type: ignore[no-untyped-def]
    system, segment, requisition, data = store
    refused(
        system,
        data,
        segment_id=segment,
        requisition_id=requisition,
        requested_by=OFFICER,
        approved_by=CHIEF,
    )


def test_approved_requisition_and_second_person_lift_the_mask(store) -> None:  # type: ignore[no-untyped-def]
    system, segment, requisition, data = store
    system.archives.approve_requisition(requisition, CHIEF)
    system.archives.lift_mask(segment, requisition, OFFICER, CHIEF, "identification")
    counts = topic_counts(data)
    assert counts["scelle:Segment.MaskLifted"] == 1
    assert counts.get("scelle:AccessDenial.Recorded", 0) == 0
