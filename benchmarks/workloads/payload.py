"""payload: x[16_777_216] float32 fed by the client -> Mul(x, x) -> Sum, over HTTP; the
64 MiB gradient 2x comes back. The figure of interest is the HTTP rows' effective
throughput; the in-process rows show what the arithmetic alone costs."""

import numpy as np

from benchmarks.workloads import Workload, rng

NAME = "payload"
SUMMARY = "x[16,777,216] fed over HTTP -> x*x -> sum; the 64 MiB gradient comes back"
EVALUATES = True
OPS = ("Mul", "Sum")
XS = ("x",)


def gradserve(v):
    from core import build
    return build.reduce_sum(v["x"] * v["x"], [0])


def make(small: bool = False) -> Workload:
    n = 4096 if small else 16_777_216
    return Workload(
        NAME, {"x": rng(0).standard_normal(n, np.float32)}, XS, gradserve,
        tensorflow=lambda tf, v: tf.reduce_sum(v["x"] * v["x"]),
        pytorch=lambda torch, v: (v["x"] * v["x"]).sum(),
        jax=lambda jax, v: (v["x"] * v["x"]).sum())
