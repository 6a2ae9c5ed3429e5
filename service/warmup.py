"""`python -m service.warmup`: compiles the Numba kernels into NUMBA_CACHE_DIR (the Docker
image runs it at build time) by running tiny first and second order gradients through the
ops that use them: a fused elementwise chain, a convolution (its input's gradient), max
pooling (2-D with disjoint and overlapping windows, 3-D) and gathers of values and of rows
(segment sums), in float32 and float64, and the fused elementwise interpreter for both dtypes;
then builds them ahead of time next to that cache (core.kernels.aot), so that a worker's
first gradient need not start Numba's JIT at all.

Each worker runs the same warm-up when it starts (`WarmUp`, from the app's lifespan, unless
GRADSERVE_WARM_UP=false), in a thread: /v1/health/live answers meanwhile and
/v1/health/ready says 503 until it is done. With the kernels cached it loads them (~0.3 s);
with a cold cache it compiles them (~25 s on 2 cores), not the first requests."""

import logging
import threading
import time

import numpy as np

import core
from core import NodeDef
from core.kernels import aot, tape


def _graph(dtype: str) -> list[NodeDef]:
    def const(name, value, value_dtype="int32"):
        return NodeDef(name, "Const", [], {"value": np.asarray(value, value_dtype)})

    return [
        NodeDef("x", "Placeholder", [], {"dtype": dtype, "shape": [1, 8, 8, 1]}),
        NodeDef("t", "Tanh", ["x"]), NodeDef("s", "Sin", ["t"]), NodeDef("m", "Mul", ["s", "x"]),
        const("filter", np.full((2, 2, 1, 1), 0.5), dtype),
        NodeDef("conv", "Conv2D", ["m", "filter"], {"strides": [1, 1, 1, 1], "padding": "SAME"}),
        NodeDef("pool", "MaxPool", ["conv"], {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1],
                                              "padding": "SAME"}),
        NodeDef("overlap", "MaxPool", ["pool"], {"ksize": [1, 3, 3, 1],
                                                 "strides": [1, 1, 1, 1], "padding": "SAME"}),
        # gathers of single values and of rows (the two segment-sum kernels), by int32
        # and int64 indices (rows), as embeddings take them
        # 3-D pooling takes float32 at most, as in TensorFlow
        const("volume_shape", [1, 8, 8, 1, 1]),
        NodeDef("volume", "Reshape", ["conv", "volume_shape"]),
        NodeDef("volume32", "Cast", ["volume"], {"SrcT": dtype, "DstT": "float32"}),
        NodeDef("pool3d", "MaxPool3D", ["volume32"], {"ksize": [1, 2, 2, 1, 1],
                                                      "strides": [1, 2, 2, 1, 1],
                                                      "padding": "VALID"}),
        NodeDef("pooled3d", "Cast", ["pool3d"], {"SrcT": "float32", "DstT": dtype}),
        const("flat_shape", [16]), NodeDef("flat2d", "Reshape", ["overlap", "flat_shape"]),
        NodeDef("flat3d", "Reshape", ["pooled3d", "flat_shape"]),
        NodeDef("flat", "AddV2", ["flat2d", "flat3d"]),
        const("matrix_shape", [4, 4]), NodeDef("matrix", "Reshape", ["overlap", "matrix_shape"]),
        NodeDef("matrix_too", "Reshape", ["overlap", "matrix_shape"]),
        const("indices", [0, 3, 3, 15]), const("rows_int32", [1, 0, 1]),
        const("rows_int64", [0, 3, 3], "int64"), const("axis", 0),
        NodeDef("values", "GatherV2", ["flat", "indices", "axis"]),
        NodeDef("rows32", "GatherV2", ["matrix", "rows_int32", "axis"]),
        NodeDef("rows64", "GatherV2", ["matrix_too", "rows_int64", "axis"]),
        const("values_shape", [1, 4]), NodeDef("as_row", "Reshape", ["values", "values_shape"]),
        NodeDef("gathered", "ConcatV2", ["as_row", "rows32", "rows64", "axis"]),
        # squared, so that the pooling's incoming gradient depends on x: the second order
        # then needs MaxPoolGradGrad
        NodeDef("squared", "Square", ["gathered"]),
        const("all", [0, 1]), NodeDef("loss", "Sum", ["squared", "all"]),
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


class WarmUp:
    """A worker's warm-up in a background thread; `running` until it has finished. A failed
    warm-up is logged and ends it too: the kernels then compile at their first use."""

    def __init__(self) -> None:
        self.running = False

    def start(self) -> None:
        self.running = True
        threading.Thread(target=self._run, name="gradserve-warm-up", daemon=True).start()

    def _run(self) -> None:
        logger = logging.getLogger("service")
        start = time.perf_counter()
        try:
            warm_up()
            logger.info("warmed up in %.2f s", time.perf_counter() - start)
        except Exception:
            logger.exception("the warm-up failed; the kernels will compile when first used")
        finally:
            self.running = False


if __name__ == "__main__":
    warm_up()
    print("Numba kernels compiled and cached")
    try:
        print(f"kernels built ahead of time: {aot.build()}")
    except Exception as error:  # no C compiler (a slim image): the workers keep to the JIT
        print(f"kernels not built ahead of time ({type(error).__name__}: {error}); "
              f"the jitted ones serve")
