"""The service in process for tests that need it over real HTTP: uvicorn on a free
localhost port in a background thread."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from service.app import create_app


@contextmanager
def serving() -> Iterator[int]:
    """Serves create_app() until the block ends; yields the port once it is ready."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    deadline = time.monotonic() + 30
    while not (server.started and _ready(port)):  # ready: warmed up
        assert time.monotonic() < deadline and thread.is_alive(), "the service did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def _ready(port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/v1/health/ready").status_code == 200
