"""`python -m service [--host H] [--port P] [--workers N]`: serves the API with uvicorn.

Defaults come from Settings (GRADSERVE_HOST, GRADSERVE_PORT, GRADSERVE_WORKERS); each
worker builds its app with `service.app:create_app` and logs JSON lines. With several
workers, the metrics of all of them are gathered in PROMETHEUS_MULTIPROC_DIR: a fresh
temporary directory unless that variable is set (then that directory, emptied first).

Each worker gets a share of the CPUs: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS,
NUMBA_NUM_THREADS and GRADSERVE_THREADS (the fused executor's threads) default to
GRADSERVE_THREADS if set, else max(1, CPUs // workers), so that N workers don't run N x CPUs
BLAS threads. Uvicorn spawns its workers as fresh interpreters, which inherit these variables
and read them when NumPy loads; this module does not import NumPy (nor the core), so with
one worker, served in this process, they apply too.
"""

import argparse
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import uvicorn

from service.logs import log_config
from service.settings import Settings

# prometheus_client's variable; set here before anything imports prometheus_client (the
# workers inherit it), so this module does not import service.metrics.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
THREADS = "GRADSERVE_THREADS"
THREAD_VARIABLES = (THREADS, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def main(argv: list[str] | None = None) -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--workers", type=int, default=settings.workers)
    args = parser.parse_args(argv)
    os.environ.update(worker_threads(args.workers, os.environ, _cpus()))
    owned_dir = (_prepare_multiprocess_dir()
                 if args.workers > 1 or MULTIPROCESS_DIR in os.environ else None)
    try:
        uvicorn.run("service.app:create_app", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level=settings.log_level,
                    log_config=log_config(settings.log_level), access_log=False)
    finally:
        if owned_dir is not None:
            shutil.rmtree(owned_dir, ignore_errors=True)


def worker_threads(workers: int, environ: Mapping[str, str], cpus: int) -> dict[str, str]:
    """The thread variables to set for each worker: those of THREAD_VARIABLES not set in
    `environ`, each to GRADSERVE_THREADS if set, else to the worker's share of the CPUs."""
    budget = environ.get(THREADS) or str(max(1, cpus // workers))
    return {name: budget for name in THREAD_VARIABLES if not environ.get(name)}


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _prepare_multiprocess_dir() -> str | None:
    """Points PROMETHEUS_MULTIPROC_DIR, inherited by the workers, at an empty directory;
    returns it when it was made here (to remove at exit)."""
    given = os.environ.get(MULTIPROCESS_DIR)
    if given:
        directory = Path(given)
        shutil.rmtree(directory, ignore_errors=True)  # samples of an earlier run would count
        directory.mkdir(parents=True, exist_ok=True)
        return None
    os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="gradserve-metrics-")
    return os.environ[MULTIPROCESS_DIR]


if __name__ == "__main__":
    main()
