"""`python -m scripts.load [--clients 8] [--seconds 20] [--workers 2] [--url URL]`: N
concurrent clients post the small graph of the tf.gradients docs for T seconds, against a
server this script starts on 127.0.0.1 with `--workers` workers (or against --url), then
report requests/s, failures and p50/p99 latency, and check that /metrics, summed over the
workers, counted every request. Stops by itself."""

import argparse
import asyncio
import json

from scripts.serve import Server
from scripts.traffic import for_seconds, run_clients, served_requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--url", help="a running server (on this machine) instead of a new one")
    args = parser.parse_args()
    if args.url:
        print(json.dumps(measure(args.url, args.clients, args.seconds), indent=2))
        return
    with Server(workers=args.workers) as server:
        print(json.dumps({"workers": args.workers, **measure(server.url, args.clients,
                                                               args.seconds)}, indent=2))


def measure(url: str, clients: int, seconds: float) -> dict:
    before = served_requests(url)
    tally = asyncio.run(run_clients(url, clients, for_seconds(seconds)))
    return {"clients": clients, **tally.report(),
            "counted_by_metrics": served_requests(url) - before}


if __name__ == "__main__":
    main()
