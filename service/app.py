"""The app factory: assembles settings, middleware, error handlers, routers and OpenAPI."""

import logging

from fastapi import FastAPI

from service import __version__, errors, openapi
from service.limits import EvaluationSlots
from service.middleware import (
    REQUEST_ID_HEADER,
    BodySizeLimitMiddleware,
    ProblemCORSMiddleware,
    RequestContextMiddleware,
)
from service.routes import gradients, health, metrics, ops, run
from service.settings import Settings

DESCRIPTION = ("`tf.gradients` as a REST service: post a TensorFlow-style graph, ys, xs and "
               "feeds; get the gradients back. The wire contract is shared/spec/wire.md; "
               "extensions are in docs/wire-extensions.md.")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logging.getLogger("service").setLevel(settings.log_level.upper())
    app = FastAPI(title="gradserve", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.evaluation_slots = EvaluationSlots(settings.max_concurrent_evaluations)
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
    for router in (gradients.router, run.router, ops.router, health.router, metrics.router):
        app.include_router(router)
    openapi.install(app)
    return app
