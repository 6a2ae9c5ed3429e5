"""The W3C Server-Timing header of the compute endpoints (/v1/gradients, /v1/run)."""

from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter

STAGES = ("parse", "build", "eval", "encode")


class ServerTiming:
    """Milliseconds spent in each stage; a stage that did not run reports 0."""

    def __init__(self) -> None:
        self.ms = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        start = perf_counter()
        try:
            yield
        finally:
            self.ms[stage] += (perf_counter() - start) * 1000

    def header(self) -> str:
        return ", ".join(f"{stage};dur={ms:.3f}" for stage, ms in self.ms.items())
