"""The service's wire extensions (docs/wire-extensions.md): `fetches`, `evaluate: false`,
`return_graph: "added"` with `outputs` on POST /v1/gradients, and POST /v1/run."""

import numpy as np
import pytest

from schemas import GradientResponse, RunResponse
from tests.service.wire import array, const, data, node, placeholder, request

pytestmark = pytest.mark.anyio

SQUARE = [placeholder("x", [None]), node("y", "Square", "x"), node("z", "Tanh", "y")]
X = np.float32([1, 2])


async def post(client, path: str, body: dict) -> dict:
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    assert set(dict(item.strip().split(";dur=") for item in
                    response.headers["Server-Timing"].split(","))) == {"parse", "build", "eval",
                                                                      "encode"}
    return response.json()


async def test_fetches_are_evaluated_with_the_gradients(client):
    body = await post(client, "/v1/gradients", request(SQUARE, "y", "x", feeds={"x": data(X)},
                                                       fetches=["z", "y"]))
    GradientResponse.model_validate(body)
    np.testing.assert_allclose(array(body["gradients"][0]), 2 * X)
    np.testing.assert_allclose(array(body["fetched"][0]), np.tanh(X ** 2), rtol=1e-6)
    np.testing.assert_allclose(array(body["fetched"][1]), X ** 2)


async def test_without_fetches_the_response_is_unchanged(client):
    body = await post(client, "/v1/gradients", request(SQUARE, "y", "x", feeds={"x": data(X)}))
    assert set(body) == {"gradients"}


async def test_evaluate_false_builds_without_feeds(client):
    body = await post(client, "/v1/gradients", request(SQUARE, "z", "x", evaluate=False,
                                                       return_graph=True))
    assert "gradients" not in body and body["gradient_refs"][0].startswith("gradients/")
    assert len(body["graph"]["nodes"]) > len(SQUARE)


async def test_return_graph_added_gives_only_the_new_nodes_and_their_outputs(client):
    body = await post(client, "/v1/gradients", request(SQUARE, "z", "x", return_graph="added",
                                                       evaluate=False))
    names = [n["name"] for n in body["graph"]["nodes"]]
    assert names and all(name.startswith("gradients/") for name in names)
    assert set(body["outputs"]) == set(names)
    [ref] = body["gradient_refs"]
    assert body["outputs"][ref.partition(":")[0]] == [{"dtype": "float32", "shape": [None]}]

    # The added nodes complete the request graph: its gradient can be run again.
    graph = {"nodes": SQUARE + body["graph"]["nodes"]}
    again = await post(client, "/v1/run", {"graph": graph, "fetches": ref,
                                           "feeds": {"x": data(X)}})
    np.testing.assert_allclose(array(again["fetched"][0]),
                               (1 - np.tanh(X ** 2) ** 2) * 2 * X, rtol=1e-5)


async def test_run_evaluates_fetches(client):
    nodes = [placeholder("x", [2]), const("c", [10, 20]), node("y", "Mul", "x", "c")]
    body = await post(client, "/v1/run", {"graph": {"nodes": nodes}, "fetches": ["y", "c"],
                                          "feeds": {"x": data(X)}})
    RunResponse.model_validate(body)
    assert [array(v).tolist() for v in body["fetched"]] == [[10, 40], [10, 20]]


async def test_run_answers_in_the_encoding_asked(client):
    nodes = [placeholder("x", [2]), node("y", "Neg", "x")]
    body = await post(client, "/v1/run", {"graph": {"nodes": nodes}, "fetches": "y",
                                          "feeds": {"x": data(X)}, "encoding": "b64"})
    assert "b64" in body["fetched"][0]


@pytest.mark.parametrize("body, status, exception", [
    ({"graph": {"nodes": []}}, 400, "ValueError"),
    ({"graph": {"nodes": []}, "fetches": "x", "feed": {}}, 400, "ValueError"),
    ({"graph": {"nodes": [placeholder("x", [2])]}, "fetches": "x"}, 422, "ValueError"),
    ({"graph": {"nodes": [placeholder("x", [2])]}, "fetches": "nope"}, 422, "ValueError"),
])
async def test_run_errors_are_problems(client, body, status, exception):
    response = await client.post("/v1/run", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["exception"] == exception
    assert "Server-Timing" in response.headers


async def test_unknown_fetch_on_gradients_is_a_value_error(client):
    response = await client.post("/v1/gradients", json=request(SQUARE, "y", "x", fetches="nope",
                                                               feeds={"x": data(X)}))
    assert response.status_code == 422 and response.json()["exception"] == "ValueError"
