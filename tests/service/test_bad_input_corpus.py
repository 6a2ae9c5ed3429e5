"""A corpus of hostile and malformed requests against a real server (`python -m service`
in a subprocess): each gets its 4xx problem (or its 200, for odd but valid input), the
server answers a health check after every one, and afterwards the same process serves,
its memory stayed bounded and nothing was logged as an error."""

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import numpy as np
import pytest

from scripts.serve import Server, rss_mb
from tests.service.wire import const, data, node, placeholder, request

REQUEST_TIMEOUT = 120.0  # a hang guard, not a measurement
MEMORY_BOUND_MB = 2048   # the default GRADSERVE_MAX_EVAL_BYTES: no bomb gets near it


@dataclass
class Case:
    body: bytes
    status: int
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    path: str = "/v1/gradients"


def encoded(value) -> bytes:
    return json.dumps(value).encode()


def chain(length: int) -> dict:
    nodes = [placeholder("n0", [])] + [node(f"n{i}", "Sin", f"n{i - 1}")
                                       for i in range(1, length)]
    return request(nodes, f"n{length - 1}", "n0", feeds={"n0": data(np.float32(0.5))})


SQUARE = [placeholder("x", [2]), node("y", "Square", "x")]
X = {"x": data(np.float32([1, 2]))}
FILL_BOMB = [const("dims", [10**6, 10**6], "int32"), const("one", 1.0),
             node("f", "Fill", "dims", "one"), placeholder("x", []), node("y", "Mul", "f", "x")]
FED_FILL_BOMB = [placeholder("dims", [2], "int32"), const("one", 1.0),
                 node("f", "Fill", "dims", "one"), const("axes", [0, 1], "int32"),
                 node("y", "Sum", "f", "axes")]
BIG_B64 = base64.b64encode(bytes(60 * 2**20)).decode()  # 60 MiB of zeros, an 80 MiB string

