"""Errors as the user reads them: French, precise, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from evidence.application import AlreadyExists, NotFound
from evidence.content.errors import ContentError
from evidence.model.errors import DomainError

log = logging.getLogger("scelle.api")


def install(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": exc.message_fr}, status_code=404)

    @app.exception_handler(AlreadyExists)
    async def exists(request: Request, exc: AlreadyExists) -> JSONResponse:
        return JSONResponse({"detail": exc.message_fr}, status_code=409)

    @app.exception_handler(DomainError)
    async def refused(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message_fr}, status_code=409)

    @app.exception_handler(ContentError)
    async def gone(request: Request, exc: ContentError) -> JSONResponse:
        log.warning("content unavailable for %s: %s", request.url.path, exc)
        return JSONResponse(
            {"detail": "Contenu indisponible (détruit à l'échéance, ou illisible)."},
            status_code=410,
        )

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Erreur interne du serveur."}, status_code=500)
