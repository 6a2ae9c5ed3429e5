"""`python -m service [--host H] [--port P] [--workers N]`: serves the API with uvicorn.

Defaults come from Settings (GRADSERVE_HOST, GRADSERVE_PORT, GRADSERVE_WORKERS); each
worker builds its app with `service.app:create_app` and logs JSON lines. With several
workers, the metrics of all of them are gathered in PROMETHEUS_MULTIPROC_DIR: a fresh
temporary directory unless that variable is set (then that directory, emptied first).
"""

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import uvicorn

from service.logs import log_config
from service.settings import Settings

# prometheus_client's variable; set here before anything imports prometheus_client (the
# workers inherit it), so this module does not import service.metrics.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def main(argv: list[str] | None = None) -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--workers", type=int, default=settings.workers)
    args = parser.parse_args(argv)
    owned_dir = (_prepare_multiprocess_dir()
                 if args.workers > 1 or MULTIPROCESS_DIR in os.environ else None)
    try:
        uvicorn.run("service.app:create_app", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level=settings.log_level,
                    log_config=log_config(settings.log_level), access_log=False)
    finally:
        if owned_dir is not None:
            shutil.rmtree(owned_dir, ignore_errors=True)


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
