"""Optional API keys on /v1/* except health (401 without, 403 with another, both with
WWW-Authenticate) and CORS for the configured origins, refusals as problems too."""

import pytest

from service.app import create_app
from service.settings import Settings
from tests.service.conftest import client_for

pytestmark = pytest.mark.anyio

KEYS = Settings(api_keys="alpha, beta")


async def test_without_keys_configured_no_key_is_needed(client):
    assert (await client.get("/v1/ops")).status_code == 200


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer alpha"}, {"X-API-Key": "beta"}])
async def test_a_configured_key_in_either_header_is_accepted(headers):
    async with client_for(KEYS) as client:
        assert (await client.get("/v1/ops", headers=headers)).status_code == 200


@pytest.mark.parametrize("headers, status", [
    ({}, 401), ({"Authorization": "Basic YWxwaGE="}, 403),
    ({"Authorization": "Bearer gamma"}, 403), ({"X-API-Key": "alph"}, 403),
    ({"Authorization": "Bearer gamma", "X-API-Key": "alpha"}, 403)])
@pytest.mark.parametrize("method, path", [("GET", "/v1/ops"), ("POST", "/v1/gradients"),
                                          ("POST", "/v1/run")])
async def test_a_missing_or_wrong_key_is_a_problem_with_a_challenge(headers, status, method, path):
    async with client_for(KEYS) as client:
        response = await client.request(method, path, headers=headers, content=b"{}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == status and "request_id" in response.json()


@pytest.mark.parametrize("path", ["/v1/health/live", "/v1/health/ready", "/metrics"])
async def test_health_and_metrics_need_no_key(path):
    async with client_for(KEYS) as client:
        assert (await client.get(path)).status_code == 200


async def test_cors_answers_configured_origins_only():
    async with client_for(Settings(cors_origins="https://app.example")) as client:
        preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type,x-api-key"}
        allowed = await client.options("/v1/gradients", headers=preflight)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        simple = await client.get("/v1/ops", headers={"Origin": "https://app.example"})
        assert simple.headers["access-control-allow-origin"] == "https://app.example"
        assert "X-Request-ID" in simple.headers["access-control-expose-headers"]

        refused = await client.options("/v1/gradients",
                                       headers={**preflight, "Origin": "https://evil.example"})
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        assert "origin" in refused.json()["detail"]


async def test_without_cors_origins_no_cors_headers_are_sent(client):
    response = await client.get("/v1/ops", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


def test_openapi_documents_both_schemes_on_the_routes_that_need_a_key():
    spec = create_app(KEYS).openapi()
    assert set(spec["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}
    security = [{"HTTPBearer": []}, {"APIKeyHeader": []}]
    assert spec["paths"]["/v1/gradients"]["post"]["security"] == security
    assert spec["paths"]["/v1/graphs/{graph_id}"]["delete"]["security"] == security
    assert "security" not in spec["paths"]["/v1/health/ready"]["get"]
