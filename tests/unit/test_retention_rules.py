"""Retention rules as pure functions: the runner and the report verifier share them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from evidence.model.errors import RuleViolation
from evidence.model.holds import HoldOrder
from evidence.model.segment import Hold
from evidence.retention.rules import HoldSpan, effective_due, lateness_seconds, retention_for

T = datetime(2026, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def test_the_default_retention_is_capped_by_the_authorisation() -> None:
    assert retention_for(authorised_days=10, default_days=15) == 10
    assert retention_for(authorised_days=30, default_days=15) == 15


def test_a_default_retention_above_one_month_is_refused_in_french() -> None:
    with pytest.raises(RuleViolation) as refused:
        retention_for(authorised_days=30, default_days=31)
    assert "maximum légal d'un mois" in refused.value.message_fr


def test_a_hold_placed_in_time_pushes_the_due_instant_to_its_end() -> None:
    assert effective_due(T, [HoldSpan(T - DAY, T + 5 * DAY)]) == T + 5 * DAY


def test_a_hold_placed_after_the_deadline_does_not_excuse_the_delay() -> None:
    assert effective_due(T, [HoldSpan(T + DAY, T + 9 * DAY)]) == T


def test_chained_holds_each_placed_while_the_previous_kept_the_segment() -> None:
    spans = [HoldSpan(T - DAY, T + 2 * DAY), HoldSpan(T + DAY, T + 4 * DAY)]
    assert effective_due(T, spans) == T + 4 * DAY


def test_lateness_is_zero_when_on_time() -> None:
    assert lateness_seconds(T, T + DAY) == 0.0
    assert lateness_seconds(T + timedelta(seconds=90), T) == 90.0


@pytest.mark.parametrize(
    ("kind", "basis", "authority", "words"),
    [
        ("convenience", None, None, "procédure judiciaire"),
        ("judicial", None, "Parquet de Lyon", "cadre légal"),
        ("judicial", "flagrance", "", "autorité"),
        ("judicial", "garde_a_vue", "Parquet", "cadre légal"),
    ],
)
def test_a_hold_without_legal_basis_is_refused(
    kind: str, basis: str | None, authority: str | None, words: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        Hold("h", kind, "2026/42", T + DAY, basis, authority)
    assert words in refused.value.message_fr


def test_a_hold_order_needs_scope_and_a_future_expiry() -> None:
    common = dict(
        key="k",
        kind="integrity",
        reference="ENQ-1",
        legal_basis=None,
        authority=None,
        actor_id=uuid4(),
        placed_at=T,
    )
    with pytest.raises(RuleViolation, match="cameras and time ranges"):
        HoldOrder.place(camera_ids=[], ranges=[[T, T + DAY]], expires_at=T + DAY, **common)
    with pytest.raises(RuleViolation, match="future"):
        HoldOrder.place(camera_ids=[uuid4()], ranges=[[T, T + DAY]], expires_at=T, **common)
