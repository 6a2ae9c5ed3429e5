"""The workloads of shared/bench/WORKLOADS.md, one module each.

A workload module holds its constants (`NAME`, `SUMMARY`, `EVALUATES`, `OPS`) and
`make(small=False) -> Workload`: the seeded inputs and the same loss written once per
framework, each in that framework's own idiom, with identical shapes and dtypes. Every
gradserve path (in-process and over HTTP) builds its graph with the one `gradserve`
function; the HTTP path sends that graph as wire JSON.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType

import numpy as np

NAMES = ("mlp", "cnn", "elementwise", "scalar_chain", "build_large", "embedding", "payload")


@dataclass
class Workload:
    """What every framework needs: `inputs` (name -> array; each becomes a placeholder or
    an argument), the names of the inputs differentiated (`xs`, in gradient order) and
    the scalar loss per framework, each called as `fn(framework_module, values)` with
    `values` mapping every input name to that framework's tensor."""
    name: str
    inputs: dict[str, np.ndarray]
    xs: tuple[str, ...]
    gradserve: Callable
    tensorflow: Callable
    pytorch: Callable
    jax: Callable
    evaluates: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def rtol(self) -> float:
        """The tolerance of the cross-framework check: float32 1e-3, float64 1e-6."""
        dtypes = {self.inputs[x].dtype for x in self.xs}
        return 1e-6 if dtypes == {np.dtype(np.float64)} else 1e-3


def module(name: str) -> ModuleType:
    if name not in NAMES:
        raise ValueError(f"unknown workload {name!r}; known: {', '.join(NAMES)}")
    return import_module(f"benchmarks.workloads.{name}")


def make(name: str, small: bool = False) -> Workload:
    return module(name).make(small)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)
