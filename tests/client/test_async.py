"""AsyncClient: the same calls as Client, awaited (here over httpx's ASGI transport)."""

import gradserve as gs
import numpy as np
import pytest
from gradserve import errors

pytestmark = pytest.mark.anyio


async def test_gradients_then_run(async_client):
    x = gs.placeholder(gs.float32, [None, 2], name="x")
    w = gs.constant([[1.0], [2.0]], name="w")
    loss = gs.reduce_sum(gs.tanh(x @ w))
    dx, dw = await async_client.gradients(loss, [x, w])
    loss_value, grads = await async_client.run([loss, [dx, dw]], {x: [[0.5, -0.25]]})
    assert loss_value == pytest.approx(np.tanh(0.0))
    np.testing.assert_allclose(grads[0], [[1.0, 2.0]])
    np.testing.assert_allclose(grads[1], [[0.5], [-0.25]])


async def test_none_and_second_order(async_client):
    x = gs.placeholder(gs.float64, [2], name="x")
    c = gs.constant([1.0, 2.0], gs.float64)
    [g, none] = await async_client.gradients(gs.reduce_sum(x ** 3), [x, c])
    assert none is None
    [h] = await async_client.gradients(g, x)
    np.testing.assert_allclose(await async_client.run(h, {x: [1.0, -2.0]}), [6.0, -12.0])


async def test_building_on_a_pending_gradient_needs_resolve(async_client):
    x = gs.placeholder(gs.float32, [2], name="x")
    [dx] = await async_client.gradients(gs.reduce_sum(x * x), x)
    with pytest.raises(RuntimeError, match="resolve"):
        x - dx
    await async_client.resolve([dx])
    np.testing.assert_allclose(await async_client.run(x - dx, {x: [1, 2]}), [-1, -2])


async def test_errors(async_client):
    x = gs.placeholder(gs.float32, [2], name="x")
    with pytest.raises(errors.InvalidArgumentError, match="feed"):
        await async_client.run(x + 1.0)
    with pytest.raises(RuntimeError):
        await async_client.gradients(1.0, x)
    assert "Mul" in {op["name"] for op in (await async_client.list_ops())["ops"]}
