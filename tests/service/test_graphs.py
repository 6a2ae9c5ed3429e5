"""Prepared graphs: POST /v1/graphs registers a program under its content id, POST
/v1/graphs/{id}/gradients evaluates it with new feeds; a worker without the id says 404;
POST /v1/gradients and /v1/run reuse a program posted again."""

import json

import numpy as np
import pytest

from schemas import GradientResponse, RegisteredGraph, decode_program
from service.settings import Settings
from tests.service.conftest import client_for
from tests.service.wire import array, const, data, node, placeholder, request

pytestmark = pytest.mark.anyio

NODES = [placeholder("x", [None, 3]), const("w", [0.5, -1.0, 2.0]),
         node("xw", "Mul", "x", "w"), node("t", "Tanh", "xw"),
         const("axes", [0, 1], "int32"), node("y", "Sum", "t", "axes"),
         placeholder("unused", [3])]
PROGRAM = request(NODES, "y", ["x", "w", "unused"], fetches=["y"])


def feeds(batch: int, seed: int = 0) -> dict:
    x = np.random.default_rng(seed).standard_normal((batch, 3)).astype(np.float32)
    return {"x": data(x)}


async def register(client, body=PROGRAM, status=201) -> str:
    response = await client.post("/v1/graphs", json=body)
    assert response.status_code == status, response.text
    return RegisteredGraph.model_validate(response.json()).id


async def evaluate(client, graph_id: str, body: dict) -> dict:
    response = await client.post(f"/v1/graphs/{graph_id}/gradients", json=body)
    assert response.status_code == 200, response.text
    GradientResponse.model_validate(response.json())
    return response.json()


async def one_shot(client, body: dict) -> dict:
    response = await client.post("/v1/gradients", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_registration_gives_the_id_and_which_gradients_are_none(client):
    response = await client.post("/v1/graphs", json=PROGRAM)
    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "xs": ["x", "w", "unused"],
                               "gradients": ["dense", "dense", None], "fetches": ["y"]}
    assert await register(client, status=200) == response.json()["id"]


async def test_evaluations_match_the_one_shot_route_feed_after_feed(client):
    graph_id = await register(client)
    for batch, seed in ((2, 0), (2, 1), (7, 2)):
        prepared = await evaluate(client, graph_id, {"feeds": feeds(batch, seed)})
        assert prepared == await one_shot(client, {**PROGRAM, "feeds": feeds(batch, seed)})
        assert prepared["gradients"][2] is None
        assert array(prepared["gradients"][0]).shape == (batch, 3)


async def test_an_unknown_id_is_a_404_telling_to_register_again(client):
    graph_id = "0" * 64
    response = await client.post(f"/v1/graphs/{graph_id}/gradients", json={"feeds": feeds(2)})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Unknown graph id"
    assert graph_id in problem["detail"] and "POST /v1/graphs" in problem["detail"]


async def test_the_id_is_the_same_on_every_replica_and_a_replica_without_it_says_404():
    async with client_for(Settings()) as first, client_for(Settings()) as second:
        graph_id = await register(first)
        response = await second.post(f"/v1/graphs/{graph_id}/gradients", json={"feeds": feeds(2)})
        assert response.status_code == 404
        assert await register(second) == graph_id
        assert (await evaluate(second, graph_id, {"feeds": feeds(2)})
                == await evaluate(first, graph_id, {"feeds": feeds(2)}))


async def test_the_least_recently_used_graph_is_evicted():
    async with client_for(Settings(max_prepared_graphs=2)) as client:
        ids = [await register(client, request(NODES, "y", [x])) for x in ("x", "w")]
        await evaluate(client, ids[0], {"feeds": feeds(2)})  # ids[1] is now the oldest
        ids.append(await register(client, request(NODES, "y", ["unused"])))
        await evaluate(client, ids[0], {"feeds": feeds(2)})
        response = await client.post(f"/v1/graphs/{ids[1]}/gradients", json={"feeds": feeds(2)})
        assert response.status_code == 404


async def test_a_graph_can_be_deleted(client):
    graph_id = await register(client)
    assert (await client.delete(f"/v1/graphs/{graph_id}")).status_code == 204
    assert (await client.delete(f"/v1/graphs/{graph_id}")).status_code == 404
    response = await client.post(f"/v1/graphs/{graph_id}/gradients", json={"feeds": feeds(2)})
    assert response.status_code == 404


