"""`python -m scripts.soak [--requests 20000] [--clients 8]`: posts the small graph of the
tf.gradients docs that many times to a `--workers 2` server, sampling each worker's
anonymous resident memory (RssAnon, from /proc: the heap, which a leak grows; file-backed
pages come and go with the machine's page reclaim) along the way, and reports it after
warm-up, at the end, and its growth in MB: steady memory means no leak per request. Stops
by itself."""

import argparse
import asyncio
import json

from scripts.serve import Server, rss_mb
from scripts.traffic import Tally, client, for_requests

WORKERS = 2
WARM_UP_REQUESTS = 1000
SAMPLES = 10
MEMORY = "RssAnon"


async def soak(server: Server, requests: int, clients: int) -> dict:
    tally = Tally()
    keep_going = for_requests(requests)
    load = asyncio.gather(*(client(server.url, tally, keep_going) for _ in range(clients)))
    samples = []
    next_sample = WARM_UP_REQUESTS
    while not load.done():
        if tally.sent >= next_sample:
            samples.append(sample(server, tally))
            next_sample += (requests - WARM_UP_REQUESTS) // SAMPLES
        await asyncio.sleep(0.05)
    await load
    samples.append(sample(server, tally))
    first, last = samples[0]["anon_mb"], samples[-1]["anon_mb"]
    return {"load": tally.report(), "memory_samples": samples,
            "growth_after_warm_up_mb": {pid: round(last[pid] - first[pid], 1) for pid in last
                                        if pid in first}}


def sample(server: Server, tally: Tally) -> dict:
    return {"requests": tally.sent,
            "anon_mb": {pid: round(rss_mb(pid, MEMORY), 1) for pid in server.worker_pids()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with Server(workers=WORKERS) as server:
        print(json.dumps(asyncio.run(soak(server, args.requests, args.clients)), indent=2))


if __name__ == "__main__":
    main()
