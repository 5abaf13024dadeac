"""The operators' and officers' flows end to end: purposes, ranges, masks, four eyes, login."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from api.settings import ApiSettings
from evidence.model.security import user_id
from tests.api_support import (
    CAM_IN,
    CAM_ZONED,
    PASSWORD,
    START,
    World,
    build_world,
    denials,
    login,
    username,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("api-flows"))
    with built.client:
        yield built
    built.system.close()


def viewed(world: World) -> list[dict[str, Any]]:
    archives = world.system.archives
    found = archives.recorder.select_notifications(1, 100_000, topics=["scelle:Segment.Viewed"])
    return [vars(archives.mapper.to_domain_event(n)) for n in found]


def open_view(world: World, role: str, segment: Any, **body: Any) -> Any:
    return world.client.post(f"/segments/{segment}/views", json=body, headers=world.auth(role))


def test_a_view_without_purpose_is_refused_and_recorded(world: World) -> None:
    segment = world.segments[CAM_IN][1]
    before = len(denials(world.system))
    response = open_view(world, "operator", segment)
    assert response.status_code == 403
    assert "finalité" in response.json()["detail"]
    assert denials(world.system)[before:][0]["reason"] == "no purpose stated"


def test_a_purpose_the_camera_is_not_authorised_for_is_refused(world: World) -> None:
    response = open_view(world, "operator", world.segments[CAM_IN][1], purpose="traffic_offences")
    assert response.status_code == 403
    assert denials(world.system)[-1]["reason"].startswith("purpose 'traffic_offences' refused")


def test_the_purpose_and_mission_go_into_the_viewed_event(world: World) -> None:
    archives = world.system.archives
    now = datetime.now(UTC)
    mission = archives.assign_mission(
        operator_id=user_id(username("operator")),
        task="Marché",
        camera_ids=[archives.camera(CAM_IN).id],
        window_start=now - timedelta(hours=1),
        window_end=now + timedelta(hours=1),
        requesting_partner=None,
        assigned_by=user_id("c"),
    )
    response = open_view(
        world,
        "operator",
        world.segments[CAM_IN][1],
        mission_id=str(mission),
        on_behalf_of="Police municipale",
    )
    assert response.status_code == 201, response.text
    fact = viewed(world)[-1]
    assert fact["purpose"] == "mission"
    assert fact["mission_id"] == mission
    assert fact["actor_id"] == user_id(username("operator"))
    assert fact["on_behalf_of"] == "Police municipale"
    assert fact["masked"] is False
    # Another operator's mission is no ground for this one.
    response = open_view(world, "supervisor", world.segments[CAM_IN][1], mission_id=str(mission))
    assert response.status_code == 403


def test_range_requests_decrypt_only_what_is_asked(world: World) -> None:
    segment = world.segments[CAM_IN][1]
    data = world.videos[segment]
    url = open_view(world, "operator", segment, purpose="crime_prevention").json()["playback_url"]
    headers = world.auth("operator")
    part = world.client.get(url, headers={**headers, "Range": "bytes=1048570-2097160"})
    assert part.status_code == 206
    assert part.content == data[1048570:2097161]
    assert part.headers["content-range"] == f"bytes 1048570-2097160/{len(data)}"
    tail = world.client.get(url, headers={**headers, "Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == data[-100:]
    open_end = world.client.get(url, headers={**headers, "Range": f"bytes={len(data) - 5}-"})
    assert open_end.content == data[-5:]
    beyond = world.client.get(url, headers={**headers, "Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"


def test_a_playback_ticket_serves_only_the_user_it_was_issued_to(world: World) -> None:
    segment = world.segments[CAM_IN][1]
    url = open_view(world, "operator", segment, purpose="crime_prevention").json()["playback_url"]
    before = len(denials(world.system))
    stolen = world.client.get(url, headers=world.auth("supervisor"))
    assert stolen.status_code == 403
    forged = world.client.get(url[:-3] + "AAA", headers=world.auth("operator"))
    assert forged.status_code == 403
    assert len(denials(world.system)) == before + 2


def test_a_zoned_camera_is_never_played_back_unmasked_by_default(world: World) -> None:
    segment = world.segments[CAM_ZONED][0]
    before = len(viewed(world))
    response = open_view(world, "operator", segment, purpose="crime_prevention")
    if response.status_code == 503:  # the masking part is not installed: refuse, never leak
        assert len(viewed(world)) == before
        return
    assert response.status_code == 201
    view = response.json()
    assert view["masked"] is True
    played = world.client.get(view["playback_url"], headers=world.auth("operator"))
    assert played.content != world.videos[segment]
    assert viewed(world)[-1]["masked"] is True


def test_lifting_a_mask_needs_a_second_person(world: World) -> None:
    archives = world.system.archives
    segment = world.segments[CAM_ZONED][0]
    req = archives.register_requisition(
        "Parquet",
        "2026/9",
        "flagrance",
        [CAM_ZONED],
        [(START - timedelta(hours=1), START + timedelta(hours=1))],
        user_id(username("officer")),
    )
    archives.approve_requisition(req, user_id("magistrat-externe"))
    # Unmasked before any lift: refused.
    refused = open_view(world, "officer", segment, requisition_id=str(req), unmasked=True)
    assert refused.status_code == 403
    assert denials(world.system)[-1]["action"] == "segment.play_unmasked"
    asked = world.client.post(
        f"/segments/{segment}/mask-lifts",
        headers=world.auth("officer"),
        json={"requisition_id": str(req), "reason": "plaque"},
    )
    assert asked.status_code == 201
    lift = asked.json()["id"]
    # The officer grants themself the magistrate role too: still no self-approval.
    archives.grant_role(username("officer"), "magistrate", [archives.commune("69266").id], None)
    try:
        self_approved = world.client.post(
            f"/mask-lifts/{lift}/approve", headers=world.auth("officer")
        )
        assert self_approved.status_code == 403
        assert denials(world.system)[-1]["reason"] == "four eyes: self-approval"
    finally:
        archives.revoke_role(username("officer"), "magistrate", user_id("root"))
    approved = world.client.post(f"/mask-lifts/{lift}/approve", headers=world.auth("supervisor"))
    assert approved.status_code == 204
    lifted = archives.recorder.select_notifications(
        1, 100_000, topics=["scelle:Segment.MaskLifted"]
    )
    assert len(lifted) == 1
    view = open_view(world, "officer", segment, requisition_id=str(req), unmasked=True)
    assert view.status_code == 201, view.text
    assert view.json()["masked"] is False
    played = world.client.get(view.json()["playback_url"], headers=world.auth("officer"))
    assert played.content == world.videos[segment]
    # Another officer of the same commune, or the operator, still sees it masked only.
    assert (
        open_view(world, "operator", segment, purpose="crime_prevention", unmasked=True).status_code
        == 403
    )


def test_exports_need_a_second_person(world: World) -> None:
    archives = world.system.archives
    req = archives.register_requisition(
        "Parquet",
        "2026/10",
        "flagrance",
        [CAM_IN],
        [(START - timedelta(hours=1), START + timedelta(hours=1))],
        user_id(username("officer")),
    )
    archives.approve_requisition(req, user_id("magistrat-externe"))
    asked = world.client.post(
        f"/requisitions/{req}/exports",
        headers=world.auth("officer"),
        json={"segment_ids": [str(world.segments[CAM_IN][0])]},
    )
    assert asked.status_code == 201
    export = asked.json()["id"]
    assert (
        world.client.post(
            f"/exports/{export}/approve", headers=world.auth("magistrate")
        ).status_code
        == 204
    )
    assert (
        world.client.post(
            f"/exports/{export}/approve", headers=world.auth("supervisor")
        ).status_code
        == 409
    )
    assert archives.export(UUID(export)).approved_by == user_id(username("magistrate"))


def test_logout_revokes_the_token(world: World) -> None:
    token = login(world.client, username("inspector"))
    headers = {"Authorization": f"Bearer {token}"}
    assert world.client.get("/auth/me", headers=headers).status_code == 200
    assert world.client.post("/auth/logout", headers=headers).status_code == 204
    assert world.client.get("/auth/me", headers=headers).status_code == 401


def test_repeated_failures_lock_the_account_and_are_recorded(world: World) -> None:
    name = username("ethics")
    before = len(denials(world.system))
    for _ in range(5):
        bad = world.client.post("/auth/login", json={"username": name, "password": "nope"})
        assert bad.status_code == 401
    locked = world.client.post("/auth/login", json={"username": name, "password": PASSWORD})
    assert locked.status_code == 403
    reasons = [d["reason"] for d in denials(world.system)[before:]]
    assert reasons == ["bad credentials"] * 4 + [
        "bad credentials; account now locked",
        "account locked",
    ]
    world.context.credentials.unlock(name)
    assert login(world.client, name)


def test_login_attempts_are_rate_limited_per_address(world: World) -> None:
    limiter = world.context.limiter
    saved = limiter.limit
    limiter.limit = 0
    try:
        response = world.client.post("/auth/login", json={"username": "x", "password": "y"})
    finally:
        limiter.limit = saved
    assert response.status_code == 429
    assert denials(world.system)[-1]["reason"] == "rate limited"


def test_no_secret_enters_the_event_log(world: World) -> None:
    token = world.tokens["operator"]
    with closing(sqlite3.connect(world.system.settings.events_path)) as db:
        states = b"".join(row[0] for row in db.execute("SELECT state FROM stored_events"))
    assert token.encode() not in states
    assert PASSWORD.encode() not in states
    assert b"$argon2id$" not in states


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCELLE_API_TOKEN_TTL_SECONDS", "120")
    assert ApiSettings().token_ttl_seconds == 120


def test_concurrent_zooms_and_views_of_one_segment_are_all_recorded(world: World) -> None:
    """Many people on one segment at once: every zoom and view lands (retried on conflict)."""
    segment = world.segments[CAM_IN][0]
    archives = world.system.archives
    topics = ["scelle:Segment.Zoomed", "scelle:Segment.Viewed"]
    before = len(archives.recorder.select_notifications(1, 100_000, topics=topics))
    zoom = {"at_seconds": 0.5, "region": [0.0, 0.0, 0.5, 0.5], "purpose": "crime_prevention"}

    def one(i: int) -> int:
        role = ("operator", "supervisor")[i % 2]
        if i % 3 == 0:
            return int(open_view(world, role, segment, purpose="crime_prevention").status_code)
        url = f"/segments/{segment}/zooms"
        return int(world.client.post(url, json=zoom, headers=world.auth(role)).status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(one, range(12)))
    assert set(codes) <= {200, 201}, codes
    after = archives.recorder.select_notifications(1, 100_000, topics=topics)
    assert len(after) == before + 12
