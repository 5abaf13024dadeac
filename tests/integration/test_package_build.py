"""Produced packages: valid BagIt for the Library of Congress tool and for our verifier, with
originals, events and proofs exactly as the archive holds them."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import zipfile
from contextlib import closing
from pathlib import Path
from uuid import UUID

import bagit
import pytest

from evidence.content.vault import derived_id
from evidence.model.security import user_id
from evidence.packages.build import Produced, produce_package
from tests.package_support import SUPERVISOR, Scene, approved_export, scene
from tools.verify_package import verify_package


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, Produced]:
    tmp = tmp_path_factory.mktemp("package")
    s = scene(tmp, count=3, size=300_000)
    archives = s.system.archives
    archives.hold_requisition_segments(s.requisition_id, user_id(SUPERVISOR))
    # A masked rendition of the first segment, stored under its key, with its derivation.
    first = archives.segment(s.segments[0])
    masked = b"masked copy " * 1000
    blob = derived_id(first.blob_id, "masked")
    stored = s.system.vault.put(blob, [masked])
    archives.record_derivation(
        first.id,
        derivation_id="d1",
        rendition="masked",
        blob_id=blob,
        source_sha256=first.sha256,
        output_sha256=stored.plaintext_sha256,
        output_size=stored.plaintext_size,
        parameters={"zones": ["facade-12"]},
        tool_versions={"ffmpeg": "test"},
        actor_id=None,
    )
    export = approved_export(s)
    return s, produce_package(s.system, export, tmp / "exports")


def test_the_library_of_congress_bagit_tool_validates_the_package(
    built: tuple[Scene, Produced],
) -> None:
    _, produced = built
    bag = bagit.Bag(str(produced.directory))
    bag.validate()  # raises BagValidationError on any problem
    assert bag.info["External-Identifier"] == produced.package_id
    assert set(bag.algorithms) == {"sha256"}


def test_our_verifier_accepts_the_directory_and_the_zip(built: tuple[Scene, Produced]) -> None:
    s, produced = built
    vkey = s.system.settings.log_vkey_path.read_text(encoding="utf-8")
    for path in (produced.directory, produced.zip_path):
        verdict = verify_package(path, vkey)
        assert verdict.segments == 3
        assert verdict.derived == 1
        assert verdict.vkey_pinned
        assert verdict.line().startswith("OK: paquet scelle-export-")
    with zipfile.ZipFile(produced.zip_path) as zipped:
        assert {n.split("/")[0] for n in zipped.namelist()} == {produced.package_id}


def test_originals_are_the_recorded_bytes(built: tuple[Scene, Produced]) -> None:
    s, produced = built
    index = json.loads((produced.directory / "data/package.json").read_text())
    assert [e["segment_id"] for e in index["segments"]] == [x.hex for x in s.segments]
    for entry in index["segments"]:
        segment = s.system.archives.segment(UUID(hex=entry["segment_id"]))
        data = (produced.directory / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == segment.sha256 == entry["sha256"]
        assert data == s.system.vault.read_all(segment.blob_id)
    [derived] = index["derived"]
    assert (produced.directory / derived["file"]).read_bytes() == b"masked copy " * 1000


def test_events_are_the_stored_bytes_each_with_its_proof(built: tuple[Scene, Produced]) -> None:
    s, produced = built
    lines = (produced.directory / "data/log/events.jsonl").read_bytes().splitlines()
    with closing(sqlite3.connect(s.system.settings.events_path)) as db:
        stored = {
            row[0]: row
            for row in db.execute(
                "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events"
            )
        }
    topics = set()
    for line in lines:
        event = json.loads(line)
        nid, oid, version, topic, state = stored[event["notification_id"]]
        assert (event["originator_id"], event["originator_version"], event["topic"]) == (
            oid,
            version,
            topic,
        )
        assert line.endswith(b'"state":' + state + b"}")  # verbatim, not re-serialised
        proof = produced.directory / f"data/log/proofs/{nid}.tlog-proof"
        assert proof.read_text().startswith("c2sp.org/tlog-proof@v1\nextra ")
        topics.add(topic)
    assert {
        "scelle:Camera.Registered",
        "scelle:Segment.Recorded",
        "scelle:Segment.HoldPlaced",
        "scelle:Segment.RenditionDerived",
        "scelle:Requisition.Registered",
        "scelle:Requisition.Approved",
        "scelle:Export.Requested",
        "scelle:Export.Approved",
        "scelle:User.Created",
    } <= topics
    checkpoint = (produced.directory / "data/log/checkpoint").read_text()
    assert checkpoint.split("\n")[1] == str(produced.checkpoint_size)


def test_the_custody_report_names_people_and_shows_thumbnails(
    built: tuple[Scene, Produced],
) -> None:
    _, produced = built
    html = (produced.directory / "data/report/custody.html").read_text()
    assert "2026/1121/042" in html
    assert "Enquête de flagrance" in html
    assert "opj.martin" in html and "chef.salle" in html
    assert "Réquisition approuvée (quatre yeux)" in html
    assert html.count('<img src="thumbnails/') == 3
    assert (produced.directory / "data/report/thumbnails/01.jpg").read_bytes()[:2] == b"\xff\xd8"


def test_the_copied_verifier_runs_alone_with_python_and_cryptography(
    built: tuple[Scene, Produced],
) -> None:
    """``-I``: no current directory, no PYTHONPATH — nothing of Scellé importable."""
    _, produced = built
    copied = produced.directory / "verify_package.py"
    assert (
        copied.read_bytes() == (Path(__file__).parents[2] / "tools/verify_package.py").read_bytes()
    )
    result = subprocess.run(
        [sys.executable, "-I", str(copied), str(produced.zip_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=produced.directory.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: paquet ")
    source = copied.read_text()
    assert "import evidence" not in source and "from evidence" not in source
    assert "from tools" not in source