CORPUS: dict[str, Case] = {
    "malformed JSON": Case(b'{"graph": {"nodes": [', 400),
    "empty body": Case(b"", 400),
    "not UTF-8": Case(b"\xff\xfe{}", 400),
    "a JSON array": Case(b"[]", 400),
    "nested 100,000 levels": Case(b"[" * 100_000 + b"]" * 100_000, 400),
    "nested 100,000 levels in an attribute": Case(
        b'{"graph": {"nodes": [{"name": "a", "op": "Const", "attrs": {"value": '
        + b"[" * 100_000 + b"]" * 100_000 + b"}}]}, \"ys\": \"a\", \"xs\": \"a\"}", 400),
    "a cycle": Case(encoded(request([placeholder("x", [2]), node("a", "Mul", "x", "b"),
                                     node("b", "Mul", "a", "x")], "b", "x", feeds=X)), 422),
    "a self loop": Case(encoded(request([node("a", "Neg", "a")], "a", "a")), 422),
    "a 100,000-node chain": Case(encoded(chain(100_000)), 200),
    "more nodes than GRADSERVE_MAX_NODES": Case(encoded(chain(200_001)), 413),
    "Fill [1e6, 1e6]": Case(encoded(request(FILL_BOMB, "y", "x",
                                            feeds={"x": data(np.float32(1))})), 413),
    "Fill with dims fed as [1e6, 1e6]": Case(encoded({
        "graph": {"nodes": FED_FILL_BOMB}, "fetches": "y",
        "feeds": {"dims": data(np.int32([10**6, 10**6]))}}), 413, path="/v1/run"),
    "Tile to [1e5, 1e5]": Case(encoded(request(
        [placeholder("x", [1, 1]), const("m", [10**5, 10**5], "int32"),
         node("t", "Tile", "x", "m"), node("y", "Square", "t")], "y", "x",
        feeds={"x": data(np.ones((1, 1), np.float32))})), 413),
    "BroadcastTo [1e6, 1e6]": Case(encoded(request(
        [placeholder("x", [1]), const("s", [10**6, 10**6], "int32"),
         node("b", "BroadcastTo", "x", "s"), node("y", "Square", "b")], "y", "x",
        feeds={"x": data(np.ones(1, np.float32))})), 413),
    "Reshape to an unknown shape, then Tile by fed multiples": Case(encoded({
        "graph": {"nodes": [placeholder("x", [None]), const("flat", [-1, 1], "int32"),
                            node("r", "Reshape", "x", "flat"),
                            placeholder("m", [2], "int32"), node("t", "Tile", "r", "m")]},
        "fetches": "t", "feeds": {"x": data(np.ones(4, np.float32)),
                                  "m": data(np.int32([10**5, 10**5]))}}), 413, path="/v1/run"),
    "a Const of 2^40 x 2^40 elements": Case(encoded(request(
        [node("c", "Const", value={"dtype": "float32", "shape": [2**40, 2**40], "b64": ""})],
        "c", "c")), 413),
    "80 MiB of b64 for 2 elements": Case(encoded(request(SQUARE, "y", "x", feeds={
        "x": {"dtype": "float32", "shape": [2], "b64": BIG_B64}})), 422),
    "80 MiB of b64 that is not base64": Case(encoded(request(SQUARE, "y", "x", feeds={
        "x": {"dtype": "uint8", "shape": [len(BIG_B64) * 3 // 4],
              "b64": "@" * len(BIG_B64)}})), 422),
    "a body over GRADSERVE_MAX_BODY_BYTES": Case(b" " * (128 * 2**20 + 1), 413),
    "NaN everywhere": Case(encoded(request(
        [placeholder("x", [3], "float64"),
         node("n", "Const", value={"dtype": "float64", "shape": [3], "data": ["NaN"] * 3}),
         node("y", "Mul", "x", "n")], "y", "x",
        feeds={"x": {"dtype": "float64", "shape": [3], "data": ["NaN", "Infinity", "-Infinity"]}})),
        200),
    "numbers past float64": Case(encoded(request(SQUARE, "y", "x", feeds={
        "x": {"dtype": "float32", "shape": [2], "data": [10**400, 1]}})), 422),
    "a unicode node name": Case(encoded(request([placeholder("ünïcødé", [2])], "ünïcødé",
                                                "ünïcødé")), 422),
    "an emoji and right-to-left op name": Case(encoded(request(
        [placeholder("x", [2]), node("y", "\u202eSquare🙂", "x")], "y", "x")), 422),
    "a NUL in a reference": Case(encoded(request(SQUARE, "y\u0000", "x", feeds=X)), 422),
    "a lone surrogate": Case(b'{"graph": {"nodes": []}, "ys": "\\ud800", "xs": "x"}', 400),
    "a 10 MB name": Case(encoded(request([placeholder("x" * 10**7, [2])], "x", "x")), 413),
    "duplicate JSON keys": Case(b'{"graph": {"nodes": []}, "graph": {"nodes": []}, '
                                b'"ys": "y", "ys": "x", "xs": "x"}', 422),
    "duplicate node names": Case(encoded(request([placeholder("x", [2]),
                                                  placeholder("x", [2])], "x", "x")), 422),
    "a shape attribute of rank 100,000": Case(encoded(request(
        [placeholder("x", [1] * 100_000), node("y", "Square", "x")], "y", "x")), 422),
    "a negative dimension": Case(encoded(request(SQUARE, "y", "x", feeds={
        "x": {"dtype": "float32", "shape": [-2], "data": [1, 2]}})), 400),
    "text/plain": Case(encoded(request(SQUARE, "y", "x", feeds=X)), 415,
                       headers={"Content-Type": "text/plain"}),
    "a form": Case(b"ys=y&xs=x", 415,
                   headers={"Content-Type": "application/x-www-form-urlencoded"}),
    "gzip junk": Case(b"\x1f\x8b\x08\x00junkjunkjunk", 415,
                      headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}),
    "gzip junk sent as plain JSON": Case(b"\x1f\x8b\x08\x00junkjunkjunk", 400),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    with Server(workers=1, log_path=log, env={"GRADSERVE_LOG_LEVEL": "info"}) as running:
        running.log = log
        yield running


@pytest.fixture(scope="module")
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) as client:
        yield client


@pytest.mark.parametrize("name", list(CORPUS))
def test_each_bad_input_gets_its_answer_and_the_server_stays_healthy(server, http, name):
    case = CORPUS[name]
    response = http.post(case.path, content=case.body, headers=case.headers)
    assert response.status_code == case.status, response.text[:500]
    if case.status != 200:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == case.status and len(problem["detail"]) < 2100
    assert http.get("/v1/health/ready").json() == {"status": "ok"}


def test_after_the_corpus_the_server_is_whole(server, http):
    """Runs after the corpus (pytest keeps a module's order): the same process serves, its
    memory peaked far below the bombs' sizes, and nothing was logged as an error."""
    assert server.process.poll() is None and server.worker_pids() == [server.process.pid]
    assert http.get("/v1/health/live").status_code == 200
    assert rss_mb(server.process.pid, "VmHWM") < MEMORY_BOUND_MB
    logged = [json.loads(line) for line in server.log.read_text().splitlines()
              if line.startswith("{")]
    assert any(entry.get("path") == "/v1/gradients" for entry in logged)
    assert not [entry for entry in logged if entry["level"] in ("error", "critical")]
