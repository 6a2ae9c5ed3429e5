"""The OpenAPI document: FastAPI's, plus the schemas of the bodies FastAPI does not see
(the gradient request, parsed by its route, and the Problem of error responses).

`python -m service.openapi` writes it to openapi/openapi.json; a test keeps that current.
"""

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from schemas import GradientRequest, Problem, RunRequest
from service.security import SECURITY_SCHEMES

EXPORT_PATH = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi


def document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(title=app.title, version=app.version, description=app.description,
                       routes=app.routes)
    _, extra = models_json_schema([(GradientRequest, "validation"), (RunRequest, "validation"),
                                   (Problem, "serialization")],
                                  ref_template="#/components/schemas/{model}")
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in extra["$defs"].items():
        schemas.setdefault(name, schema)
    spec["components"]["schemas"] = dict(sorted(schemas.items()))
    spec["components"]["securitySchemes"] = SECURITY_SCHEMES
    return spec


def render(app: FastAPI) -> str:
    return json.dumps(app.openapi(), indent=2) + "\n"


if __name__ == "__main__":
    from service.app import create_app

    EXPORT_PATH.write_text(render(create_app()))
    print(f"wrote {EXPORT_PATH}")
