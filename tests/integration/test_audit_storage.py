"""The storage audit lists what is kept too long or owned by no live segment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from evidence.retention.audit import audit_storage
from evidence.retention.purge import PurgeRunner
from tests.ingest_support import opened, scelle
from tests.integration.test_purge import PAST, new_data
from tests.retention_support import store_segments


def test_overdue_segments_and_orphans_are_listed_and_clean_after_a_purge(tmp_path: Path) -> None:
    data = new_data(tmp_path, 3)
    with opened(data) as system:
        store_segments(system, "CAM-1", 1, PAST.replace(year=PAST.year + 1))  # not yet due
        audit = audit_storage(system)
        assert len(audit.overdue) == 3 and not audit.clean
        assert audit.orphan_blobs == () and audit.orphan_keys == () and audit.missing == ()
        PurgeRunner(system).run_once()
        assert audit_storage(system).clean
        system.vault.put("0123abcd" * 4, [os.urandom(100)])  # an intake that crashed
        system.vault.keys.create("feedbeef" * 4)  # a key left alone
        live = system.archives.segment(
            system.archives.retention_index().of_commune(
                system.archives.commune("69266").id, PAST, PAST + timedelta(days=400)
            )[-1]
        )
        system.vault.blobs.delete(live.blob_id)  # content gone without a purge
        audit = audit_storage(system)
        assert audit.orphan_blobs == ("0123abcd" * 4,)
        assert audit.orphan_keys == ("0123abcd" * 4, "feedbeef" * 4)
        assert audit.missing == (live.blob_id,)
        assert audit.overdue == ()


def test_the_commands_purge_report_verify_and_audit(tmp_path: Path) -> None:
    """The inspector's path through the real command line, with exit statuses."""
    data = new_data(tmp_path, 2)
    audit = scelle(data, "audit", "storage")
    assert audit.returncode == 1 and "FAIL: 2 échu(s)" in audit.stdout, audit.stdout
    first = (PAST, PAST + timedelta(seconds=30))  # the range of the first segment only
    hold = ["hold", "place", "--camera", "CAM-1", "--from", str(first[0]), "--to", str(first[1])]
    hold += ["--expires", str(PAST + timedelta(days=400)), "--actor", "opj", "--reference", "42"]
    refused = scelle(data, *hold, "--kind", "judicial")  # no legal basis, no authority
    assert refused.returncode == 1 and "cadre légal" in refused.stderr, refused.stderr
    placed = scelle(
        data, *hold, "--kind", "judicial", "--basis", "flagrance", "--authority", "Parquet"
    )
    assert placed.returncode == 0 and "1 segment(s) conservé(s)" in placed.stdout, placed.stderr
    purge = scelle(data, "purge")
    assert purge.returncode == 0 and "1 segment(s) détruit(s)" in purge.stdout, purge.stderr
    assert scelle(data, "audit", "storage").returncode == 0
    out = tmp_path / "rapport"
    start, end = (PAST - timedelta(days=1)).date(), (PAST + timedelta(days=1)).date()
    made = scelle(
        data,
        "report",
        "purges",
        "--commune",
        "69266",
        "--from",
        str(start),
        "--to",
        str(end),
        "--out",
        str(out),
        "--zip",
    )
    assert made.returncode == 0, made.stderr
    bundle = str(out.with_suffix(".zip"))
    # Recorded 40 days ago, purged today: 25 days late, and the verifier says so.
    late = scelle(data, "verify", "report", bundle, "--vkey", str(data / "log.vkey"))
    assert late.returncode == 1 and late.stdout.count("[purged-late]") == 1, late.stdout
    lenient = scelle(data, "verify", "report", bundle, "--tolerance", str(40 * 86400))
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert "OK: commune 69266 : 2 segment(s) (1 conservé(s) par une mesure, 1 détruit(s))" in (
        lenient.stdout
    )
    assert scelle(data, "verify", "report", str(tmp_path / "absent")).returncode == 2
