"""Prometheus metrics. With several worker processes, `python -m service` points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before the workers start: each process then
writes its samples there and GET /metrics adds up every worker's (prometheus_client's
multiprocess mode)."""

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter("gradserve_requests", "HTTP requests by route, method and status.",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram("gradserve_request_duration_seconds",
                            "HTTP request latency, from the first byte read to the last sent.",
                            ["route", "method"], buckets=_SECONDS)
EVALUATION_SECONDS = Histogram("gradserve_evaluation_duration_seconds",
                               "Time computing values (Server-Timing's eval stage).",
                               buckets=_SECONDS)
GRAPH_NODES = Histogram("gradserve_graph_nodes", "Nodes in the posted graphs.",
                        buckets=(1, 10, 100, 1_000, 10_000, 100_000, 1_000_000))
PROGRAM_LOOKUPS = Counter("gradserve_program_lookups",
                          "Programs (graph, ys, xs, options) looked up in the worker's cache "
                          "by content id, by result: hit (not imported, built nor planned "
                          "again) or miss.", ["result"])
LIMIT_REJECTIONS = Counter("gradserve_limit_rejections",
                           "Requests refused by a limit, by the setting that refused them.",
                           ["limit"])


def exposition() -> bytes:
    """Every metric in the Prometheus text format, summed over the worker processes."""
    if MULTIPROCESS_DIR not in os.environ:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)

