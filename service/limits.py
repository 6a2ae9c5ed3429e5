"""The limits of an evaluation, checked before the work they bound: its memory, estimated
from static shapes before anything is allocated (GRADSERVE_MAX_EVAL_BYTES); its wall time
(GRADSERVE_EVAL_TIMEOUT_SECONDS); and the evaluations at once in a worker process
(GRADSERVE_MAX_CONCURRENT_EVALUATIONS), beyond which a request is refused, not queued."""

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

import core
from core.executor import Plan
from core.graph import parse_ref
from schemas import LimitExceeded
from service import metrics
from service.errors import Overloaded
from service.settings import Settings


class EvaluationSlots:
    """At most `capacity` evaluations at once. Used from the event loop only: no lock."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0

    @contextmanager
    def take(self) -> Iterator[None]:
        if self.in_use >= self.capacity:
            raise Overloaded(f"this worker is running {self.in_use} evaluations, the most it "
                             f"runs at once (GRADSERVE_MAX_CONCURRENT_EVALUATIONS); retry later")
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1


def import_graph(node_defs: list[core.NodeDef],
                 feeds: Mapping[str, np.ndarray] | None = None) -> core.Graph:
    """The request graph; with `feeds`, its fed placeholders take the fed shapes, so that
    every static shape downstream is known and the memory of an evaluation can be estimated
    (only for a graph that is not returned: it would carry the fed shapes)."""
    metrics.GRAPH_NODES.observe(len(node_defs))
    shapes = {}
    for ref, value in (feeds or {}).items():
        name, index, _ = parse_ref(ref)
        if index == 0:
            shapes[name] = value.shape
    return core.Graph.from_node_defs(node_defs, placeholder_shapes=shapes)


def evaluate(graph: core.Graph, fetches: Sequence[core.Tensor],
             feeds: Mapping[core.Tensor, np.ndarray], settings: Settings) -> list[np.ndarray]:
    """The values of `fetches`, within the memory and time limits: refused before it starts
    when the estimate is over GRADSERVE_MAX_EVAL_BYTES (naming the node that reaches it), or
    before the node of a shape unknown until then that would go over; stopped between two
    nodes past GRADSERVE_EVAL_TIMEOUT_SECONDS (DeadlineExceeded)."""
    plan = Plan(graph, fetches, feeds)
    peak, node = plan.peak_bytes(feeds)
    if peak > settings.max_eval_bytes:
        where = "in the feeds alone" if node is None else f"at node {node.name!r} ({node.op})"
        raise LimitExceeded("max_eval_bytes", f"the evaluation would hold {peak} bytes at once "
                            f"{where}, over the limit of {settings.max_eval_bytes}",
                            None if node is None else node.name)
    start = time.monotonic()
    try:
        return plan.run(feeds, deadline=start + settings.eval_timeout_seconds,
                        max_bytes=settings.max_eval_bytes)
    except core.ResourceLimitError as error:
        raise LimitExceeded("max_eval_bytes", str(error), error.node) from None
    finally:
        metrics.EVALUATION_SECONDS.observe(time.monotonic() - start)
