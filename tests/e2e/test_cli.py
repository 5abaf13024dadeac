"""The ``scelle`` command as an operator or an inspector runs it: real processes, real files."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

SCELLE = str(Path(sys.executable).parent / "scelle")


def scelle(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCELLE, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo") / "data"
    result = scelle("--data", str(data), "demo", "--fresh")
    assert result.returncode == 0, result.stderr
    assert "OK:" in result.stdout
    return data


def test_init_creates_a_private_log_key_and_refuses_a_second_time(tmp_path: Path) -> None:
    data = tmp_path / "d"
    first = scelle("--data", str(data), "init", "--origin", "scelle.test/cli")
    assert first.returncode == 0, first.stderr
    skey = data / "keys" / "log.skey"
    assert stat.S_IMODE(skey.stat().st_mode) == 0o600
    assert (data / "log.vkey").read_text().startswith("scelle.test/cli+")
    assert "PRIVATE" not in first.stdout
    again = scelle("--data", str(data), "init")
    assert again.returncode == 2
    assert "ERREUR" in again.stderr


def test_the_data_directory_comes_from_the_environment(tmp_path: Path) -> None:
    data = tmp_path / "env"
    assert scelle("init", env={"SCELLE_DATA": str(data)}).returncode == 0
    assert (data / "log.vkey").exists()
    result = scelle("verify", "store", env={"SCELLE_DATA": str(data)})
    assert result.returncode == 0 and result.stdout.startswith("OK:")


def test_demo_refuses_to_overwrite_data_that_is_not_a_demo(tmp_path: Path) -> None:
    data = tmp_path / "real"
    data.mkdir()
    (data / "precious.txt").write_text("x")
    result = scelle("--data", str(data), "demo", "--fresh")
    assert result.returncode == 2
    assert (data / "precious.txt").exists()


def test_verify_store_says_ok_then_fails_with_the_kind_after_tampering(
    demo_data: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(demo_data), str(copy)], check=True)
    assert scelle("--data", str(copy), "verify", "store").returncode == 0
    with sqlite3.connect(copy / "events.sqlite") as conn:
        conn.execute("UPDATE stored_events SET state = state || x'20' WHERE rowid = 4")
    result = scelle("--data", str(copy), "verify", "store")
    assert result.returncode == 1
    assert "FAIL: [event-altered]" in result.stdout
    assert "notification 4" in result.stdout


def test_a_proof_verifies_offline_and_any_change_to_it_fails(
    demo_data: Path, tmp_path: Path
) -> None:
    proof = tmp_path / "p.tlog-proof"
    assert scelle("--data", str(demo_data), "prove", "7", "-o", str(proof)).returncode == 0
    vkey = str(demo_data / "log.vkey")
    ok = scelle("verify", "proof", str(proof), "--vkey", vkey)
    assert ok.returncode == 0 and ok.stdout.startswith("OK: notification 7")
    lines = proof.read_text().split("\n")
    hash_line = next(i for i, line in enumerate(lines) if i > 2 and len(line) == 44)
    lines[hash_line] = ("B" if lines[hash_line][0] == "A" else "A") + lines[hash_line][1:]
    bad = tmp_path / "bad.tlog-proof"
    bad.write_text("\n".join(lines))
    failed = scelle("verify", "proof", str(bad), "--vkey", vkey)
    assert failed.returncode == 1 and failed.stdout.startswith("FAIL:")


def test_a_proof_checked_with_another_log_key_fails(demo_data: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    scelle("--data", str(other), "init", "--origin", "scelle.local/demo-csu-villeurbanne")
    proof = tmp_path / "p.tlog-proof"
    scelle("--data", str(demo_data), "prove", "3", "-o", str(proof))
    result = scelle("verify", "proof", str(proof), "--vkey", str(other / "log.vkey"))
    assert result.returncode == 1 and "FAIL:" in result.stdout


def test_consistency_proof_between_an_old_checkpoint_and_now(
    demo_data: Path, tmp_path: Path
) -> None:
    old = sorted((demo_data / "checkpoints").glob("*.checkpoint"))[1]
    size = int(old.stem)
    proof = tmp_path / "c.proof"
    made = scelle(
        "--data", str(demo_data), "prove", "--consistency-from", str(size), "-o", str(proof)
    )
    assert made.returncode == 0, made.stderr
    result = scelle(
        "verify",
        "proof",
        str(proof),
        "--vkey",
        str(demo_data / "log.vkey"),
        "--checkpoint",
        str(old),
    )
    assert result.returncode == 0 and result.stdout.startswith("OK:")


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "proof", "/nonexistent.proof", "--vkey", "x+00000000+AAAA"],
        ["verify", "proof"],
        ["verify", "proof", "{proof}", "--vkey", "not a key"],
        ["verify", "nonsense"],
    ],
)
def test_usage_errors_exit_2(args: list[str], demo_data: Path, tmp_path: Path) -> None:
    proof = tmp_path / "p"
    scelle("--data", str(demo_data), "prove", "3", "-o", str(proof))
    result = scelle(*[a.replace("{proof}", str(proof)) for a in args])
    assert result.returncode == 2, result.stdout + result.stderr


def test_checkpoint_prints_a_note_signed_by_the_log_key(demo_data: Path) -> None:
    result = scelle("--data", str(demo_data), "checkpoint")
    assert result.returncode == 0
    origin = (demo_data / "log.vkey").read_text().split("+")[0]
    assert result.stdout.startswith(origin + "\n")
    assert f"\n— {origin} " in result.stdout


def test_keys_rotate_rewraps_every_key_and_keeps_content_readable(
    demo_data: Path, tmp_path: Path
) -> None:
    from evidence.bootstrap import open_system
    from evidence.config import Settings

    copy = tmp_path / "rotated"
    subprocess.run(["cp", "-a", str(demo_data), str(copy)], check=True)
    keys_dir = copy / "keys"
    before = {p.name for p in keys_dir.glob("kek-*.key")}
    result = scelle("--data", str(copy), "keys", "rotate")
    assert result.returncode == 0, result.stderr
    after = {p.name for p in keys_dir.glob("kek-*.key")}
    assert len(after) == 1 and after.isdisjoint(before)  # the old one is shredded
    assert all(stat.S_IMODE((keys_dir / n).stat().st_mode) == 0o600 for n in after)
    system = open_system(Settings(data=copy))
    try:
        live = system.archives.live_blob_ids()
        assert live
        for blob_id in sorted(live)[:3]:
            assert system.vault.read_range(blob_id, 0, 16)
    finally:
        system.close()
