"""The purge report: verified offline, names late and missing purges, rejects any alteration."""

from __future__ import annotations

import base64
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from evidence.bootstrap import System, init_data_dir, open_system
from evidence.clock import SimulatedClock
from evidence.config import Settings
from evidence.model.security import user_id
from evidence.retention.purge import PurgeRunner
from evidence.retention.report import build_purge_report
from tests.builders import T0, register_camera
from tests.retention_support import store_segments
from tools.verify_report import (
    CheckpointInvalid,
    EventsMissing,
    ProofInvalid,
    ReportAltered,
    ReportMalformed,
    read_report,
    verify_report,
)

DAY = timedelta(days=1)
PERIOD = (T0 - DAY, T0 + DAY)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def system(tmp_path: Path, clock: SimulatedClock) -> Iterator[System]:
    """Six segments: two purged on time, two held by a judicial order, two left pending."""
    settings = Settings(data=tmp_path / "data")
    init_data_dir(settings, "scelle.test/report")
    system = open_system(settings, clock=clock)
    register_camera(system, "CAM-1")
    store_segments(system, "CAM-1", 6, T0)
    system.archives.place_hold(
        "judicial",
        "2026/1121/042",
        ["CAM-1"],
        [(T0 + timedelta(minutes=2), T0 + timedelta(minutes=4))],
        T0 + 60 * DAY,
        user_id("opj"),
        legal_basis="information_judiciaire",
        authority="Juge d'instruction, TJ de Lyon",
    )
    clock.set(T0 + 15 * DAY + timedelta(minutes=2, seconds=10))
    PurgeRunner(system).run_once()
    try:
        yield system
    finally:
        system.close()


def report(system: System, tmp_path: Path, as_zip: bool = False) -> Path:
    out = tmp_path / ("report-zip" if as_zip else "report")
    return build_purge_report(system, "69266", *PERIOD, out, as_zip).path


def test_a_report_verifies_offline_with_each_segment_accounted_for(
    system: System, tmp_path: Path
) -> None:
    path = report(system, tmp_path)
    vkey = system.settings.log_vkey_path.read_text()
    verdict = verify_report(read_report(path), vkey)
    assert verdict.findings == []
    assert verdict.counts == {"purged": 2, "held": 2, "pending": 2}
    manifest = json.loads((path / "report.json").read_text())
    held = [s for s in manifest["segments"] if s["status"] == "held"]
    assert held[0]["holds"][0]["legal_basis"] == "information_judiciaire"
    zipped = report(system, tmp_path, as_zip=True)
    assert verify_report(read_report(zipped), vkey).counts == verdict.counts


def test_the_verifier_names_a_segment_purged_late_and_one_not_purged(
    system: System, clock: SimulatedClock, tmp_path: Path
) -> None:
    clock.advance(3 * DAY)  # the runner did not run for three days
    PurgeRunner(system).run_once(limit=1)  # then purged only one of the two now due
    verdict = verify_report(read_report(report(system, tmp_path)))
    kinds = sorted(f.kind for f in verdict.findings)
    assert kinds == ["not-purged", "purged-late"]
    assert all(f.camera_code == "CAM-1" and f.segment_id for f in verdict.findings)


def mutate(path: Path, name: str, change: object) -> None:
    target = path / name
    target.write_bytes(change(target.read_bytes()))  # type: ignore[operator]


def test_an_altered_event_inside_a_proof_is_rejected(system: System, tmp_path: Path) -> None:
    path = report(system, tmp_path)
    manifest = json.loads((path / "report.json").read_text())
    purged = next(s for s in manifest["segments"] if s["status"] == "purged")
    name = f"proofs/{purged['events'][-1]}.tlog-proof"

    def later_purge(raw: bytes) -> bytes:
        lines = raw.decode().split("\n")
        extra = base64.b64decode(lines[1].removeprefix("extra "))
        altered = re.sub(rb'"lateness_seconds":[0-9.]+', b'"lateness_seconds":0.0', extra)
        assert altered != extra
        extra = altered
        lines[1] = "extra " + base64.b64encode(extra).decode()
        return "\n".join(lines).encode()

    mutate(path, name, later_purge)
    with pytest.raises(ProofInvalid):
        verify_report(read_report(path))


def test_an_altered_proof_hash_is_rejected(system: System, tmp_path: Path) -> None:
    path = report(system, tmp_path)
    name = sorted(p.name for p in (path / "proofs").iterdir())[0]

    def flip(raw: bytes) -> bytes:
        lines = raw.decode().split("\n")
        digest = bytearray(base64.b64decode(lines[3]))
        digest[0] ^= 1
        lines[3] = base64.b64encode(bytes(digest)).decode()
        return "\n".join(lines).encode()

    mutate(path, f"proofs/{name}", flip)
    with pytest.raises(ProofInvalid):
        verify_report(read_report(path))


def test_a_report_whose_claim_contradicts_its_events_is_rejected(
    system: System, tmp_path: Path
) -> None:
    path = report(system, tmp_path)
    manifest = json.loads((path / "report.json").read_text())
    pending = next(s for s in manifest["segments"] if s["status"] == "pending")
    pending["status"] = "purged"
    text = json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    (path / "report.json").write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ReportAltered):
        verify_report(read_report(path))


def test_a_dropped_event_or_a_foreign_key_is_rejected(system: System, tmp_path: Path) -> None:
    path = report(system, tmp_path)
    victim = sorted((path / "proofs").iterdir())[-1]
    victim.unlink()
    with pytest.raises(EventsMissing):
        verify_report(read_report(path))
    other = tmp_path / "other"
    init_data_dir(Settings(data=other), "scelle.test/report")  # same name, another key
    fresh = report(system, tmp_path / "again")
    with pytest.raises(CheckpointInvalid):
        verify_report(read_report(fresh), (other / "log.vkey").read_text())


def test_a_report_not_in_canonical_form_or_not_a_report_is_malformed(
    system: System, tmp_path: Path
) -> None:
    path = report(system, tmp_path)
    mutate(path, "report.json", lambda raw: raw.replace(b'{"as_of"', b'{ "as_of"', 1))
    with pytest.raises(ReportMalformed):
        verify_report(read_report(path))
    junk = tmp_path / "junk.zip"
    with zipfile.ZipFile(junk, "w") as bundle:
        bundle.writestr("report.json", b"[]\n")
    with pytest.raises(ReportMalformed):
        verify_report(read_report(junk))


def test_a_manifest_of_the_wrong_shape_fails_closed(system: System, tmp_path: Path) -> None:
    """Regression: a canonical manifest with a missing key must be a FAIL, not a crash."""
    path = report(system, tmp_path)
    manifest = json.loads((path / "report.json").read_text())
    for broken in ({**manifest, "segments": [{}]}, {**manifest, "checkpoint_size": "1"}):
        text = json.dumps(broken, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        (path / "report.json").write_text(text + "\n", encoding="utf-8")
        with pytest.raises((ReportMalformed, ReportAltered)):
            verify_report(read_report(path))
