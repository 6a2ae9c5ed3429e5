"""The limits of an evaluation, checked before the work they bound: its memory, estimated
from static shapes before anything is allocated (GRADSERVE_MAX_EVAL_BYTES); its wall time
(GRADSERVE_EVAL_TIMEOUT_SECONDS); and the evaluations at once in a worker process
(GRADSERVE_MAX_CONCURRENT_EVALUATIONS), beyond which a request is refused, not queued; and
what a computation started on the event loop may do there before it must move to a thread."""

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

import core
from core.program import Build, Results
from schemas import LimitExceeded
from service import metrics
from service.errors import Overloaded
from service.settings import Settings


# A small body is computed on the event loop (routes/common.py), because the hop to a worker
# thread costs more than a small request. It stays there only while the work ahead is small
# too: a program of at most INLINE_MAX_NODES nodes, a plan of at most INLINE_MAX_STEPS steps
# holding at most INLINE_MAX_BYTES at once. A prepared graph's tiny body can start a large
# evaluation; that one leaves the loop (LeaveEventLoop) and starts over on a thread.
INLINE_MAX_NODES = 512
INLINE_MAX_STEPS = 256
INLINE_MAX_BYTES = 1 << 20
on_event_loop: ContextVar[bool] = ContextVar("on_event_loop", default=False)


class LeaveEventLoop(Exception):
    """The computation begun on the event loop is too big for it: run it on a thread."""


def leave_event_loop_unless(small: bool) -> None:
    """LeaveEventLoop when running on the event loop and the work ahead is not `small`."""
    if not small and on_event_loop.get():
        raise LeaveEventLoop


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


def evaluate(build: Build, feeds: Mapping[str, np.ndarray], settings: Settings) -> Results:
    """`build` run with `feeds` within the memory and time limits: refused before it starts
    when the estimate is over GRADSERVE_MAX_EVAL_BYTES (naming the node that reaches it), or
    before the node of a shape unknown until then that would go over; stopped between two
    nodes past GRADSERVE_EVAL_TIMEOUT_SECONDS (DeadlineExceeded)."""
    leave_event_loop_unless(_small(build, feeds))
    start = time.monotonic()
    try:
        return build.run(feeds, max_bytes=settings.max_eval_bytes,
                         timeout=settings.eval_timeout_seconds)
    except core.ResourceLimitError as error:
        raise LimitExceeded("max_eval_bytes", str(error), error.node) from None
    finally:
        metrics.EVALUATION_SECONDS.observe(time.monotonic() - start)


def _small(build: Build, feeds: Mapping[str, np.ndarray]) -> bool:
    plan = build.plan
    if plan is None:
        return True
    if len(plan.steps) > INLINE_MAX_STEPS:
        return False
    peak, _ = plan.peak_bytes({t: feeds[ref] for ref, t in build.fed.items()})
    return peak <= INLINE_MAX_BYTES
