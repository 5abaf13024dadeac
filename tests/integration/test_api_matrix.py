"""Every route, every role, in scope and out of scope (issue 5's matrix).

Allowed requests succeed; every other one is refused with 403 and leaves exactly one
``AccessDenial`` event naming who tried what. Out of scope means a resource of a commune the
user is not scoped to; centre-wide routes have no such variant.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from evidence.model.security import ROLES, user_id
from evidence.packages.build import produce_package
from tests.api_support import (
    CAM_IN,
    CAM_OUT,
    START,
    World,
    build_world,
    denials,
    username,
)

Request = tuple[str, str, dict[str, Any] | None]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("api-matrix"))
    with built.client:
        yield built
    built.system.close()


def rendition_ready() -> bool:
    try:
        module = importlib.import_module("ingest.rendition")
    except ImportError:
        return False
    return callable(getattr(module, "zoom_frame", None))


def camera_of(in_scope: bool) -> str:
    return CAM_IN if in_scope else CAM_OUT


def segment_of(world: World, in_scope: bool) -> UUID:
    return world.segments[camera_of(in_scope)][0]


def requisition(world: World, in_scope: bool, approved: bool = True) -> UUID:
    """A fresh requisition by another officer of the camera's commune."""
    archives = world.system.archives
    officer = user_id("officer-2" if in_scope else "officer-3")
    req = archives.register_requisition(
        "Parquet de Lyon",
        "2026/0001",
        "flagrance",
        [camera_of(in_scope)],
        [(START - timedelta(hours=1), START + timedelta(hours=1))],
        officer,
    )
    if approved:
        archives.approve_requisition(req, user_id("magistrat-externe"))
    return req


def access_request(world: World) -> UUID:
    now = datetime.now(UTC)
    return world.system.archives.receive_access_request(
        channel="guichet",
        subject_ref="ref-0001",
        place_described="place",
        time_from=START,
        time_to=START + timedelta(minutes=5),
        deadline=now + timedelta(days=30),
        received_by=user_id("dpo-ici"),
    )


def purpose_for(world: World, role: str, in_scope: bool) -> dict[str, Any]:
    if role == "officer":
        return {"requisition_id": str(requisition(world, in_scope))}
    if role == "dpo":
        return {"access_request_id": str(access_request(world))}
    return {"purpose": "crime_prevention"}


def mission(world: World, in_scope: bool) -> UUID:
    now = datetime.now(UTC)
    return world.system.archives.assign_mission(
        operator_id=user_id(username("operator")),
        task="Marché",
        camera_ids=[world.system.archives.camera(camera_of(in_scope)).id],
        window_start=now - timedelta(hours=2),
        window_end=now + timedelta(hours=2),
        requesting_partner=None,
        assigned_by=user_id("chef"),
    )


def mission_body(in_scope: bool) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "operator": username("operator"),
        "task": "Marché de nuit",
        "cameras": [camera_of(in_scope)],
        "window_start": (now - timedelta(hours=2)).isoformat(),
        "window_end": (now + timedelta(hours=2)).isoformat(),
    }


def requisition_body(in_scope: bool) -> dict[str, Any]:
    return {
        "authority": "Parquet de Lyon",
        "procedure_number": "2026/0002",
        "legal_basis": "enquete_preliminaire",
        "cameras": [camera_of(in_scope)],
        "ranges": [{"start": START.isoformat(), "end": (START + timedelta(hours=1)).isoformat()}],
    }


def mask_lift_request(world: World, in_scope: bool) -> UUID:
    req = requisition(world, in_scope)
    officer = user_id("officer-2" if in_scope else "officer-3")
    return world.system.archives.request_mask_lift(
        segment_of(world, in_scope), req, officer, "identifier le véhicule"
    )


