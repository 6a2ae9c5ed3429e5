"""PyTorch eager autograd: the loss on tensors that require grad, torch.autograd.grad.

There is no separate backward construction: autograd records it during the forward."""

import time

import torch

from benchmarks.frameworks import threads

if threads():
    torch.set_num_threads(threads())
    torch.set_num_interop_threads(threads())


class Adapter:
    def __init__(self, workload):
        self.workload = workload
        self.tensors = {name: torch.from_numpy(value) for name, value in workload.inputs.items()}
        self.xs = [self.tensors[x].requires_grad_(True) for x in workload.xs]

    def step(self):
        loss = self.workload.pytorch(torch, self.tensors)
        return torch.autograd.grad(loss, self.xs)

    def first(self):
        start = time.perf_counter()
        grads = self.step()
        return time.perf_counter() - start, [g.numpy() for g in grads]

    def build(self):
        return None

    def details(self):
        return {"version": torch.__version__, "threads": torch.get_num_threads()}
