"""The app factory: assembles settings, middleware, error handlers, routers and OpenAPI."""

import logging

from fastapi import FastAPI

from service import __version__, errors, openapi
from service.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from service.routes import gradients, health, ops, run
from service.settings import Settings

DESCRIPTION = ("`tf.gradients` as a REST service: post a TensorFlow-style graph, ys, xs and "
               "feeds; get the gradients back. The wire contract is shared/spec/wire.md; "
               "extensions are in docs/wire-extensions.md.")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logging.getLogger("service").setLevel(settings.log_level.upper())
    app = FastAPI(title="gradserve", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)  # outermost: ids every response
    errors.install(app)
    for router in (gradients.router, run.router, ops.router, health.router):
        app.include_router(router)
    openapi.install(app)
    return app
