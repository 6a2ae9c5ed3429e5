"""JAX: jit(grad(loss)) over the differentiated inputs, the others passed as arguments.

Stages come from JAX's ahead-of-time API: `trace` (the jaxpr of forward and backward:
the backward graph's construction), `lower` + `compile` (XLA), then the call."""

import time

import jax

jax.config.update("jax_enable_x64", True)  # scalar_chain is float64; float32 stays float32


class Adapter:
    def __init__(self, workload):
        self.workload = workload
        arrays = {name: jax.numpy.asarray(value) for name, value in workload.inputs.items()}
        self.params = {x: arrays[x] for x in workload.xs}
        self.rest = {name: a for name, a in arrays.items() if name not in self.params}
        self.compiled = None
        self.stages = {}

    def _grad(self):
        workload = self.workload

        def loss(params, rest):
            return workload.jax(jax, {**rest, **params})

        return jax.jit(jax.grad(loss))  # a new function each time: nothing cached

    def _ordered(self, grads):
        return [grads[x] for x in self.workload.xs]

    def first(self):
        start = time.perf_counter()
        traced = self._grad().trace(self.params, self.rest)
        traced_at = time.perf_counter()
        self.compiled = traced.lower().compile()
        compiled_at = time.perf_counter()
        grads = jax.block_until_ready(self.compiled(self.params, self.rest))
        end = time.perf_counter()
        self.stages = {"trace_ms": (traced_at - start) * 1e3,
                       "compile_ms": (compiled_at - traced_at) * 1e3}
        return end - start, [jax.device_get(g) for g in self._ordered(grads)]

    def step(self):
        return jax.block_until_ready(self.compiled(self.params, self.rest))

    def build(self):
        start = time.perf_counter()
        self._grad().trace(self.params, self.rest)
        return time.perf_counter() - start

    def details(self):
        return {"version": jax.__version__, **self.stages}
