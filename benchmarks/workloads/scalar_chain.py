"""scalar_chain: 2,000 float64 scalar steps in a random DAG, then Sum; the gradient
w.r.t. the scalar placeholder x.

The recipe (seeded, the same for every framework): values start as [x]; step k picks
one of four kinds and two values a, b among the 64 most recent, and appends
    mul         a * b
    sin_add     (sin(a) + b) * 0.5
    tanh        tanh(a + b)
    sub_scaled  (a - b) * 0.5
(every kind maps [-1, 1] into [-1, 1], so nothing overflows however long the chain).
The loss is sum(add_n(the last 64 values)). At 2,000 steps gradserve's forward graph has
about 5,000 nodes: the workload measures per-node overhead, not arithmetic."""

from types import SimpleNamespace

import numpy as np

from benchmarks.workloads import Workload, rng

NAME = "scalar_chain"
SUMMARY = "2,000 random scalar float64 steps (mul, sin+add, tanh, sub-scaled) over a 64-value window"
EVALUATES = True
OPS = ("Mul", "Sin", "AddV2", "Tanh", "Sub", "AddN", "Sum")
XS = ("x",)
KINDS = ("mul", "sin_add", "tanh", "sub_scaled")
WINDOW = 64


def recipe(steps: int, seed: int = 1) -> list[tuple[str, int, int]]:
    """(kind, index of a, index of b) per step, indices into the list of values."""
    r = rng(seed)
    kinds = r.integers(0, len(KINDS), steps)
    result = []
    for k in range(steps):
        count = k + 1
        a, b = r.integers(max(0, count - WINDOW), count, 2)
        result.append((KINDS[kinds[k]], int(a), int(b)))
    return result


def chain(m, x, steps: list[tuple[str, int, int]]):
    values = [x]
    for kind, i, j in steps:
        a, b = values[i], values[j]
        if kind == "mul":
            values.append(a * b)
        elif kind == "sin_add":
            values.append((m.sin(a) + b) * 0.5)
        elif kind == "tanh":
            values.append(m.tanh(a + b))
        else:
            values.append((a - b) * 0.5)
    return m.sum(m.add_n(values[-WINDOW:]))


def namespaces():
    """Each framework's sin, tanh, add_n (of a list) and full sum."""
    def gradserve():
        from core import build
        return SimpleNamespace(
            sin=lambda x: build.op("Sin", x), tanh=lambda x: build.op("Tanh", x),
            add_n=build.add_n, sum=lambda x: build.reduce_sum(x, list(range(len(x.shape)))))

    def tensorflow(tf):
        return SimpleNamespace(sin=tf.sin, tanh=tf.tanh, add_n=tf.add_n, sum=tf.reduce_sum)

    def pytorch(torch):
        return SimpleNamespace(sin=torch.sin, tanh=torch.tanh,
                               add_n=lambda xs: torch.stack(xs).sum(0), sum=torch.sum)

    def jax(jax):
        jnp = jax.numpy
        return SimpleNamespace(sin=jnp.sin, tanh=jnp.tanh,
                               add_n=lambda xs: jnp.stack(xs).sum(0), sum=jnp.sum)

    return gradserve, tensorflow, pytorch, jax


def workload(name: str, steps: int, shape: tuple[int, ...], evaluates: bool) -> Workload:
    plan = recipe(steps)
    x = (rng(0).uniform(-1, 1, shape) if shape else np.asarray(0.5)).astype(np.float64)
    gs, tf_m, torch_m, jax_m = namespaces()
    return Workload(
        name, {"x": x}, XS,
        gradserve=lambda v: chain(gs(), v["x"], plan),
        tensorflow=lambda tf, v: chain(tf_m(tf), v["x"], plan),
        pytorch=lambda torch, v: chain(torch_m(torch), v["x"], plan),
        jax=lambda jax, v: chain(jax_m(jax), v["x"], plan),
        evaluates=evaluates, extra={"steps": steps})


def make(small: bool = False) -> Workload:
    return workload(NAME, 50 if small else 2000, (), True)
