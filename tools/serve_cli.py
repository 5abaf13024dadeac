"""``scelle serve``: the API under uvicorn, with the embedded default's background work."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Annotated

import typer

from evidence.bootstrap import open_system
from evidence.ledger.log import LedgerError
from tools.context import console, fail, state
from tools.demo import DEMO_MARKER, USERS

if TYPE_CHECKING:  # the web stack loads only when serving: every other command starts faster
    import uvicorn

    from api.context import ApiContext


def demo_password(username: str) -> str:
    """Known passwords for the demo's accounts (printed; only ever set on demo data)."""
    return f"demo-{username}-2026"


def create_demo_accounts(context: ApiContext) -> list[tuple[str, str, str]]:
    if not (context.settings.data / DEMO_MARKER).exists():
        raise fail(f"{context.settings.data} n'est pas un répertoire de démonstration")
    accounts = []
    for username, role in USERS:
        password = demo_password(username)
        context.credentials.set_password(username, context.passwords.hash(password))
        accounts.append((username, role, password))
    return accounts


def _announce_when_started(server: uvicorn.Server, host: str) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.05)
    for listener in getattr(server, "servers", []):
        for sock in listener.sockets:
            port = sock.getsockname()[1]
            console.print(
                f"API à l'écoute : http://{host}:{port}/  (schéma : /docs, /openapi.json)"
            )


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Adresse d'écoute.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 : un port libre).", min=0, max=65535)] = 8000,
    stop_after: Annotated[
        float | None, typer.Option(help="S'arrêter seul après ce nombre de secondes.", min=0)
    ] = None,
    demo_accounts: Annotated[
        bool, typer.Option(help="Comptes de démonstration à mot de passe connu (démo seulement).")
    ] = False,
) -> None:
    """Serve the API; also runs the purge scheduler, the sealer and a watch folder if set."""
    import uvicorn

    from api.app import create_app
    from api.background import Background
    from api.settings import ApiSettings

    settings = state(ctx).settings()
    api = ApiSettings()
    try:
        system = open_system(settings)
    except LedgerError as exc:
        raise fail(str(exc)) from None
    app = create_app(settings, system, api)
    context: ApiContext = app.state.scelle
    background = Background(system, api, context.listings)
    try:
        if demo_accounts:
            console.print("Comptes de démonstration (identifiant / rôle / mot de passe) :")
            for username, role, password in create_demo_accounts(context):
                console.print(f"  {username:16} {role:11} {password}")
        background.start()
        if background.names:
            console.print(f"Tâches de fond : {', '.join(background.names)}")
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        if stop_after is not None:
            timer = threading.Timer(stop_after, lambda: setattr(server, "should_exit", True))
            timer.daemon = True
            timer.start()
        threading.Thread(target=_announce_when_started, args=(server, host), daemon=True).start()
        server.run()
    finally:
        background.stop()
        system.close()
    console.print("API arrêtée.")
