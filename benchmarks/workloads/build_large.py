"""build_large: the scalar_chain recipe at 20,000 steps over [16]-vectors (float64); the
time to construct the backward graph of sum w.r.t. the placeholder, with no evaluation.
(About 50,000 forward nodes in gradserve, and as many again for the gradients.)"""

from benchmarks.workloads import Workload
from benchmarks.workloads.scalar_chain import OPS, workload  # noqa: F401

NAME = "build_large"
SUMMARY = "scalar_chain recipe, 20,000 steps over [16]-vectors; backward construction only"
EVALUATES = False


def make(small: bool = False) -> Workload:
    return workload(NAME, 100 if small else 20_000, (4,) if small else (16,), False)
