"""An HTTP client on a fresh app, in process (httpx over ASGI)."""

from collections.abc import AsyncIterator

import httpx
import pytest

from service.app import create_app
from service.settings import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(Settings()) as c:
        yield c


def client_for(settings: Settings, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(create_app(settings), raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://gradserve")