def export_request(world: World, in_scope: bool, officer: str | None = None) -> UUID:
    req = requisition(world, in_scope)
    asker = user_id(officer or ("officer-2" if in_scope else "officer-3"))
    return world.system.archives.request_export(req, [segment_of(world, in_scope)], asker)


def approved_export(world: World, in_scope: bool, officer: str | None = None) -> UUID:
    export = export_request(world, in_scope, officer)
    world.system.archives.approve_export(export, user_id("magistrat-externe"))
    return export


_PRODUCED: dict[tuple[int, bool], UUID] = {}


def produced_export(world: World, in_scope: bool) -> UUID:
    """One package per scope, asked by the matrix's own officer in scope (downloads are the
    asking officer's or a magistrate's); delivering and downloading leave it as it was."""
    key = (id(world), in_scope)
    if key not in _PRODUCED:
        export = approved_export(world, in_scope, username("officer") if in_scope else "officer-3")
        produce_package(world.system, export, world.system.settings.data / "exports")
        _PRODUCED[key] = export
    return _PRODUCED[key]


@dataclass(frozen=True)
class Case:
    action: str
    allowed: frozenset[str]
    build: Callable[[World, str, bool], Request]
    centre_wide: bool = False


def _all_but(*roles: str) -> frozenset[str]:
    return frozenset(ROLES) - set(roles)


CASES = [
    Case(
        "camera.read", frozenset(ROLES), lambda w, r, s: ("GET", f"/cameras/{camera_of(s)}", None)
    ),
    Case(
        "segment.list",
        _all_but("admin"),
        lambda w, r, s: ("GET", f"/cameras/{camera_of(s)}/segments", None),
    ),
    Case(
        "segment.list",
        _all_but("admin"),
        lambda w, r, s: ("GET", f"/segments/{segment_of(w, s)}", None),
    ),
    Case(
        "segment.play",
        frozenset({"operator", "supervisor", "officer", "dpo"}),
        lambda w, r, s: ("POST", f"/segments/{segment_of(w, s)}/views", purpose_for(w, r, s)),
    ),
    Case(
        "segment.zoom",
        frozenset({"operator", "supervisor", "officer"}),
        lambda w, r, s: (
            "POST",
            f"/segments/{segment_of(w, s)}/zooms",
            {"at_seconds": 1.0, "region": [0.0, 0.0, 0.5, 0.5], **purpose_for(w, r, s)},
        ),
    ),
    Case(
        "mission.assign",
        frozenset({"supervisor"}),
        lambda w, r, s: ("POST", "/missions", mission_body(s)),
    ),
    Case(
        "mission.read",
        frozenset({"supervisor", "operator"}),
        lambda w, r, s: ("GET", f"/missions/{mission(w, s)}", None),
    ),
    Case(
        "mission.close",
        frozenset({"supervisor"}),
        lambda w, r, s: ("POST", f"/missions/{mission(w, s)}/close", None),
    ),
    Case(
        "requisition.register",
        frozenset({"officer"}),
        lambda w, r, s: ("POST", "/requisitions", requisition_body(s)),
    ),
    Case(
        "requisition.read",
        frozenset({"officer", "supervisor", "magistrate"}),
        lambda w, r, s: ("GET", f"/requisitions/{requisition(w, s)}", None),
    ),
    Case(
        "requisition.approve",
        frozenset({"supervisor", "magistrate"}),
        lambda w, r, s: ("POST", f"/requisitions/{requisition(w, s, False)}/approve", None),
    ),
    Case(
        "masklift.request",
        frozenset({"officer"}),
        lambda w, r, s: (
            "POST",
            f"/segments/{segment_of(w, s)}/mask-lifts",
            {"requisition_id": str(requisition(w, s)), "reason": "véhicule"},
        ),
    ),
    Case(
        "masklift.approve",
        frozenset({"supervisor", "magistrate"}),
        lambda w, r, s: ("POST", f"/mask-lifts/{mask_lift_request(w, s)}/approve", None),
    ),
    Case(
        "export.request",
        frozenset({"officer"}),
        lambda w, r, s: (
            "POST",
            f"/requisitions/{requisition(w, s)}/exports",
            {"segment_ids": [str(segment_of(w, s))]},
        ),
    ),
    Case(
        "export.approve",
        frozenset({"supervisor", "magistrate"}),
        lambda w, r, s: ("POST", f"/exports/{export_request(w, s)}/approve", None),
    ),
    Case(
        "export.read",
        frozenset({"officer", "supervisor", "magistrate"}),
        lambda w, r, s: ("GET", f"/exports/{export_request(w, s)}", None),
    ),
    Case(
        "export.produce",
        frozenset({"supervisor"}),
        lambda w, r, s: ("POST", f"/exports/{approved_export(w, s)}/package", None),
    ),
    Case(
        "export.deliver",
        frozenset({"supervisor"}),
        lambda w, r, s: (
            "POST",
            f"/exports/{produced_export(w, s)}/deliveries",
            {"recipient": "Juge d'instruction", "channel": "remise en main propre"},
        ),
    ),
    Case(
        "export.download",
        frozenset({"officer", "magistrate"}),
        lambda w, r, s: ("GET", f"/exports/{produced_export(w, s)}/package", None),
    ),
    Case(
        "audit.denials",
        frozenset({"ethics", "inspector"}),
        lambda w, r, s: ("GET", "/audit/denials", None),
        centre_wide=True,
    ),
    Case(
        "user.list", frozenset({"admin"}), lambda w, r, s: ("GET", "/users", None), centre_wide=True
    ),
]
MATRIX = [
    pytest.param(
        case,
        role,
        in_scope,
        id=f"{CASES.index(case)}-{case.action}-{role}-{'in' if in_scope else 'out'}",
    )
    for case in CASES
    for role in ROLES
    for in_scope in ((True,) if case.centre_wide else (True, False))
]


