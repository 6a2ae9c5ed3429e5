"""openapi/openapi.json is the app's document; regenerate with `python -m service.openapi`."""

from service.app import create_app
from service.openapi import EXPORT_PATH, render


def test_exported_openapi_is_current():
    assert EXPORT_PATH.read_text() == render(create_app()), \
        "openapi/openapi.json is stale: run `python -m service.openapi`"


def test_operation_ids_are_stable():
    paths = create_app().openapi()["paths"]
    assert paths["/v1/gradients"]["post"]["operationId"] == "computeGradients"
    assert paths["/v1/ops"]["get"]["operationId"] == "listOps"
    assert paths["/v1/run"]["post"]["operationId"] == "run"
