"""One adapter per framework: how a workload's loss becomes gradients there.

An adapter is made from a Workload and offers
- `first()`: the cold path in a fresh process, from the inputs in NumPy to the first
  gradients in hand (construct the forward and backward graphs, compile, evaluate once):
  (seconds, gradients as NumPy arrays in the order of `workload.xs`);
- `step()`: one evaluation (forward + backward) after that, gradients materialised;
- `build()`: seconds to construct the backward graph of a freshly built forward graph,
  or None where the framework has no such step (PyTorch records it during the forward);
- `details()`: extra figures for the report (graph sizes, server timings, bytes).
"""

from importlib import import_module
from importlib.util import find_spec

FRAMEWORKS = ("gradserve", "gradserve-http", "tensorflow", "pytorch", "jax")
ANCHORS = ("tensorflow", "pytorch", "jax")
_MODULES = {"gradserve": "gradserve", "gradserve-http": "http", "tensorflow": "tensorflow",
            "pytorch": "pytorch", "jax": "jax"}
_REQUIRES = {"tensorflow": "tensorflow", "pytorch": "torch", "jax": "jax",
             "gradserve-http": "uvicorn"}


THREADS_VARIABLE = "GRADSERVE_BENCH_THREADS"


def thread_env(threads: int) -> dict[str, str]:
    """The environment that limits every framework (and NumPy's BLAS) to `threads`
    threads; empty for 0 (each framework's own default)."""
    if not threads:
        return {}
    env = {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                           "MKL_NUM_THREADS", THREADS_VARIABLE)}
    if threads == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return env


def threads() -> int:
    """The thread limit of this run (0: none), as set by thread_env."""
    import os
    return int(os.environ.get(THREADS_VARIABLE, "0"))


def pin_to_thread_budget() -> None:
    """Confines this process to the first `threads()` of its CPUs (nothing for 0). Thread
    settings alone do not hold every framework to the budget: XLA's CPU runtime ran JAX's
    mlp on 1.6 cores with every flag set to one thread."""
    import os
    budget = threads()
    if budget and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:budget])


def missing(framework: str) -> str | None:
    """The package a framework needs that is not installed, or None."""
    package = _REQUIRES.get(framework)
    return package if package and find_spec(package) is None else None


def adapter(framework: str, workload, **options):
    return import_module(f"benchmarks.frameworks.{_MODULES[framework]}").Adapter(workload, **options)
