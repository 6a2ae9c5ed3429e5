"""Errors as TensorFlow raises them, and retries only where they help."""

import socket

import gradserve as gs
import httpx
import numpy as np
import pytest
from gradserve import errors

OPS = {"dtypes": ["float32"], "ops": []}


def problem(status: int, exception: str | None = None, **headers: str) -> httpx.Response:
    body = {"type": "about:blank", "title": "t", "status": status, "detail": f"detail {status}",
            "node": "n", "request_id": "rid"}
    if exception:
        body["exception"] = exception
    return httpx.Response(status, json=body, headers=headers)


class Scripted(httpx.MockTransport):
    """Answers with the given responses (or raises the given exceptions) in turn."""

    def __init__(self, *replies: httpx.Response | Exception) -> None:
        self.replies = list(replies)
        self.calls = 0
        super().__init__(self.reply)

    def reply(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("gradserve.client.time.sleep", slept.append)
    return slept


def scripted_client(*replies, **options) -> tuple[gs.Client, Scripted]:
    transport = Scripted(*replies)
    return gs.Client("http://gradserve", transport=transport, **options), transport


@pytest.mark.parametrize("exception, cls, builtin", [
    ("ValueError", errors.InvalidArgumentError, ValueError),
    ("LookupError", errors.NoGradientError, LookupError),
    ("TypeError", errors.GradientTypeError, TypeError),
    (None, errors.APIStatusError, errors.APIError),
])
def test_problems_become_the_exception_they_name(exception, cls, builtin, sleeps):
    client, _ = scripted_client(problem(422 if exception else 404, exception))
    with pytest.raises(builtin) as raised:
        client.list_ops()
    error = raised.value
    assert type(error) is cls and isinstance(error, errors.GradserveError)
    assert (error.status, error.title, error.detail, error.node, error.request_id) == (
        422 if exception else 404, "t", f"detail {422 if exception else 404}", "n", "rid")
    assert sleeps == []


def test_errors_from_the_service(client):
    x = gs.placeholder(gs.float32, [2], name="x")
    with pytest.raises(errors.InvalidArgumentError, match="feed") as raised:
        client.run(x * 2.0)  # no value for x
    assert raised.value.status == 422 and raised.value.node == "x" and raised.value.request_id
    with pytest.raises(ValueError, match="shape"):
        client.run(x * 2.0, {x: np.ones(3)})


def test_503_then_200_is_retried(sleeps):
    client, transport = scripted_client(problem(503), httpx.Response(200, json=OPS))
    assert client.list_ops() == OPS
    assert transport.calls == 2 and len(sleeps) == 1 and 0.375 <= sleeps[0] <= 0.5


def test_retry_after_is_honoured(sleeps):
    client, _ = scripted_client(problem(429, **{"Retry-After": "3"}),
                                problem(503, **{"Retry-After": "0.25"}),
                                httpx.Response(200, json=OPS))
    assert client.list_ops() == OPS
    assert sleeps == [3.0, 0.25]


def test_backoff_grows_and_gives_up_after_max_retries(sleeps):
    client, transport = scripted_client(*[problem(503)] * 4, max_retries=3)
    with pytest.raises(errors.APIStatusError) as raised:
        client.list_ops()
    assert raised.value.status == 503 and transport.calls == 4
    assert [round(s / 2 ** i, 3) <= 0.5 for i, s in enumerate(sleeps)] == [True] * 3
    assert sleeps[2] > sleeps[0]


@pytest.mark.parametrize("status", [400, 413, 422, 500, 502])
def test_other_errors_are_not_retried(status, sleeps):
    client, transport = scripted_client(problem(status, "ValueError" if status < 500 else None),
                                        httpx.Response(200, json=OPS))
    with pytest.raises(errors.APIError):
        client.list_ops()
    assert transport.calls == 1 and sleeps == []


def test_connection_errors_are_retried_then_raised(sleeps):
    refused = httpx.ConnectError("refused")
    client, transport = scripted_client(refused, refused, refused)
    with pytest.raises(errors.APIConnectionError) as raised:
        client.list_ops()
    assert isinstance(raised.value, ConnectionError) and transport.calls == 3 and len(sleeps) == 2
    client, _ = scripted_client(refused, httpx.Response(200, json=OPS))
    assert client.list_ops() == OPS


def test_a_read_timeout_is_a_timeout_error_without_retry(sleeps):
    client, transport = scripted_client(httpx.ReadTimeout("slow"), httpx.Response(200, json=OPS))
    with pytest.raises(errors.APITimeoutError) as raised:
        client.list_ops()
    assert isinstance(raised.value, TimeoutError) and transport.calls == 1


def test_a_closed_port_is_a_connection_error(sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (gs.Client(f"http://127.0.0.1:{port}", max_retries=1) as client,
          pytest.raises(errors.APIConnectionError, match=str(port))):
        client.list_ops()


def test_timeouts_per_client_and_per_call(server_url):
    x = gs.placeholder(gs.float32, [1000, 1000], name="x")
    y = gs.reduce_sum(x @ x @ x)
    feeds = {x: np.ones((1000, 1000), np.float32)}
    with gs.Client(server_url, timeout=0.001, max_retries=0) as client:
        with pytest.raises(errors.APITimeoutError):
            client.run(y, feeds)
        assert client.run(y, feeds, timeout=60) == pytest.approx(1e12, rel=1e-3)
