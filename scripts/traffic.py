"""What the operations scripts send and count: the graph of the wire contract's example
(x[2,3] @ w[3,1], summed: the tf.gradients documentation's small graph), posted by N
concurrent clients, each on its own connection, until told to stop. A client refused
with 429 waits Retry-After seconds before its next request, as the SDK does."""

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

REQUEST = {
    "graph": {"nodes": [
        {"name": "x", "op": "Placeholder", "attrs": {"dtype": "float32", "shape": [None, 3]}},
        {"name": "w", "op": "Const", "attrs": {"value": {"dtype": "float32", "shape": [3, 1],
                                                         "data": [1, 2, 3]}}},
        {"name": "xw", "op": "MatMul", "inputs": ["x", "w"], "attrs": {"transpose_b": False}},
        {"name": "ax", "op": "Const", "attrs": {"value": {"dtype": "int32", "shape": [],
                                                          "data": [0]}}},
        {"name": "y", "op": "Sum", "inputs": ["xw", "ax"], "attrs": {"keep_dims": False}}]},
    "ys": ["y"], "xs": ["x", "w"],
    "feeds": {"x": {"dtype": "float32", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}},
}
BODY = json.dumps(REQUEST).encode()
HEADERS = {"Content-Type": "application/json"}
EXPECTED = {"gradients": [{"dtype": "float32", "shape": [2, 3], "data": [1, 2, 3, 1, 2, 3]},
                          {"dtype": "float32", "shape": [3, 1], "data": [5, 7, 9]}]}
REQUEST_TIMEOUT = 30.0


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, of the 200s
    outcomes: Counter = field(default_factory=Counter)    # "200", "429", "ReadError", ...
    wrong_answers: int = 0
    in_flight: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())

    @property
    def refused(self) -> int:
        """429s: a worker already running its GRADSERVE_MAX_CONCURRENT_EVALUATIONS."""
        return self.outcomes["429"]

    @property
    def errors(self) -> int:
        """Requests that failed: no response, a 5xx, or a wrong answer."""
        return self.sent - self.outcomes["200"] - self.refused + self.wrong_answers

    def report(self) -> dict:
        elapsed = time.perf_counter() - self.started
        ms = sorted(1000 * s for s in self.latencies) or [float("nan")]
        return {"requests": self.sent, "seconds": round(elapsed, 1),
                "requests_per_second": round(self.sent / elapsed, 1),
                "ok_per_second": round(self.outcomes["200"] / elapsed, 1),
                "errors": self.errors, "refused_429": self.refused,
                "outcomes": dict(self.outcomes),
                "p50_ms": round(statistics.median(ms), 2), "p99_ms": round(percentile(ms, 99), 2),
                "max_ms": round(ms[-1], 2)}


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


async def client(url: str, tally: Tally, keep_going: Callable[[], bool]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) as http:
        while keep_going():
            tally.in_flight += 1
            start = time.perf_counter()
            try:
                response = await http.post("/v1/gradients", content=BODY, headers=HEADERS)
            except httpx.HTTPError as error:
                tally.outcomes[type(error).__name__] += 1
                continue
            finally:
                tally.in_flight -= 1
            tally.outcomes[str(response.status_code)] += 1
            if response.status_code == 429:
                await asyncio.sleep(float(response.headers["Retry-After"]))
            elif response.status_code == 200:
                tally.latencies.append(time.perf_counter() - start)
                tally.wrong_answers += response.json() != EXPECTED


async def run_clients(url: str, clients: int, keep_going: Callable[[], bool]) -> Tally:
    tally = Tally()
    await asyncio.gather(*(client(url, tally, keep_going) for _ in range(clients)))
    return tally


def for_seconds(seconds: float) -> Callable[[], bool]:
    end = time.monotonic() + seconds
    return lambda: time.monotonic() < end


def for_requests(count: int) -> Callable[[], bool]:
    """True for the first `count` calls: `count` requests in all, over every client."""
    started = 0

    def keep_going() -> bool:
        nonlocal started
        started += 1
        return started <= count

    return keep_going


def served_requests(url: str) -> float:
    """gradserve_requests_total of /v1/gradients, summed over the worker processes."""
    text = httpx.get(url + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith('gradserve_requests_total{') and '"/v1/gradients"' in line)
