"""`python -m service` in a subprocess on 127.0.0.1 (a free port), for the tests and the
operations scripts. `with Server(workers=2) as server:` ... `server.url`,
`server.worker_pids()`, `rss_mb(pid)`; stopped (SIGINT, then SIGKILL) when the `with` ends."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120.0
POLL_SECONDS = 0.05  # between readiness checks while starting: the resolution of coldstart
STOP_TIMEOUT = 30.0


class Server:
    def __init__(self, workers: int = 1, env: dict[str, str] | None = None,
                 log_path: Path | None = None):
        self.workers = workers
        self.env = {**os.environ, "GRADSERVE_LOG_LEVEL": "warning", **(env or {})}
        self.log_path = log_path
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            self.wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Until /v1/health/ready answers and every worker process is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                ready = httpx.get(self.url + "/v1/health/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                ready = False
            if ready and len(self.worker_pids()) == self.workers:
                return
            time.sleep(POLL_SECONDS)
        raise RuntimeError(f"the server was not ready in {timeout:.0f} s")

    def worker_pids(self) -> list[int]:
        """The processes serving requests: uvicorn's spawned workers, or the server itself
        when it runs one worker."""
        if self.workers == 1:
            return [self.process.pid]
        return [pid for pid in children(self.process.pid)
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def children(pid: int) -> list[int]:
    """The live child processes of `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def sockets(pid: int) -> int:
    """How many sockets a process holds open (its listening socket and its connections)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A field of a process's memory in /proc/PID/status, in MiB: resident (VmRSS), its
    peak (VmHWM), anonymous resident (RssAnon)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"{field} of process {pid}")
