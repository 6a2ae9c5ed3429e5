"""Prepared graphs in the SDK: a program run again is registered once (POST /v1/graphs)
and then evaluated by id with only its feeds; a replica that has not seen the id answers
404 and the client registers it there, transparently."""

import gradserve as gs
import httpx
import numpy as np
import pytest

from service.app import create_app

pytestmark = pytest.mark.anyio


class Replicas(httpx.AsyncBaseTransport):
    """Two app instances behind one URL, as behind a load balancer: each request goes to
    `current`; records each request's path."""

    def __init__(self) -> None:
        self.apps = [httpx.ASGITransport(create_app()), httpx.ASGITransport(create_app())]
        self.current = 0
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.apps[self.current].handle_async_request(request)


async def test_a_program_run_again_is_prepared_and_registered_again_where_unknown():
    replicas = Replicas()
    async with gs.AsyncClient("http://gradserve", transport=replicas) as client:
        x = gs.placeholder(gs.float32, [None, 2], name="x")
        w = gs.constant([[1.0], [2.0]], name="w")
        loss = gs.reduce_sum(gs.tanh(x @ w))
        grads = await client.gradients(loss, [x, w])
        await client.resolve(grads)
        values = [await client.run([loss, grads], {x: [[0.5, -0.25 * step]]})
                  for step in range(3)]
        prepared = replicas.paths[-1]
        assert prepared.startswith("/v1/graphs/") and prepared.endswith("/gradients")
        assert replicas.paths[-4:] == ["/v1/run", "/v1/graphs", prepared, prepared]
        replicas.current = 1  # a replica that never saw the graph
        del replicas.paths[:]
        again = await client.run([loss, grads], {x: [[0.5, -0.5]]})
        assert replicas.paths == [prepared, "/v1/graphs", prepared]
    np.testing.assert_allclose(again[0], values[2][0])
    np.testing.assert_allclose(again[1][0], values[2][1][0])
    slope = 1 - np.tanh(-0.5) ** 2  # at x @ w = 0.5 - 2 * 0.5
    np.testing.assert_allclose(values[2][1][1], [[0.5 * slope], [-0.5 * slope]], rtol=1e-6)
    np.testing.assert_allclose(values[2][0], np.tanh(-0.5), rtol=1e-6)


class WithoutPreparedGraphs(httpx.AsyncBaseTransport):
    """A service without the extension: /v1/graphs is not found."""

    def __init__(self) -> None:
        self.app = httpx.ASGITransport(create_app())
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path.startswith("/v1/graphs"):
            return httpx.Response(404, json={"detail": "Not Found"})
        return await self.app.handle_async_request(request)


async def test_a_service_without_prepared_graphs_gets_plain_runs():
    transport = WithoutPreparedGraphs()
    async with gs.AsyncClient("http://gradserve", transport=transport) as client:
        x = gs.placeholder(gs.float32, [2], name="x")
        y = gs.tanh(x)
        values = [await client.run(y, {x: [0.5, float(step)]}) for step in range(4)]
    assert transport.paths == ["/v1/run", "/v1/graphs", "/v1/run", "/v1/run", "/v1/run"]
    np.testing.assert_allclose(values[3], np.tanh([0.5, 3.0]), rtol=1e-6)
