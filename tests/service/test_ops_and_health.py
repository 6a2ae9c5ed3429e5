"""GET /v1/ops and the health endpoints."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from service import warmup
from service.app import create_app
from service.settings import Settings

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



async def test_ready_says_503_until_the_warm_up_is_done(monkeypatch):
    done = threading.Event()
    monkeypatch.setattr(warmup, "warm_up", done.wait)
    async with serving(Settings(warm_up=True)) as client:
        response = await client.get("/v1/health/ready")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Warming up" and "Retry-After" in response.headers
        assert (await client.get("/v1/health/live")).status_code == 200
        done.set()
        assert await becomes_ready(client)


async def test_a_failed_warm_up_still_ends_in_ready(monkeypatch):
    def fail() -> None:
        raise RuntimeError("no compiler")

    monkeypatch.setattr(warmup, "warm_up", fail)
    async with serving(Settings(warm_up=True)) as client:
        assert await becomes_ready(client)


async def test_ready_at_once_without_warm_up(monkeypatch):
    monkeypatch.setattr(warmup, "warm_up", threading.Event().wait)  # would never end
    async with serving(Settings(warm_up=False)) as client:
        assert (await client.get("/v1/health/ready")).status_code == 200


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app whose lifespan has started, as a server starts it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://gradserve") as client:
        yield client


async def becomes_ready(client: httpx.AsyncClient, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (await client.get("/v1/health/ready")).status_code == 200:
            return True
        await asyncio.sleep(0.01)
    return False