@pytest.mark.parametrize("body, status, detail", [
    ({"feeds": {"x": data(np.ones((2, 4), np.float32))}}, 422, "shape"),
    ({"feeds": {}}, 422, "must feed a value for placeholder tensor 'x'"),
    ({"feeds": {"nothing": data(np.ones(3, np.float32))}}, 422, "nothing"),
    ({"feeds": feeds(2), "graph": {"nodes": []}}, 400, "graph"),
])
async def test_bad_feeds_are_problems(client, body, status, detail):
    graph_id = await register(client)
    response = await client.post(f"/v1/graphs/{graph_id}/gradients", json=body)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


async def test_registration_errors_are_those_of_the_gradients_route(client):
    response = await client.post("/v1/graphs", json=request(NODES, "y", ["nothing"]))
    assert response.status_code == 422 and "nothing" in response.json()["detail"]
    response = await client.post("/v1/graphs", json={**PROGRAM, "feeds": feeds(2)})
    assert response.status_code == 400


async def test_the_limits_hold_for_prepared_graphs():
    async with client_for(Settings(max_eval_bytes=1000)) as client:
        graph_id = await register(client)
        response = await client.post(f"/v1/graphs/{graph_id}/gradients",
                                     json={"feeds": feeds(500)})
        assert response.status_code == 413 and "over the limit of 1000" in response.text


async def test_the_gradients_route_reuses_a_program_posted_again(client):
    body = {**PROGRAM, "feeds": feeds(3)}
    first = await one_shot(client, body)
    programs = client._transport.app.state.programs
    assert len(programs) == 1
    (program,) = [programs.get(await register(client, status=200))]
    build = program.build({"x": np.zeros((3, 3), np.float32)})
    assert await one_shot(client, body) == first
    assert program.build({"x": np.zeros((3, 3), np.float32)}) is build
    assert len(programs) == 1
    # The same program, built symbolically for a returned graph, and evaluated unspecialised.
    returned = await one_shot(client, {**body, "return_graph": "added"})
    assert returned["gradients"] == first["gradients"]
    assert returned["outputs"]["gradients/xw_grad/Mul"][0]["shape"] == [None, 3]
    metrics = (await client.get("/metrics")).text
    assert 'gradserve_program_lookups_total{result="hit"}' in metrics


async def test_the_run_route_reuses_a_program_posted_again(client):
    body = {"graph": {"nodes": NODES}, "fetches": ["t"], "feeds": feeds(2)}
    responses = [await client.post("/v1/run", json=body) for _ in range(2)]
    assert responses[0].json() == responses[1].json()
    assert len(client._transport.app.state.programs) == 1


async def test_a_program_posted_again_is_found_by_its_key_without_decoding(client, monkeypatch):
    from service.routes import gradients

    decoded = []
    monkeypatch.setattr(gradients, "decode_program",
                        lambda *args: decoded.append(args) or decode_program(*args))
    body = {**PROGRAM, "feeds": feeds(3)}
    first = await one_shot(client, body)
    assert await one_shot(client, {**body, "feeds": feeds(2, seed=1)}) != first
    assert await one_shot(client, body) == first and len(decoded) == 1
    # Posted otherwise (a list of one ref for the ref), it is decoded, and found by its id.
    assert await one_shot(client, {**body, "ys": ["y"]}) == first and len(decoded) == 2
    assert len(client._transport.app.state.programs) == 1


@pytest.mark.parametrize("token", ["NaN", "Infinity"])
async def test_programs_that_differ_in_a_non_finite_value_are_kept_apart(client, token):
    # y = sum(x * w), w = [token, 1, 1]: the gradient for x is w.
    body = request([placeholder("x", [3]), const("w", [0.0, 1.0, 1.0]),
                    node("xw", "Mul", "x", "w"), const("axes", [0], "int32"),
                    node("y", "Sum", "xw", "axes")], "y", ["x"])
    text = json.dumps({**body, "feeds": {"x": data(np.ones(3, np.float32))}})
    gradients = []
    for value in ("NaN", token):
        posted = text.replace("[0.0, 1.0, 1.0]", f"[{value}, 1.0, 1.0]")
        response = await client.post("/v1/gradients", content=posted,
                                      headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        gradients.append(response.json()["gradients"][0]["data"][0])
    assert gradients == ["NaN", token]
