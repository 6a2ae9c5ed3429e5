"""cnn: x[32,28,28,1] NHWC -> Conv2D 3x3x1x32 SAME + BiasAdd + Relu -> MaxPool 2x2/2 ->
Conv2D 3x3x32x64 SAME + BiasAdd + Relu -> MaxPool 2x2/2 -> Reshape [32,3136] ->
MatMul 3136x10 + BiasAdd -> SoftmaxCrossEntropyWithLogits -> Mean; gradients w.r.t. the
3 weights and 3 biases.

Weights are in TensorFlow's layouts (HWIO filters, NHWC activations) for every framework;
PyTorch, whose convolutions are NCHW/OIHW, permutes views of them inside the loss (and
back to NHWC before flattening), so its gradients come back in the same layouts."""

import numpy as np

from benchmarks.workloads import Workload, rng

NAME = "cnn"
SUMMARY = "x[32,28,28,1] -> conv3x3x32 -> pool -> conv3x3x64 -> pool -> dense 3136x10, mean CE"
EVALUATES = True
OPS = ("Conv2D", "MaxPool", "BiasAdd", "Relu", "Reshape", "MatMul",
       "SoftmaxCrossEntropyWithLogits", "Mean")
XS = ("w1", "b1", "w2", "b2", "w3", "b3")


def inputs(batch: int, side: int) -> dict[str, np.ndarray]:
    r = rng(0)
    flat = (side // 4) ** 2 * 64
    labels = r.integers(0, 10, batch)

    def normal(shape, fan_in):
        return r.standard_normal(shape, np.float32) * np.float32(np.sqrt(2.0 / fan_in))

    return {
        "x": r.standard_normal((batch, side, side, 1), np.float32),
        "labels": np.eye(10, dtype=np.float32)[labels],
        "w1": normal((3, 3, 1, 32), 9), "b1": r.standard_normal(32, np.float32) * np.float32(0.1),
        "w2": normal((3, 3, 32, 64), 288), "b2": r.standard_normal(64, np.float32) * np.float32(0.1),
        "w3": normal((flat, 10), flat), "b3": r.standard_normal(10, np.float32) * np.float32(0.1),
    }


def gradserve(v):
    from core import build
    h = v["x"]
    for i in (1, 2):
        h = build.op("Conv2D", h, v[f"w{i}"], strides=[1, 1, 1, 1], padding="SAME")
        h = build.op("Relu", build.op("BiasAdd", h, v[f"b{i}"]))
        h = build.op("MaxPool", h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
    batch, height, width, channels = h.shape
    h = build.reshape(h, [batch, height * width * channels])
    logits = build.op("BiasAdd", build.matmul(h, v["w3"]), v["b3"])
    loss, _ = build.op_outputs("SoftmaxCrossEntropyWithLogits", logits, v["labels"])
    return build.op("Mean", loss, build.int_constant(loss, [0]))


def tensorflow(tf, v):
    h = v["x"]
    for i in (1, 2):
        h = tf.nn.conv2d(h, v[f"w{i}"], strides=1, padding="SAME")
        h = tf.nn.relu(tf.nn.bias_add(h, v[f"b{i}"]))
        h = tf.nn.max_pool2d(h, ksize=2, strides=2, padding="VALID")
    h = tf.reshape(h, [h.shape[0], -1])
    logits = tf.nn.bias_add(tf.matmul(h, v["w3"]), v["b3"])
    return tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=v["labels"], logits=logits))


def pytorch(torch, v):
    F = torch.nn.functional
    h = v["x"].permute(0, 3, 1, 2)  # NHWC -> NCHW
    for i in (1, 2):
        h = F.conv2d(h, v[f"w{i}"].permute(3, 2, 0, 1), v[f"b{i}"], padding="same")
        h = F.max_pool2d(torch.relu(h), 2)
    h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # flatten in NHWC order
    return F.cross_entropy(torch.addmm(v["b3"], h, v["w3"]), v["labels"])


def jax(jax, v):
    lax = jax.lax
    h = v["x"]
    for i in (1, 2):
        h = lax.conv_general_dilated(h, v[f"w{i}"], (1, 1), "SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
        h = jax.nn.relu(h + v[f"b{i}"])
        h = lax.reduce_window(h, -jax.numpy.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    logits = h.reshape(h.shape[0], -1) @ v["w3"] + v["b3"]
    return -(v["labels"] * jax.nn.log_softmax(logits)).sum(-1).mean()


def make(small: bool = False) -> Workload:
    batch, side = (4, 8) if small else (32, 28)
    return Workload(NAME, inputs(batch, side), XS, gradserve, tensorflow, pytorch, jax)
