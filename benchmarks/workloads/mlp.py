"""mlp: x[256,784] -> (MatMul + BiasAdd + Relu) x2 -> MatMul + BiasAdd ->
SoftmaxCrossEntropyWithLogits (one-hot labels[256,10]) -> Mean; gradients of the mean
loss w.r.t. the 3 weights and 3 biases."""

from itertools import pairwise

import numpy as np

from benchmarks.workloads import Workload, rng

NAME = "mlp"
SUMMARY = "x[256,784] -> 784x512 -> 512x512 -> 512x10, ReLU, softmax cross entropy, mean"
EVALUATES = True
OPS = ("MatMul", "BiasAdd", "Relu", "SoftmaxCrossEntropyWithLogits", "Mean")
XS = ("w1", "b1", "w2", "b2", "w3", "b3")


def inputs(batch: int, sizes: tuple[int, ...]) -> dict[str, np.ndarray]:
    r = rng(0)
    values = {"x": r.standard_normal((batch, sizes[0]), np.float32)}
    labels = r.integers(0, sizes[-1], batch)
    values["labels"] = np.eye(sizes[-1], dtype=np.float32)[labels]
    for i, (n_in, n_out) in enumerate(pairwise(sizes), 1):
        values[f"w{i}"] = (r.standard_normal((n_in, n_out), np.float32)
                           * np.float32(np.sqrt(2.0 / n_in)))
        values[f"b{i}"] = r.standard_normal(n_out, np.float32) * np.float32(0.1)
    return values


def gradserve(v):
    from core import build
    h = v["x"]
    for i in (1, 2, 3):
        h = build.op("BiasAdd", build.matmul(h, v[f"w{i}"]), v[f"b{i}"])
        if i < 3:
            h = build.op("Relu", h)
    loss, _ = build.op_outputs("SoftmaxCrossEntropyWithLogits", h, v["labels"])
    return build.op("Mean", loss, build.int_constant(loss, [0]))


def tensorflow(tf, v):
    h = v["x"]
    for i in (1, 2, 3):
        h = tf.nn.bias_add(tf.matmul(h, v[f"w{i}"]), v[f"b{i}"])
        if i < 3:
            h = tf.nn.relu(h)
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=v["labels"], logits=h))


def pytorch(torch, v):
    h = v["x"]
    for i in (1, 2, 3):
        h = torch.addmm(v[f"b{i}"], h, v[f"w{i}"])
        if i < 3:
            h = torch.relu(h)
    return torch.nn.functional.cross_entropy(h, v["labels"])  # probabilities as targets


def jax(jax, v):
    h = v["x"]
    for i in (1, 2, 3):
        h = h @ v[f"w{i}"] + v[f"b{i}"]
        if i < 3:
            h = jax.nn.relu(h)
    return -(v["labels"] * jax.nn.log_softmax(h)).sum(-1).mean()


def make(small: bool = False) -> Workload:
    batch, sizes = (8, (20, 16, 12, 10)) if small else (256, (784, 512, 512, 10))
    return Workload(NAME, inputs(batch, sizes), XS, gradserve, tensorflow, pytorch, jax)
