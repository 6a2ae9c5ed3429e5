"""`python -m service.warmup`: compiles the Numba kernels into NUMBA_CACHE_DIR (the Docker
image runs it at build time) by running tiny first and second order gradients through the
ops that use them: a fused elementwise chain, max pooling and a gather (segment sums), in
float32 and float64, and the fused elementwise interpreter for both dtypes."""

import numpy as np

import core
from core import NodeDef
from core.kernels import tape


def _graph(dtype: str) -> list[NodeDef]:
    def const(name, value, value_dtype="int32"):
        return NodeDef(name, "Const", [], {"value": np.asarray(value, value_dtype)})

    return [
        NodeDef("x", "Placeholder", [], {"dtype": dtype, "shape": [1, 8, 8, 1]}),
        NodeDef("t", "Tanh", ["x"]), NodeDef("s", "Sin", ["t"]), NodeDef("m", "Mul", ["s", "x"]),
        NodeDef("pool", "MaxPool", ["m"], {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1],
                                           "padding": "SAME"}),
        const("flat_shape", [16]), NodeDef("flat", "Reshape", ["pool", "flat_shape"]),
        const("indices", [0, 3, 3, 15]), const("axis", 0),
        NodeDef("gathered", "GatherV2", ["flat", "indices", "axis"]),
        const("all", [0]), NodeDef("loss", "Sum", ["gathered", "all"]),
    ]


def warm_up() -> None:
    tape.warm_up()
    for dtype in ("float32", "float64"):
        graph = core.Graph.from_node_defs(_graph(dtype))
        x, loss = graph.tensor("x"), graph.tensor("loss")
        [first] = core.gradients(graph, [loss], [x])
        [second] = core.gradients(graph, [first], [x])
        value = np.linspace(-1, 1, 64, dtype=dtype).reshape(1, 8, 8, 1)
        core.evaluate(graph, [first, second], {x: value})


if __name__ == "__main__":
    warm_up()
    print("Numba kernels compiled and cached")
