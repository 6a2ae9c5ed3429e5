"""`python -m scripts.wrk [--workers 2] [--connections 8] [--threads 1] [--seconds 20]
[--url URL]`: the reference latency measurement. wrk (a C load generator: apt-get install
wrk) posts the small graph of the tf.gradients docs (scripts/traffic.py's body) over
`--connections` keep-alive connections for T seconds, against a server this script starts
on 127.0.0.1 with `--workers` workers (or against --url); prints requests/s, p50/p90/p99
latency, non-2xx responses and (for a server it started) the CPU time its workers spent
per request, as JSON, with wrk's own report. Stops by itself."""

import argparse
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from scripts.serve import Server
from scripts.traffic import BODY, HEADERS

WARM_UP_SECONDS = 2  # a first short run: connections opened, caches filled

# wrk's Lua: the same POST on every request.
SCRIPT = 'wrk.method = "POST"\n' + "".join(
    f'wrk.headers["{name}"] = "{value}"\n' for name, value in HEADERS.items()) + (
    f"wrk.body = [==[{BODY.decode()}]==]\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk's threads")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--url", help="a running server instead of a new one")
    args = parser.parse_args()
    if args.url:
        print(json.dumps(measure(args.url, args.connections, args.threads, args.seconds),
                         indent=2))
        return
    with Server(workers=args.workers) as server:
        print(json.dumps({"workers": args.workers, **measure(
            server.url, args.connections, args.threads, args.seconds, server.worker_pids())},
            indent=2))


def measure(url: str, connections: int, threads: int, seconds: int,
            workers: list[int] = ()) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory, "post.lua")
        script.write_text(SCRIPT)
        run_wrk(url, script, connections, threads, WARM_UP_SECONDS)
        cpu_before = sum(map(cpu_seconds, workers))
        report = run_wrk(url, script, connections, threads, seconds)
        cpu = sum(map(cpu_seconds, workers)) - cpu_before
    requests = int(re.search(r"(\d+) requests in", report)[1])
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", report, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    errors = re.search(r"Socket errors: (.*)", report)
    return {"connections": connections, "wrk_threads": threads, "seconds": seconds,
            "requests_per_second": float(re.search(r"Requests/sec:\s+(\S+)", report)[1]),
            "p50": percentiles["50"], "p90": percentiles["90"], "p99": percentiles["99"],
            "non_2xx": int(non_2xx[1]) if non_2xx else 0,
            "socket_errors": errors[1] if errors else None,
            "worker_cpu_ms_per_request": round(1000 * cpu / requests, 3) if workers else None,
            "wrk_report": report.splitlines()}


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    user, system = stat[stat.rindex(")") + 2:].split()[11:13]
    return (int(user) + int(system)) / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, script: Path, connections: int, threads: int, seconds: int) -> str:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
               "-s", str(script), url + "/v1/gradients"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


if __name__ == "__main__":
    main()
