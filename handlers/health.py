"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from handlers.appkeys import RUNTIME
from handlers.metrics import render_metrics


def register(app: web.Application) -> None:
    """Add /healthz, /readyz and /metrics."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


async def healthz(request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers and we are not shutting down."""
    runtime = request.app[RUNTIME]
    if not runtime.accepting:
        return web.json_response({"status": "shutting down"}, status=503)
    if not await runtime.database_ready():
        return web.json_response({"status": "database unreachable"}, status=503)
    return web.json_response({"status": "ready", "database": runtime.dialect})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition."""
    body = await render_metrics(request.app[RUNTIME])
    response = web.Response(body=body)
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response
