"""Requisitions and exports as use cases: scope, purges, four eyes, holds, and what is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.model.errors import InvalidState, RuleViolation
from evidence.model.security import user_id
from evidence.packages.build import produce_package
from evidence.packages.cases import OutOfScope, SegmentPurged
from tests.ingest_support import events
from tests.package_support import OFFICER, SUPERVISOR, Scene, approved_export, scene


@pytest.fixture
def s(tmp_path: Path) -> Scene:
    return scene(tmp_path, count=2, size=512)


def data_dir(s: Scene) -> Path:
    return s.system.settings.data


def purge(s: Scene, segment_id: object) -> None:
    """What the purge runner does: claim, shred the key and blobs, then record the purge."""
    archives = s.system.archives
    segment = archives.segment(segment_id)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    segment.start_purge(deadline=segment.deadline, started_at=now)
    archives.save(segment)
    s.system.vault.shred(segment.blob_id, [f"{segment.blob_id}.thumb"])
    segment.record_purge(
        deadline=segment.deadline,
        purged_at=now,
        lateness_seconds=0.0,
        key_destroyed=True,
        blobs_deleted=[segment.blob_id],
    )
    archives.save(segment)


def test_matching_segments_are_the_requisitions_cameras_and_ranges_only(s: Scene) -> None:
    found = s.system.archives.matching_segments(s.requisition_id)
    assert [m.segment_id for m in found] == s.segments
    assert not any(m.purged for m in found)


def test_approval_holds_every_covered_segment_with_a_judicial_hold(s: Scene) -> None:
    archives = s.system.archives
    held = archives.hold_requisition_segments(s.requisition_id, user_id(SUPERVISOR))
    assert sorted(held) == sorted(s.segments)
    for segment_id in s.segments:
        holds = archives.segment(segment_id).holds
        assert [h["kind"] for h in holds.values()] == ["judicial"]
        assert [h["reference"] for h in holds.values()] == ["2026/1121/042"]
    for segment_id in s.outside + s.other_camera:
        assert archives.segment(segment_id).holds == {}


def test_an_export_outside_the_requisition_is_refused_and_the_refusal_recorded(
    s: Scene,
) -> None:
    archives = s.system.archives
    before = len(events(data_dir(s), "scelle:Export.Requested"))
    with pytest.raises(OutOfScope) as refused:
        archives.request_requisition_export(
            s.requisition_id, user_id(OFFICER), [s.segments[0], s.outside[0]]
        )
    assert "hors des caméras ou des plages horaires" in refused.value.message_fr
    assert "2026/1121/042" in refused.value.message_fr
    denials = events(data_dir(s), "scelle:AccessDenial.Recorded")
    assert len(denials) == 1
    assert denials[0]["actor"] == str(user_id(OFFICER))
    assert denials[0]["action"] == "export.request"
    assert str(s.outside[0]) in denials[0]["target"]
    assert len(events(data_dir(s), "scelle:Export.Requested")) == before  # nothing else


def test_another_cameras_segment_is_out_of_scope_too(s: Scene) -> None:
    with pytest.raises(OutOfScope):
        s.system.archives.request_requisition_export(
            s.requisition_id, user_id(OFFICER), s.other_camera
        )


def test_exporting_a_purged_segment_is_refused_with_a_clear_message(s: Scene) -> None:
    purge(s, s.segments[0])
    archives = s.system.archives
    with pytest.raises(SegmentPurged) as refused:
        archives.request_requisition_export(s.requisition_id, user_id(OFFICER), s.segments)
    assert "a été détruit" in refused.value.message_fr
    assert "ne peut plus être exporté" in refused.value.message_fr
    # By default, only live segments are requested.
    export = archives.request_requisition_export(s.requisition_id, user_id(OFFICER))
    assert archives.export(export).segment_ids == s.segments[1:]


def test_a_segment_purged_after_approval_stops_the_production(s: Scene, tmp_path: Path) -> None:
    export = approved_export(s)
    purge(s, s.segments[1])
    with pytest.raises(SegmentPurged):
        produce_package(s.system, export, tmp_path / "out")
    assert not (tmp_path / "out" / f"scelle-export-{export}").exists()
    assert events(data_dir(s), "scelle:Export.Produced") == []


def test_an_unapproved_requisition_allows_no_export(tmp_path: Path) -> None:
    s = scene(tmp_path, count=1, size=64)
    archives = s.system.archives
    other = archives.register_requisition(
        "Parquet",
        "2026/9",
        "flagrance",
        ["CAM-1"],
        [(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))],
        user_id(OFFICER),
    )
    with pytest.raises(InvalidState):
        archives.request_requisition_export(other, user_id(OFFICER))


def test_four_eyes_on_the_export_and_no_production_before_approval(
    s: Scene, tmp_path: Path
) -> None:
    archives = s.system.archives
    export = archives.request_requisition_export(s.requisition_id, user_id(OFFICER))
    with pytest.raises(InvalidState):
        produce_package(s.system, export, tmp_path / "out")
    with pytest.raises(RuleViolation):
        archives.approve_export(export, user_id(OFFICER))
    with pytest.raises(InvalidState):
        archives.deliver_export(export, user_id(OFFICER), "Juge d'instruction", "main propre")


def test_production_delivery_and_download_are_each_an_event(s: Scene, tmp_path: Path) -> None:
    archives = s.system.archives
    export = approved_export(s)
    produced = produce_package(s.system, export, tmp_path / "out")
    archives.deliver_export(export, user_id(OFFICER), "Juge d'instruction", "main propre")
    archives.record_export_download(export, user_id("magistrat"), "10.0.0.7")
    data = data_dir(s)
    [fact] = events(data, "scelle:Export.Produced")
    assert fact["package_id"] == produced.package_id
    assert fact["manifest_sha256"] == produced.manifest_sha256
    assert fact["checkpoint_size"] == produced.checkpoint_size
    assert len(events(data, "scelle:Export.Delivered")) == 1
    assert len(events(data, "scelle:Export.Downloaded")) == 1
    exported = events(data, "scelle:Segment.Exported")
    assert sorted(e["originator_id"] for e in exported) == sorted(x.hex for x in s.segments)
    with pytest.raises(InvalidState):  # once produced, never twice
        produce_package(s.system, export, tmp_path / "out")
