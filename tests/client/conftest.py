"""The service in process for the SDK's tests: uvicorn on a free localhost port in a
background thread (for the sync Client), or httpx's ASGI transport (for AsyncClient)."""

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import gradserve as gs
import httpx
import pytest
import uvicorn

from service.app import create_app


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the service did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


class CountingTransport(httpx.HTTPTransport):
    """An HTTP transport that records the method and path of each request."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return super().handle_request(request)


@pytest.fixture
def transport() -> CountingTransport:
    return CountingTransport()


@pytest.fixture
def client(server_url: str, transport: CountingTransport) -> Iterator[gs.Client]:
    with gs.Client(server_url, transport=transport) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def async_client() -> AsyncIterator[gs.AsyncClient]:
    async with gs.AsyncClient("http://gradserve",
                              transport=httpx.ASGITransport(create_app())) as c:
        yield c


@pytest.fixture(autouse=True)
def fresh_default_graph() -> None:
    gs.reset_default_graph()
