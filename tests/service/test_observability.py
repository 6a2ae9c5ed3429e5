"""/metrics in the Prometheus text format, X-Request-ID, one JSON log line per request,
unexpected errors logged with their traceback, a disconnected client not an error."""

import json
import logging

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

import core.program
from service.app import create_app
from service.logs import JsonFormatter
from service.settings import Settings
from tests.service.conftest import client_for
from tests.service.wire import data, node, placeholder, request

pytestmark = pytest.mark.anyio

BODY = request([placeholder("x", [2]), node("y", "Square", "x")], "y", "x",
               feeds={"x": data(np.float32([1, 2]))})


async def samples(client) -> dict[tuple[str, tuple], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


async def test_metrics_count_requests_latencies_evaluations_graphs_and_rejections(client):
    before = await samples(client)
    assert (await client.post("/v1/gradients", json=BODY)).status_code == 200
    assert (await client.get("/v2/nothing")).status_code == 404
    too_long = request([placeholder("x" * 2000, [2])], "x", "x")
    assert (await client.post("/v1/gradients", json=too_long)).status_code == 413
    after = await samples(client)

    def grew(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("gradserve_requests_total", route="/v1/gradients", method="POST",
                status="200") == 1
    assert grew("gradserve_requests_total", route="/v1/gradients", method="POST",
                status="413") == 1
    assert grew("gradserve_requests_total", route="unmatched", method="GET", status="404") == 1
    assert grew("gradserve_request_duration_seconds_count", route="/v1/gradients",
                method="POST") == 2
    assert grew("gradserve_evaluation_duration_seconds_count") == 1
    assert grew("gradserve_graph_nodes_count") == 1 and grew("gradserve_graph_nodes_sum") == 2
    assert grew("gradserve_limit_rejections_total", limit="max_name_length") == 1


async def test_request_ids_are_echoed_or_made(client):
    given = await client.get("/v1/health/live", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = await client.get("/v1/health/live", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["X-Request-ID"]) == 32


async def test_one_json_access_line_per_request(client, caplog):
    caplog.set_level(logging.INFO, logger="service.access")
    await client.post("/v1/gradients", json=BODY, headers={"X-Request-ID": "req-1"})
    [record] = [r for r in caplog.records if r.name == "service.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["method"] == "POST" and line["path"] == "/v1/gradients"
    assert line["status"] == 200 and line["request_id"] == "req-1"
    assert line["duration_ms"] >= 0 and line["client"] and line["level"] == "info"


async def test_unexpected_errors_are_logged_with_their_traceback(monkeypatch, caplog):
    def fail(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(core.program, "gradients", fail)
    async with client_for(Settings(), raise_app_exceptions=False) as client:
        response = await client.post("/v1/gradients", json=BODY)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    line = json.loads(JsonFormatter().format(record))
    assert "RuntimeError: a bug" in line["traceback"]
    assert response.json()["request_id"] in line["message"]


async def test_a_client_that_disconnects_is_not_an_error(caplog):
    caplog.set_level(logging.INFO, logger="service")
    app = create_app(Settings())
    sent = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/gradients", "query_string": b"",
             "headers": [], "client": ("127.0.0.1", 1), "server": None, "scheme": "http",
             "root_path": "", "http_version": "1.1"}
    await app(scope, receive, send)  # reading the body raises Starlette's ClientDisconnect
    assert not sent
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    [record] = [r for r in caplog.records if r.name == "service.access"]
    assert record.status == 499
