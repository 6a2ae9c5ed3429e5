"""elementwise: x[1_000_000]; 8 times: h = Tanh(h)*0.9 + Sin(h)*0.1; h = h*Sigmoid(h);
then Sum; the gradient of the sum w.r.t. x.

One recipe, `chain(m, x)`, serves every framework: `m` is a namespace with that
framework's own sin, tanh, sigmoid and full sum."""

from types import SimpleNamespace

import numpy as np

from benchmarks.workloads import Workload, rng

NAME = "elementwise"
SUMMARY = "x[1M]; 8x: h = tanh(h)*0.9 + sin(h)*0.1; h = h*sigmoid(h); sum"
EVALUATES = True
OPS = ("Tanh", "Sin", "Sigmoid", "Mul", "AddV2", "Sum")
XS = ("x",)
ROUNDS = 8


def chain(m, x):
    h = x
    for _ in range(ROUNDS):
        h = m.tanh(h) * 0.9 + m.sin(h) * 0.1
        h = h * m.sigmoid(h)
    return m.sum(h)


def gradserve_math():
    from core import build
    return SimpleNamespace(
        sin=lambda x: build.op("Sin", x), tanh=lambda x: build.op("Tanh", x),
        sigmoid=lambda x: build.op("Sigmoid", x),
        sum=lambda x: build.reduce_sum(x, list(range(len(x.shape)))))


def make(small: bool = False) -> Workload:
    n = 1000 if small else 1_000_000
    values = {"x": rng(0).standard_normal(n, np.float32)}
    return Workload(
        NAME, values, XS,
        gradserve=lambda v: chain(gradserve_math(), v["x"]),
        tensorflow=lambda tf, v: chain(SimpleNamespace(
            sin=tf.sin, tanh=tf.tanh, sigmoid=tf.sigmoid, sum=tf.reduce_sum), v["x"]),
        pytorch=lambda torch, v: chain(torch, v["x"]),
        jax=lambda jax, v: chain(SimpleNamespace(
            sin=jax.numpy.sin, tanh=jax.numpy.tanh, sigmoid=jax.nn.sigmoid,
            sum=jax.numpy.sum), v["x"]))
