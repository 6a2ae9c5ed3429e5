"""GET /v1/ops and the health endpoints."""

import pytest

pytestmark = pytest.mark.anyio


async def test_ops_lists_ops_with_their_gradient_status(client):
    response = await client.get("/v1/ops")
    assert response.status_code == 200
    listing = response.json()
    assert {"float32", "float64", "int32", "bool"} <= set(listing["dtypes"])
    ops = {op["name"]: op for op in listing["ops"]}
    assert ops["Mul"]["gradient_status"] == "differentiable"
    assert ops["Tanh"]["gradient_status"] == "differentiable"
    assert ops["Placeholder"]["gradient_status"] == "not_differentiable"
    assert ops["PreventGradient"]["gradient_status"] == "no_gradient"
    assert ops["Mul"]["inputs"] == ["x", "y"] and "float32" in ops["Mul"]["dtypes"]
    attrs = {a["name"]: a for a in ops["Placeholder"]["attrs"]}
    assert attrs["dtype"] == {"name": "dtype", "kind": "type", "required": True, "default": None}
    assert attrs["shape"]["required"] is False


@pytest.mark.parametrize("path", ["/v1/health/live", "/v1/health/ready"])
async def test_health(client, path):
    response = await client.get(path)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
