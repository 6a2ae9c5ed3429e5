"""embedding: params[50_000,128], indices int32[4096] (uniform) -> GatherV2 axis 0 ->
Square -> Sum; the (dense) gradient w.r.t. params.

TensorFlow's gradient of a gather is IndexedSlices; it is made dense with
tf.convert_to_tensor (an UnsortedSegmentSum), as gradserve, PyTorch and JAX return it."""

import numpy as np

from benchmarks.workloads import Workload, rng

NAME = "embedding"
SUMMARY = "params[50000,128], indices[4096] -> gather -> square -> sum (dense gradient)"
EVALUATES = True
OPS = ("GatherV2", "Square", "Sum")
XS = ("params",)


def inputs(rows: int, width: int, count: int) -> dict[str, np.ndarray]:
    r = rng(0)
    return {"params": r.standard_normal((rows, width), np.float32),
            "indices": r.integers(0, rows, count).astype(np.int32)}


def gradserve(v):
    from core import build
    rows = build.gather(v["params"], v["indices"], axis=0)
    return build.reduce_sum(build.op("Square", rows), [0, 1])


def tensorflow(tf, v):
    return tf.reduce_sum(tf.square(tf.gather(v["params"], v["indices"], axis=0)))


def pytorch(torch, v):
    return v["params"][v["indices"]].square().sum()


def jax(jax, v):
    return jax.numpy.square(v["params"][v["indices"]]).sum()


def make(small: bool = False) -> Workload:
    args = (100, 8, 64) if small else (50_000, 128, 4096)
    return Workload(NAME, inputs(*args), XS, gradserve, tensorflow, pytorch, jax)