@pytest.mark.parametrize(("case", "role", "in_scope"), MATRIX)
def test_route_role_scope(world: World, case: Case, role: str, in_scope: bool) -> None:
    method, url, body = case.build(world, role, in_scope)
    before = len(denials(world.system))
    response = world.client.request(method, url, json=body, headers=world.auth(role))
    after = denials(world.system)
    if role in case.allowed and in_scope:
        if case.action == "segment.zoom" and not rendition_ready():
            assert response.status_code == 503, response.text
        else:
            assert response.status_code in (200, 201, 204), response.text
        assert len(after) == before, after[before:]
        if case.action == "segment.play":
            assert_plays_back(world, role, response.json(), segment_of(world, in_scope))
    else:
        assert response.status_code == 403, response.text
        assert "detail" in response.json()
        assert len(after) == before + 1
        assert after[-1]["actor"] == username(role)
        assert after[-1]["action"] == case.action


def assert_plays_back(world: World, role: str, view: dict[str, Any], segment: UUID) -> None:
    played = world.client.get(view["playback_url"], headers=world.auth(role))
    assert played.status_code == 200
    assert played.content == world.videos[segment]
    assert view["masked"] is False  # CAM-IN has no privacy zone


def test_camera_listing_shows_only_the_users_communes(world: World) -> None:
    for role in ROLES:
        response = world.client.get("/cameras", headers=world.auth(role))
        assert response.status_code == 200
        codes = {c["code"] for c in response.json()}
        assert CAM_OUT not in codes
        assert CAM_IN in codes


@pytest.mark.parametrize("path", ["/cameras", "/auth/me", f"/cameras/{CAM_IN}/segments"])
def test_unauthenticated_requests_are_refused_and_recorded(world: World, path: str) -> None:
    before = len(denials(world.system))
    response = world.client.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    after = denials(world.system)
    assert len(after) == before + 1
    assert after[-1]["actor"] == "anonyme"
    assert after[-1]["reason"] == "unknown, expired or revoked token"
