"""A gradserve server for the HTTP rows: `python -m service` on 127.0.0.1, on a free port,
in a subprocess of its own, stopped (and its peak RSS read) when the `with` ends."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# The payload workload's request with JSON arrays is about 350 MB, over the default limit
# of 128 MiB; the benchmark's server accepts up to 1 GiB.
MAX_BODY_BYTES = 2**30
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`with Server(log) as server:` ... `server.url`; afterwards `server.peak_rss_mb`."""

    def __init__(self, log_path: Path, env: dict[str, str] | None = None):
        self.log_path = log_path
        self.extra_env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.peak_rss_mb: float | None = None

    def __enter__(self) -> "Server":
        env = {**os.environ, "GRADSERVE_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
               "GRADSERVE_LOG_LEVEL": "warning", **self.extra_env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see "
                                   f"{self.log_path}")
            try:
                if httpx.get(self.url + "/v1/health/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the server did not become ready in {START_TIMEOUT:.0f} s")

    def __exit__(self, *exc) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        deadline = time.monotonic() + STOP_TIMEOUT
        while True:
            pid, _, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = 0
                self.peak_rss_mb = usage.ru_maxrss / 1024
                return
            if time.monotonic() > deadline:
                process.kill()
                _, _, usage = os.wait4(process.pid, 0)
                process.returncode = -9
                self.peak_rss_mb = usage.ru_maxrss / 1024
                return
            time.sleep(0.05)
