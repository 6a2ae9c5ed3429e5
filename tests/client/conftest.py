"""The service in process for the SDK's tests: uvicorn on a free localhost port in a
background thread (for the sync Client), or httpx's ASGI transport (for AsyncClient)."""

from collections.abc import AsyncIterator, Iterator

import gradserve as gs
import httpx
import pytest

from service.app import create_app
from tests.service_thread import serving


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    with serving() as port:
        yield f"http://127.0.0.1:{port}"


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
