"""The kernels built ahead of time (core.kernels.aot) return the jitted kernels' bits, and a
process that finds them never starts Numba's JIT. Each side runs in a fresh process, the
jitted one with the built module out of its sight (an empty GRADSERVE_AOT_DIR)."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.kernels import aot

ROOT = Path(__file__).resolve().parents[2]
# The warm-up's graph reaches every kernel (the convolution's input gradient, 2-D and 3-D
# max-pool gradients of both kinds and their own gradients, row and column scatters), in
# both dtypes; the chain of 8,192 elements takes the tape's float32 approximations, and
# divides by zero.
PROBE = """
import json, sys
import numpy as np
import core
from core import build
from core.kernels import aot
from service import warmup

outputs = []
for dtype in ("float32", "float64"):
    graph = core.Graph.from_node_defs(warmup._graph(dtype))
    x, loss = graph.tensor("x"), graph.tensor("loss")
    [first] = core.gradients(graph, [loss], [x])
    [second] = core.gradients(graph, [first], [x])
    value = np.linspace(-1, 1, 64, dtype=dtype).reshape(1, 8, 8, 1)
    outputs += core.evaluate(graph, [first, second], {x: value})
    chain = core.Graph()
    v = chain.emit("Placeholder", [], name="v", dtype=np.dtype(dtype), shape=[8192]).output(0)
    h = v
    for op in ("Tanh", "Sin", "Sigmoid", "Exp", "Cos", "Softplus"):
        h = build.op(op, h) * h + 0.5
    [dv] = core.gradients(chain, [build.reduce_sum(h, [0])], [v])
    over_zero = h / (v * 0.0)  # inf and nan, as NumPy divides, not an exception
    outputs += core.evaluate(chain, [h, dv, over_zero],
                             {v: np.linspace(-3, 3, 8192, dtype=dtype)})
np.savez(sys.argv[1], *outputs)
print(json.dumps(sum(len(kernel.dispatcher.signatures) for kernel in aot._ENTRIES)))
"""


def _probe(directory: Path, out: Path) -> tuple[list[np.ndarray], int]:
    """(the probe's outputs, how many signatures the JIT compiled or loaded)."""
    environment = {**os.environ, "GRADSERVE_AOT_DIR": str(directory), "GRADSERVE_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE, str(out)], cwd=ROOT, env=environment,
                          capture_output=True, text=True, check=True, timeout=600)
    with np.load(out) as saved:
        outputs = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    return outputs, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler to link the module built ahead of time")
    if not any(importlib.util.find_spec(name) for name in ("setuptools", "distutils")):
        pytest.skip("numba.pycc compiles through distutils (setuptools from Python 3.12)")
    directory = tmp_path_factory.mktemp("aot")
    environment = {**os.environ, "GRADSERVE_AOT_DIR": str(directory)}
    subprocess.run([sys.executable, "-m", "core.kernels"], cwd=ROOT, env=environment,
                   capture_output=True, text=True, check=True, timeout=900)
    return directory


def test_built_kernels_return_the_jitted_bits_without_starting_the_jit(built, tmp_path):
    with_built, jitted_with_built = _probe(built, tmp_path / "built.npz")
    jitted, jitted_alone = _probe(tmp_path / "nothing", tmp_path / "jitted.npz")
    assert jitted_with_built == 0   # every kernel call went to the built module
    assert jitted_alone > 0
    assert len(with_built) == len(jitted) == 10
    for a, b in zip(with_built, jitted):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


def test_the_module_is_named_for_this_build_of_the_kernels(built):
    assert [path.name.split(".")[0] for path in built.iterdir()
            if path.suffix == ".so"] == [aot.module_name()]


def test_arguments_no_built_function_takes_go_to_the_jit():
    calls = []

    class Dispatcher:
        def py_func(self):
            pass

        def __call__(self, *args):
            calls.append("jit")

    entry = aot.Entry(Dispatcher(), ["none(f4[::1], i8)"])
    entry._built = {aot._signature_kinds("none(f4[::1], i8)"): lambda *args: calls.append("built")}
    values = np.zeros(8, np.float32)
    entry(values, 3)
    entry(values[::2], 3)             # not contiguous
    entry(values.astype(np.float64), 3)
    entry(values, 3.0)                # a float where an integer was built
    assert calls == ["built", "jit", "jit", "jit"]


def test_built_signatures_are_read_as_numba_reads_them():
    """`_signature_kinds` reads the signatures itself (Numba's parser takes 0.2 ms each on
    the first gradient): for every signature built, and for layouts no kernel uses, it
    agrees with Numba's types."""
    import numba
    from core.kernels import pooling, segment, tape, windows  # noqa: F401  (their entries)

    def numba_kinds(signature):
        kinds = []
        for arg in numba.core.sigutils.normalize_signature(signature)[0]:
            if isinstance(arg, numba.types.Array):
                kinds.append((np.dtype(str(arg.dtype)), arg.ndim, arg.layout == "C"))
            else:
                kinds.append(bool if isinstance(arg, numba.types.Boolean) else
                             int if isinstance(arg, numba.types.Integer) else float)
        return tuple(kinds)

    signatures = [s for entry in aot._ENTRIES for s in entry.built_signatures]
    assert len(signatures) >= 18
    signatures += ["void(f4[:], f8[:, :], i4[::1, :], u1[::1], b1, f8, i8)"]
    for signature in signatures:
        assert aot._signature_kinds(signature) == numba_kinds(signature), signature
