"""A judicial requisition over the API, from registration to the downloaded package (issue 7).

Officer registers, a supervisor approves (four eyes) and the segments in scope are held; the
officer asks for the export, a magistrate approves it, the centre produces and delivers the
package, the officer downloads it in ranges — each step an event, the package verified.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from evidence.model.security import user_id
from tests.api_support import CAM_IN, CAM_OUT, START, World, build_world, denials, username
from tools.verify_package import verify_package


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("api-exports"))
    with built.client:
        yield built
    built.system.close()


def topics(world: World, *names: str) -> list[Any]:
    archives = world.system.archives
    found = archives.recorder.select_notifications(1, 1_000_000, topics=list(names))
    return [archives.mapper.to_domain_event(n) for n in found]


def call(
    world: World, role: str, method: str, url: str, headers: dict[str, str] | None = None, **kw: Any
) -> Any:
    return world.client.request(method, url, headers={**world.auth(role), **(headers or {})}, **kw)


def requisition_body(*cameras: str) -> dict[str, Any]:
    return {
        "authority": "Parquet de Lyon",
        "procedure_number": "2026/4242",
        "legal_basis": "flagrance",
        "cameras": list(cameras),
        "ranges": [
            {
                "start": (START - timedelta(minutes=30)).isoformat(),
                "end": (START + timedelta(minutes=30)).isoformat(),
            }
        ],
    }


def test_a_requisition_runs_from_registration_to_a_verified_download(
    world: World, tmp_path: Path
) -> None:
    officer = user_id(username("officer"))
    registered = call(world, "officer", "POST", "/requisitions", json=requisition_body(CAM_IN))
    assert registered.status_code == 201, registered.text
    req = registered.json()["id"]

    # Four eyes: the officer cannot approve (no role), and a magistrate-officer not their own.
    assert call(world, "officer", "POST", f"/requisitions/{req}/approve").status_code == 403
    approved = call(world, "supervisor", "POST", f"/requisitions/{req}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["held_segments"] == len(world.segments[CAM_IN])
    held = {e.originator_id for e in topics(world, "scelle:Segment.HoldPlaced")}
    assert held == set(world.segments[CAM_IN])
    listing = call(world, "operator", "GET", f"/cameras/{CAM_IN}/segments").json()
    assert {row["status"] for row in listing} == {"held"}

    # Out of scope: refused by the policy, recorded, and no export created.
    before, exports = len(denials(world.system)), len(topics(world, "scelle:Export.Requested"))
    outside = call(
        world,
        "officer",
        "POST",
        f"/requisitions/{req}/exports",
        json={"segment_ids": [str(world.segments[CAM_OUT][0])]},
    )
    assert outside.status_code == 403
    assert "commune" in outside.json()["detail"] or "réquisition" in outside.json()["detail"]
    assert len(denials(world.system)) == before + 1
    assert denials(world.system)[-1]["action"] == "export.request"
    assert len(topics(world, "scelle:Export.Requested")) == exports

    asked = call(world, "officer", "POST", f"/requisitions/{req}/exports", json={})
    assert asked.status_code == 201, asked.text
    export = asked.json()["id"]
    assert call(world, "officer", "POST", f"/exports/{export}/approve").status_code == 403
    assert call(world, "supervisor", "POST", f"/exports/{export}/package").status_code == 409
    assert call(world, "magistrate", "POST", f"/exports/{export}/approve").status_code == 204

    produced = call(world, "supervisor", "POST", f"/exports/{export}/package")
    assert produced.status_code == 201, produced.text
    package = produced.json()
    delivered = call(
        world,
        "supervisor",
        "POST",
        f"/exports/{export}/deliveries",
        json={"recipient": "Juge d'instruction, TJ Lyon", "channel": "remise en main propre"},
    )
    assert delivered.status_code == 204

    url = package["download_url"]
    size = package["size"]
    first = call(world, "officer", "GET", url, headers={"Range": "bytes=0-999"})
    rest = call(world, "officer", "GET", url, headers={"Range": "bytes=1000-"})
    assert (first.status_code, rest.status_code) == (206, 206)
    assert rest.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"
    zipped = first.content + rest.content
    assert len(zipped) == size
    assert len(topics(world, "scelle:Export.Downloaded")) == 1  # one download, two ranges
    whole = call(world, "magistrate", "GET", url)
    assert whole.status_code == 200 and whole.content == zipped
    downloads = topics(world, "scelle:Export.Downloaded")
    assert [d.actor_id for d in downloads] == [officer, user_id(username("magistrate"))]

    with zipfile.ZipFile(BytesIO(zipped)) as archive:
        archive.extractall(tmp_path)
    bag = tmp_path / package["package_id"]
    assert bag.is_dir()
    verify_package(bag)  # raises PackageInvalid on any failure

    facts = topics(
        world,
        "scelle:Requisition.Registered",
        "scelle:Requisition.Approved",
        "scelle:Export.Requested",
        "scelle:Export.Approved",
        "scelle:Export.Produced",
        "scelle:Export.Delivered",
        "scelle:Export.Downloaded",
    )
    mine = [type(f).__qualname__ for f in facts if str(f.originator_id) in (req, export)]
    assert mine == [
        "Requisition.Registered",
        "Requisition.Approved",
        "Export.Requested",
        "Export.Approved",
        "Export.Produced",
        "Export.Delivered",
        "Export.Downloaded",
        "Export.Downloaded",
    ]


def test_only_the_requesting_officer_downloads_and_an_unproduced_export_is_refused(
    world: World,
) -> None:
    archives = world.system.archives
    req = archives.register_requisition(
        "Parquet",
        "2026/77",
        "flagrance",
        [CAM_IN],
        [(START - timedelta(hours=1), START + timedelta(hours=1))],
        user_id("officer-2"),
    )
    archives.approve_requisition(req, user_id(username("supervisor")))
    export = archives.request_export(req, [world.segments[CAM_IN][0]], user_id("officer-2"))
    archives.approve_export(export, user_id(username("magistrate")))
    before = len(denials(world.system))
    refused = call(world, "officer", "GET", f"/exports/{export}/package")
    assert refused.status_code == 403
    assert denials(world.system)[before]["reason"].endswith("belongs to someone else")
    early = call(world, "magistrate", "GET", f"/exports/{export}/package")
    assert early.status_code == 409
    assert "pas encore été produit" in early.json()["detail"]
