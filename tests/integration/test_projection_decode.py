"""The fast paths give the views exactly what the library's mapper and the handlers give."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from evidence.bootstrap import System
from projections.decode import Decoder, canonical_id
from projections.runner import ProjectionRunner
from tests.builders import new_store
from tests.projection_support import dump, varied_log


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> System:
    found = new_store(tmp_path_factory.mktemp("decode"))
    varied_log(found, rounds=3)
    found.archives.record_denial("intrus", "segment.view", "x", "hors périmètre", "t")
    yield found  # type: ignore[misc]
    found.close()


def _plain(value: Any) -> Any:
    """UUIDs as the text the views store; containers compared element by element."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def test_decoder_reads_every_stored_event_as_the_mapper_does(system: System) -> None:
    mapper = system.archives.mapper
    decode = Decoder(mapper)
    assert decode.plain
    stored = system.archives.recorder.select_notifications(1, 100_000)
    topics = set()
    for n in stored:
        ours, theirs = decode(n), mapper.to_domain_event(n)
        assert _plain(vars(ours)) == _plain(vars(theirs)), n.topic
        topics.add(n.topic)
    assert len(topics) >= 20


def test_canonical_id_is_str_of_uuid_and_refuses_other_text() -> None:
    uid = UUID("8202e11f-fd07-5f8f-ba45-b5f07cff0ba4")
    assert canonical_id(uid.hex.upper()) == str(uid)
    with pytest.raises(ValueError):
        canonical_id("8202e11f")


def test_set_wise_hot_topics_build_the_same_views_as_the_python_handlers(
    system: System, tmp_path: Path
) -> None:
    """Every batch size mixes hot and cold topics differently; the views never differ."""
    reference = tmp_path / "python.duckdb"
    runner = ProjectionRunner(system.settings, system, reference, batch_size=7, bulk=False)
    runner.catch_up()
    runner.close()
    expected = dump(reference)
    assert expected["segments"] and expected["purges"] and expected["access_log"]
    for batch_size in (5, 64, 20_000):
        path = tmp_path / f"bulk-{batch_size}.duckdb"
        runner = ProjectionRunner(system.settings, system, path, batch_size=batch_size)
        runner.catch_up()
        runner.close()
        assert dump(path) == expected, batch_size
