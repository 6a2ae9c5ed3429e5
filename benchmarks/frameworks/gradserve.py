"""gradserve in-process: core.Graph + core.gradients + core.executor.Plan."""

import time

import core
from core.executor import Plan


def missing_ops(names) -> list[str]:
    return [name for name in names if core.registry.lookup(name) is None]


def forward(workload):
    """(graph, loss, placeholders by input name): the forward graph, shapes all static."""
    graph = core.Graph()
    placeholders = {name: graph.emit("Placeholder", [], name=name, dtype=value.dtype,
                                     shape=list(value.shape)).output(0)
                    for name, value in workload.inputs.items()}
    return graph, workload.gradserve(placeholders), placeholders


class Adapter:
    def __init__(self, workload):
        self.workload = workload
        self.plan = self.feeds = None
        self.sizes = {}

    def first(self):
        start = time.perf_counter()
        graph, loss, placeholders = forward(self.workload)
        forward_nodes = len(graph)
        grads = core.gradients(graph, [loss], [placeholders[x] for x in self.workload.xs])
        self.sizes = {"forward_nodes": forward_nodes, "backward_nodes": len(graph) - forward_nodes}
        self.feeds = {placeholders[name]: value for name, value in self.workload.inputs.items()}
        self.plan = Plan(graph, grads, self.feeds)
        self.sizes["plan_steps"] = len(self.plan.steps)
        values = self.plan.run(self.feeds)
        return time.perf_counter() - start, values

    def step(self):
        return self.plan.run(self.feeds)

    def build(self):
        graph, loss, placeholders = forward(self.workload)
        xs = [placeholders[x] for x in self.workload.xs]
        forward_nodes = len(graph)
        start = time.perf_counter()
        core.gradients(graph, [loss], xs)
        elapsed = time.perf_counter() - start
        self.sizes.update(forward_nodes=forward_nodes, backward_nodes=len(graph) - forward_nodes)
        return elapsed

    def details(self):
        return self.sizes
