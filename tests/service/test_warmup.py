"""The warm-up compiles (or loads) every Numba kernel the ops dispatch to, for float32 and
(where the op takes it) float64, so that no request after ready waits for a compilation. A new kernel belongs in
KERNELS, and in service/warmup.py's graph. Checked in a fresh process: in this one, other
tests may have compiled the kernels already."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KERNELS = {"pooling": ["max_pool_grad_argmax", "max_pool_grad_every_tie", "max_pool_grad_grad"],
           "windows": ["add_windows"], "segment": ["_scatter_rows", "_scatter_column"]}
PROBE = """
import importlib, json
from service import warmup
warmup.warm_up()
kernels = {m: importlib.import_module("core.kernels." + m) for m in %r}
dispatchers = {f"{m}.{name}": getattr(getattr(kernels[m], name), "dispatcher",
                                      getattr(kernels[m], name))
               for m, names in %r.items() for name in names}
print(json.dumps({key: [[str(t.dtype) for t in signature[:2]]
                        for signature in dispatcher.signatures]
                  for key, dispatcher in dispatchers.items()}))
""" % (list(KERNELS), KERNELS)


@pytest.fixture(scope="module")
def signatures(tmp_path_factory) -> dict[str, list[list[str]]]:
    # the jitted kernels: no module built ahead of time in an empty directory
    environment = {**os.environ, "GRADSERVE_AOT_DIR": str(tmp_path_factory.mktemp("aot"))}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=600, env=environment)
    return json.loads(done.stdout.strip().splitlines()[-1])


# 3-D pooling is float16 (computed in float32) and float32 only, as in TensorFlow
FLOAT32_ONLY = {"pooling.max_pool_grad_every_tie"}


@pytest.mark.parametrize("kernel", [f"{m}.{name}" for m, names in KERNELS.items()
                                    for name in names])
def test_every_kernel_is_compiled_for_its_float_dtypes(signatures, kernel):
    wanted = {"float32"} if kernel in FLOAT32_ONLY else {"float32", "float64"}
    assert wanted <= {dtypes[0] for dtypes in signatures[kernel]}


def test_row_scatters_are_compiled_for_int32_and_int64_indices(signatures):
    assert {"int32", "int64"} <= {dtypes[1] for dtypes in signatures["segment._scatter_rows"]}
