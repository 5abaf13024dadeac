"""``scelle requisition …`` and ``scelle export …`` as an officer and a supervisor run them."""

from __future__ import annotations

import re
from pathlib import Path

import bagit

from tests.builders import T0
from tests.ingest_support import events, scelle
from tests.package_support import OFFICER, SUPERVISOR, scene


def test_a_requisition_goes_from_registration_to_a_verified_delivered_package(
    tmp_path: Path,
) -> None:
    s = scene(tmp_path, count=2, size=2048)
    data = s.system.settings.data
    s.system.close()

    registered = scelle(
        data, "requisition", "register", "--authority", "Parquet de Lyon",
        "--procedure", "2026/77", "--legal-basis", "enquete_preliminaire",
        "--camera", "CAM-1", "--from", T0.isoformat(), "--to", "2026-11-21T22:02:00+00:00",
        "--by", OFFICER,
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    requisition = registered.stdout.split(": ")[-1].strip()

    approved = scelle(data, "requisition", "approve", requisition, "--by", SUPERVISOR)
    assert approved.returncode == 0, approved.stderr
    assert "2 segment(s) placé(s) sous conservation judiciaire" in approved.stdout

    listing = scelle(data, "requisition", "list")
    assert f"{requisition}  2026/77  Parquet de Lyon  enquete_preliminaire  approuvée" in (
        listing.stdout
    )

    outside = scelle(
        data, "export", "request", requisition, "--by", OFFICER, "--segment", str(s.outside[0])
    )
    assert outside.returncode == 1
    assert "Refusé et consigné" in outside.stderr
    assert events(data, "scelle:AccessDenial.Recorded")

    requested = scelle(data, "export", "request", requisition, "--by", OFFICER)
    assert requested.returncode == 0, requested.stderr
    export = requested.stdout.split(": ")[-1].strip()
    assert scelle(data, "export", "approve", export, "--by", SUPERVISOR).returncode == 0

    produced = scelle(data, "export", "produce", export)
    assert produced.returncode == 0, produced.stderr
    assert produced.stdout.startswith("OK: paquet scelle-export-")
    directory = Path(produced.stdout.splitlines()[-2])
    assert directory.parent == data / "exports"
    assert Path(produced.stdout.splitlines()[-1]) == directory.with_name(f"{directory.name}.zip")
    bagit.Bag(str(directory)).validate()

    delivered = scelle(
        data, "export", "deliver", export, "--by", OFFICER,
        "--recipient", "Juge d'instruction", "--channel", "main propre",
    )  # fmt: skip
    assert delivered.returncode == 0, delivered.stderr

    verified = scelle(
        data, "verify", "package", str(directory.with_name(f"{directory.name}.zip")),
        "--vkey", str(data / "log.vkey"),
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout
    assert re.match(r"OK: paquet scelle-export-\S+ : 2 segment\(s\)", verified.stdout)
    assert len(events(data, "scelle:Export.Produced")) == 1
    assert len(events(data, "scelle:Export.Delivered")) == 1
