"""A body up to GRADSERVE_INLINE_BODY_BYTES is computed on the event loop; a larger one in
a worker thread (the hop costs more than a small request)."""

import base64

import numpy as np
import pytest

from scripts.traffic import BODY, EXPECTED, HEADERS
from service import limits
from service.routes import common
from service.settings import Settings
from tests.service.conftest import client_for
from tests.service.test_graphs import evaluate, feeds, register

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("inline_body_bytes", "in_a_thread"),
                         [(len(BODY), False), (len(BODY) - 1, True), (0, True)])
async def test_small_bodies_are_computed_on_the_event_loop(monkeypatch, inline_body_bytes,
                                                           in_a_thread):
    hops = []
    run_in_threadpool = common.run_in_threadpool

    async def counted(function, *args):
        hops.append(function)
        return await run_in_threadpool(function, *args)

    monkeypatch.setattr(common, "run_in_threadpool", counted)
    async with client_for(Settings(inline_body_bytes=inline_body_bytes)) as client:
        response = await client.post("/v1/gradients", content=BODY, headers=HEADERS)
    assert response.status_code == 200 and response.json() == EXPECTED
    assert bool(hops) == in_a_thread


def _count_hops(monkeypatch) -> list:
    hops = []
    run_in_threadpool = common.run_in_threadpool

    async def counted(function, *args):
        hops.append(function)
        return await run_in_threadpool(function, *args)

    monkeypatch.setattr(common, "run_in_threadpool", counted)
    return hops


async def test_a_small_body_with_a_large_evaluation_moves_to_a_thread(monkeypatch):
    """A prepared graph's feeds are a tiny body, its evaluation can be anything: one over
    the event loop's budget (service/limits.py) starts over on a thread, same answer. (Every
    body counts as small here, so that only the evaluation's size decides.)"""
    hops = _count_hops(monkeypatch)
    batch = limits.INLINE_MAX_BYTES // 12 + 1  # x and its gradient: over the budget
    async with client_for(Settings(inline_body_bytes=2**30)) as client:
        graph_id = await register(client)
        small = await evaluate(client, graph_id, {"feeds": feeds(2)})
        assert not hops
        x = np.ones((batch, 3), np.float32)
        large = await evaluate(client, graph_id, {"feeds": {"x": {
            "dtype": "float32", "shape": [batch, 3], "b64": _b64(x)}}, "encoding": "b64"})
    assert len(hops) == 1
    assert small["gradients"][0]["shape"] == [2, 3] and large["gradients"][0]["shape"] == [batch, 3]


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(array.tobytes()).decode()
