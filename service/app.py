"""The app factory: assembles settings, middleware, error handlers, routers and OpenAPI."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import __version__, errors, openapi, programs
from service.limits import EvaluationSlots
from service.middleware import (
    REQUEST_ID_HEADER,
    BodySizeLimitMiddleware,
    ProblemCORSMiddleware,
    RequestContextMiddleware,
)
from service.routes import gradients, graphs, health, metrics, ops, run
from service.settings import Settings
from service.warmup import WarmUp

DESCRIPTION = ("`tf.gradients` as a REST service: post a TensorFlow-style graph, ys, xs and "
               "feeds; get the gradients back. The wire contract is shared/spec/wire.md; "
               "extensions are in docs/wire-extensions.md.")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logging.getLogger("service").setLevel(settings.log_level.upper())
    app = FastAPI(title="gradserve", version=__version__, description=DESCRIPTION,
                  lifespan=_lifespan)
    app.state.settings = settings
    app.state.warm_up = WarmUp()
    app.state.evaluation_slots = EvaluationSlots(settings.max_concurrent_evaluations)
    app.state.programs = programs.create_cache(settings)
    # Added innermost first: the request context wraps everything, CORS sees the raw request.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(ProblemCORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key",
                                          REQUEST_ID_HEADER],
                           expose_headers=[REQUEST_ID_HEADER, "Server-Timing", "Retry-After"])
    app.add_middleware(RequestContextMiddleware)
    errors.install(app)
    for router in (gradients.router, graphs.router, run.router, ops.router, health.router,
                   metrics.router):
        app.include_router(router)
    openapi.install(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The server starts the warm-up as it starts serving (not ready until it is done)."""
    if app.state.settings.warm_up:
        app.state.warm_up.start()
    yield
