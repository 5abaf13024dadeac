"""The demo's API step: a real server on 127.0.0.1, an operator and a refused ethics member."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import uvicorn

from api.app import create_app
from api.context import ApiContext
from tools.context import console
from tools.demo_steps import DemoRun
from tools.serve_cli import create_demo_accounts, demo_password


def _call(
    base: str,
    method: str,
    path: str,
    token: str | None = None,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 (a fixed http://127.0.0.1 address)
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            **(headers or {}),
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def api_step(run: DemoRun) -> None:
    """Login, list, play back a range with a purpose; a refused attempt is recorded."""
    app = create_app(run.settings, run.system)
    create_demo_accounts(app.state.scelle)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    try:
        _, body = _call(
            base,
            "POST",
            "/auth/login",
            body={"username": "operateur", "password": demo_password("operateur")},
        )
        token = json.loads(body)["access_token"]
        _, body = _call(base, "GET", "/cameras", token)
        console.print(f"  {base} : l'opérateur voit {len(json.loads(body))} caméra(s)")
        _, body = _call(base, "GET", "/cameras/VIL-001/segments?limit=5", token)
        segment = json.loads(body)[0]["id"]
        status, _ = _call(base, "POST", f"/segments/{segment}/views", token, body={})
        console.print(f"  consultation sans finalité : refusée ({status}) et tracée")
        _, body = _call(
            base, "POST", f"/segments/{segment}/views", token, body={"purpose": "crime_prevention"}
        )
        url = json.loads(body)["playback_url"]
        status, data = _call(base, "GET", url, token, headers={"Range": "bytes=0-65535"})
        console.print(
            f"  lecture (finalité « crime_prevention ») : {status}, {len(data)} octets "
            "déchiffrés à la demande, consultation tracée"
        )
        _, body = _call(
            base,
            "POST",
            "/auth/login",
            body={"username": "comite.ethique", "password": demo_password("comite.ethique")},
        )
        ethics = json.loads(body)["access_token"]
        status, _ = _call(
            base, "POST", f"/segments/{segment}/views", ethics, body={"purpose": "crime_prevention"}
        )
        console.print(f"  comité d'éthique demandant une image : refusé ({status}), refus tracé")
        export_over_api(base, run, segment)
    finally:
        server.should_exit = True
        thread.join(10)
        context: ApiContext = app.state.scelle
        context.close()


def _login(base: str, username: str) -> str:
    body = {"username": username, "password": demo_password(username)}
    _, answer = _call(base, "POST", "/auth/login", body=body)
    token: str = json.loads(answer)["access_token"]
    return token


def export_over_api(base: str, run: DemoRun, segment: str) -> None:
    """Within the demo's approved requisition: asked, approved by another, produced, fetched."""
    archives = run.system.archives
    approved = [r for r in archives.requisition_ids() if archives.requisition(r).approved_by]
    if not approved:
        return
    requisition = approved[-1]
    officer, magistrate, chef = (_login(base, u) for u in ("opj.durand", "magistrat", "chef.salle"))
    status, body = _call(
        base, "POST", f"/requisitions/{requisition}/exports", officer, {"segment_ids": [segment]}
    )
    if status != 201:
        console.print(f"  export par l'API : demande refusée ({status})")
        return
    export = json.loads(body)["id"]
    own, _ = _call(base, "POST", f"/exports/{export}/approve", officer)
    _call(base, "POST", f"/exports/{export}/approve", magistrate)
    _, body = _call(base, "POST", f"/exports/{export}/package", chef)
    url = json.loads(body)["download_url"]
    status, data = _call(base, "GET", url, officer, headers={"Range": "bytes=0-65535"})
    console.print(
        f"  export par l'API : demandé (OPJ), auto-approbation refusée ({own}), approuvé "
        f"(magistrat), produit (chef de salle), téléchargé ({status}, {len(data)} octets) — "
        "chaque étape est un événement"
    )
