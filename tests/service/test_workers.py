"""`python -m service --workers 2`: /metrics sums every worker's samples (prometheus_client's
multiprocess mode in a directory the server makes and removes), and both workers serve."""

import os
from pathlib import Path

import httpx

from scripts.serve import Server, children
from scripts.traffic import BODY, HEADERS, served_requests

REQUESTS = 40


def test_metrics_count_the_requests_of_every_worker():
    with Server(workers=2) as server:
        workers = server.worker_pids()
        metrics_dir = multiprocess_dir(workers[0])
        before = served_requests(server.url)
        for _ in range(REQUESTS):  # a new connection each: the kernel spreads them
            response = httpx.post(server.url + "/v1/gradients", content=BODY, headers=HEADERS)
            assert response.status_code == 200
        counts = {served_requests(server.url) - before for _ in range(10)}
        assert counts == {REQUESTS}  # whichever worker answers /metrics
        assert len(os.listdir(metrics_dir)) >= len(workers)  # a file per process and kind
        assert set(children(server.process.pid)) >= set(workers)
    assert not os.path.exists(metrics_dir)


def multiprocess_dir(pid: int) -> str:
    """The PROMETHEUS_MULTIPROC_DIR a process was started with."""
    environ = Path(f"/proc/{pid}/environ").read_text().split("\0")
    return next(item.split("=", 1)[1] for item in environ
                if item.startswith("PROMETHEUS_MULTIPROC_DIR="))
