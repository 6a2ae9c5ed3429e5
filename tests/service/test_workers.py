"""`python -m service --workers 2`: /metrics sums every worker's samples (prometheus_client's
multiprocess mode in a directory the server makes and removes), both workers serve, and
each has its share of the CPUs as its thread budget."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from scripts.serve import Server, children
from scripts.traffic import BODY, HEADERS, served_requests
from service.__main__ import THREAD_VARIABLES, worker_threads

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


def test_each_worker_gets_its_share_of_the_cpus_as_threads():
    share = str(max(1, len(os.sched_getaffinity(0)) // 2))
    given = {name: "" for name in THREAD_VARIABLES} | {"MKL_NUM_THREADS": "3"}
    with Server(workers=2, env=given) as server:
        for worker in server.worker_pids():
            environ = environment(worker)
            assert {name: environ[name] for name in THREAD_VARIABLES} == {
                name: "3" if name == "MKL_NUM_THREADS" else share for name in THREAD_VARIABLES}


def test_thread_budget_is_the_cpus_shared_by_the_workers_unless_set():
    assert worker_threads(2, {}, cpus=8) == dict.fromkeys(THREAD_VARIABLES, "4")
    assert worker_threads(4, {}, cpus=2) == dict.fromkeys(THREAD_VARIABLES, "1")
    assert worker_threads(2, {"GRADSERVE_THREADS": "3", "OMP_NUM_THREADS": "2"}, cpus=8) == {
        name: "3" for name in THREAD_VARIABLES if name not in ("GRADSERVE_THREADS",
                                                              "OMP_NUM_THREADS")}


def test_the_launcher_sets_the_threads_before_numpy_loads():
    """With one worker uvicorn serves in the launcher's process: NumPy must load after."""
    code = "import sys, service.__main__; assert 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def multiprocess_dir(pid: int) -> str:
    """The PROMETHEUS_MULTIPROC_DIR a process was started with."""
    return environment(pid)["PROMETHEUS_MULTIPROC_DIR"]


def environment(pid: int) -> dict[str, str]:
    """The environment a process was started with."""
    items = Path(f"/proc/{pid}/environ").read_text().split("\0")
    return dict(item.split("=", 1) for item in items if "=" in item)
