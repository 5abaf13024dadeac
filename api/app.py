"""The application factory: one FastAPI app per archive, wired from the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.context import ApiContext
from api.routes import (
    audit,
    auth,
    cameras,
    exports,
    missions,
    playback,
    requisitions,
    segments,
    users,
)
from api.settings import ApiSettings
from evidence.bootstrap import System
from evidence.config import Settings

DESCRIPTION = """
API de Scellé. Chaque consultation, zoom, levée de masque et export est un événement du
journal scellé ; chaque refus aussi. Une image n'est montrée que pour une finalité (mission,
finalité autorisée de la caméra, réquisition, demande d'accès), dans les communes de
l'utilisateur, masquée par défaut là où la caméra a des zones de masquage.

Authentification : `POST /auth/login` donne un jeton (en-tête `Authorization: Bearer …`) et un
cookie de session (lecture seule : pages et vidéo).
"""


def create_app(
    settings: Settings, system: System | None = None, api: ApiSettings | None = None
) -> FastAPI:
    """Build the app; it opens ``system`` itself (and closes it) unless one is given."""
    context = ApiContext.build(settings, system, api)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            context.close()

    app = FastAPI(title="Scellé", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.scelle = context
    errors.install(app)
    routers = (auth, cameras, segments, playback, missions, requisitions, exports, audit, users)
    for module in routers:
        app.include_router(module.router)
    return app
