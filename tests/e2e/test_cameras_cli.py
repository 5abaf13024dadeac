"""``scelle communes add`` and ``scelle cameras …`` as the centre's admin runs them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from evidence.bootstrap import open_system
from evidence.config import Settings
from tests.builders import new_store
from tools.cli import app


def scelle(data: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, ["--data", str(data), *args], env=env)


def camera_args(code: str, *extra: str) -> list[str]:
    return [
        "cameras", "add", code, "--commune", "69266", "--place", "Place Lazare-Goujon",
        "--authorisation", "Arrêté 2026-17", "--from", "2026-01-01", "--until", "2031-01-01",
        "--purpose", "crime_prevention", *extra,
    ]  # fmt: skip


def _data(tmp_path: Path) -> Path:
    system = new_store(tmp_path)
    data = system.settings.data
    system.close()
    assert scelle(data, "communes", "add", "69266", "Villeurbanne").exit_code == 0
    return data


def _retention(data: Path, code: str) -> int:
    system = open_system(Settings(data=data))
    try:
        return system.archives.camera(code).retention_days
    finally:
        system.close()


def test_a_camera_without_retention_takes_the_centres_default_within_its_authorisation(
    tmp_path: Path,
) -> None:
    data = _data(tmp_path)
    done = scelle(data, *camera_args("CAM-A", "--authorised-days", "30"))
    assert done.exit_code == 0, done.output
    assert _retention(data, "CAM-A") == 15  # the default setting, not the authorised 30
    env = {"SCELLE_DEFAULT_RETENTION_DAYS": "20"}
    assert scelle(data, *camera_args("CAM-B", "--authorised-days", "30"), env=env).exit_code == 0
    assert _retention(data, "CAM-B") == 20
    assert scelle(data, *camera_args("CAM-C", "--authorised-days", "7")).exit_code == 0
    assert _retention(data, "CAM-C") == 7  # capped by a shorter authorisation


def test_retention_beyond_one_month_or_the_authorisation_is_refused_and_nothing_recorded(
    tmp_path: Path,
) -> None:
    data = _data(tmp_path)
    system = open_system(Settings(data=data))
    before = system.archives.recorder.max_notification_id()
    system.close()
    refused = scelle(data, *camera_args("CAM-X", "--authorised-days", "45", "--retention", "31"))
    assert refused.exit_code == 1
    assert "maximum légal d'un mois" in refused.output
    over = scelle(data, *camera_args("CAM-Y", "--authorised-days", "10", "--retention", "12"))
    assert over.exit_code == 1
    assert "autorisation" in over.output
    assert scelle(data, *camera_args("CAM-Z", "--authorised-days", "30")).exit_code == 0
    changed = scelle(data, "cameras", "retention", "CAM-Z", "31", "--authorisation", "A-2")
    assert changed.exit_code == 1
    assert "maximum légal d'un mois" in changed.output
    system = open_system(Settings(data=data))
    try:
        assert system.archives.recorder.max_notification_id() == (before or 0) + 1
    finally:
        system.close()
    listing = scelle(data, "cameras", "list", "CAM-Z")
    assert listing.exit_code == 0
    assert "15 j (autorisé : 30 j)" in listing.output
