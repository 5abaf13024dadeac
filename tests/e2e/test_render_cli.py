"""``scelle render`` refusals reach the user as one French line, never as a traceback."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from evidence.model.errors import DomainError
from ingest.rendition import RenditionError
from tests.e2e.test_cli import scelle
from tests.rendition_support import footage_archive


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, footage: Path) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("render")
    made = footage_archive(root, footage, seconds=1, zones=False)
    made.system.close()
    return made.data, str(made.segment_id)


def one_french_error(result: object, *words: str) -> None:
    stderr = getattr(result, "stderr", "")
    assert getattr(result, "returncode", None) == 1, stderr
    assert "Traceback" not in stderr
    assert stderr.startswith("ERREUR"), stderr
    for word in words:
        assert word in stderr, stderr


def test_rendition_errors_are_domain_errors_with_french_text() -> None:
    error = RenditionError("no frame decoded", "Aucune image n'a pu être extraite.")
    assert isinstance(error, DomainError) and isinstance(error, RuntimeError)
    assert error.message_fr.startswith("Aucune image")


def test_a_refused_extract_says_why_in_french_and_writes_nothing(
    archive: tuple[Path, str], tmp_path: Path
) -> None:
    data, segment = archive
    taken = tmp_path / "pris.mp4"
    taken.write_bytes(b"keep me")
    result = scelle("--data", str(data), "render", "redact", segment, "--out", str(taken))
    one_french_error(result, "existe déjà")
    assert taken.read_bytes() == b"keep me"
    wrong = tmp_path / "faux.mp4"
    result = scelle(
        "--data", str(data), "render", "redact", segment, "--out", str(wrong),
        "--keep", "0:0.5,0.5,0.2,0.9",
    )  # fmt: skip
    one_french_error(result, "rectangle")
    assert not wrong.exists()


def test_an_unknown_segment_is_one_french_line(archive: tuple[Path, str]) -> None:
    data, _ = archive
    result = scelle("--data", str(data), "render", "masked", str(uuid.uuid4()))
    one_french_error(result)
