"""`python -m scripts.fault [--clients 8] [--seconds 30]`: kills one worker process of a
`--workers 2` server (SIGKILL, found through /proc: the one holding the most connections)
a third of the way into a load of N clients, then checks that uvicorn replaces it and that no more requests failed than were
in flight when it died; reports how many. Stops by itself."""

import argparse
import asyncio
import json
import os
import signal
import time

from scripts.serve import Server, sockets
from scripts.traffic import Tally, client, for_seconds

WORKERS = 2
REPLACEMENT_TIMEOUT = 60.0


async def kill_one_worker_midway(server: Server, tally: Tally, delay: float) -> dict:
    await asyncio.sleep(delay)
    before = {pid: sockets(pid) for pid in server.worker_pids()}
    victim = max(before, key=before.get)
    in_flight, errors_before = tally.in_flight, tally.errors
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    while time.monotonic() - killed_at < REPLACEMENT_TIMEOUT:
        now = server.worker_pids()
        if len(now) == WORKERS and victim not in now:
            break
        await asyncio.sleep(0.05)
    replaced_after = time.monotonic() - killed_at
    return {"sockets_by_worker_before": before, "killed": victim, "workers_after": server.worker_pids(),
            "replaced_after_s": round(replaced_after, 2), "in_flight_at_kill": in_flight,
            "errors_before_kill": errors_before}


async def fault(server: Server, clients: int, seconds: float) -> dict:
    tally = Tally()
    keep_going = for_seconds(seconds)
    kill = asyncio.create_task(kill_one_worker_midway(server, tally, seconds / 3))
    await asyncio.gather(*(client(server.url, tally, keep_going) for _ in range(clients)))
    event = await kill
    replaced = len(event["workers_after"]) == WORKERS and event["killed"] not in event[
        "workers_after"]
    failed_by_the_kill = tally.errors - event["errors_before_kill"]
    return {**event, "replaced": replaced, "failed_by_the_kill": failed_by_the_kill,
            "at_most_in_flight_failed": failed_by_the_kill <= event["in_flight_at_kill"],
            "load": tally.report()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with Server(workers=WORKERS) as server:
        result = asyncio.run(fault(server, args.clients, args.seconds))
    print(json.dumps(result, indent=2))
    if not (result["replaced"] and result["at_most_in_flight_failed"]):
        raise SystemExit("FAILED: the worker was not replaced, or more than the in-flight "
                         "requests failed")


if __name__ == "__main__":
    main()
