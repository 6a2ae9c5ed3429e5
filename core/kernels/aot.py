"""The Numba kernels built ahead of time (numba.pycc), so that a process's first gradient
does not start Numba's JIT.

A process's first call into a jitted kernel, whichever it is, costs about 0.4 s and 60 MB:
Numba fills its typing and lowering registries and starts LLVM's JIT before it can load
the cached machine code. The same kernels built ahead of time into one extension module
load in a millisecond and never start the JIT. They are the same functions compiled by
the same Numba with the same options for this machine's CPU, so they return the same bits
(tests/core/test_aot.py compares them on every kernel, in both dtypes).

`python -m core.kernels` (and `python -m service.warmup`) builds the module, in about half
a minute and with a C compiler, into the kernels' cache directory (`cache_dir`). Its file
name holds a stamp of the kernel sources, the Python, NumPy and Numba versions and the
CPU, so a process whose stamp differs does not find it and keeps to the JIT.

Each kernel's entry point (`entry`) calls the built function for its arguments' types
when there is one, else the jitted dispatcher (another dtype, a non-contiguous array, or
no module built). A built function holds the GIL while it runs, so a caller that runs
kernels on several threads at once (the tape's pieces, THREADS > 1) asks for the
dispatcher itself.
"""

import hashlib
import importlib.util
import os
import re
import sys
import sysconfig
import threading
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
from llvmlite import binding

_HERE = Path(__file__).resolve().parent
# The kernels whose entry points are built, and whose sources (with fastmath.py, which
# they inline) make the stamp.
_KERNEL_MODULES = ("tape", "windows", "pooling", "segment")
_SOURCES = ("aot", "fastmath", *_KERNEL_MODULES)


class Entry:
    """A kernel's entry point: the built function for the arguments' types, else the jitted
    `dispatcher`. `built_signatures` are what gets built (Numba's signature strings)."""

    def __init__(self, dispatcher, signatures: list[str]):
        self.dispatcher = dispatcher
        self.built_signatures = signatures
        function = dispatcher.py_func
        self.name = f"{function.__module__.rsplit('.', 1)[-1]}__{function.__name__}"
        self._built: dict[tuple, Callable] | None = None

    def __call__(self, *args):
        built = self._built
        if built is None:
            built = self._built = _built_functions(self)
        if not built:  # nothing built for this machine: no need to look at the arguments
            return self.dispatcher(*args)
        return built.get(tuple(map(_kind, args)), self.dispatcher)(*args)


_ENTRIES: list[Entry] = []


def entry(dispatcher, *templates: str) -> Entry:
    """The entry point of a jitted kernel, built for each signature template (`{t}` stands
    for float32 and for float64)."""
    signatures = [template.format(t=t) for template in templates for t in ("f4", "f8")]
    kernel = Entry(dispatcher, list(dict.fromkeys(signatures)))
    _ENTRIES.append(kernel)
    return kernel


def _kind(value) -> tuple | type:
    """What picks a built function: an array's dtype, rank and C contiguity, a scalar's
    Python type."""
    if type(value) is np.ndarray:
        return value.dtype, value.ndim, value.flags.c_contiguous
    if isinstance(value, (bool, np.bool_)):
        return bool
    if isinstance(value, (int, np.integer)):
        return int
    return type(value)


# An argument of a built signature, in Numba's short names: `f4[:, ::1]`, `i8`, `b1`.
_ARGUMENT = re.compile(r"(\w+)(?:\[([^\]]*)\])?")


def _signature_kinds(signature: str) -> tuple:
    """The `_kind`s of the arguments a built signature accepts. Read here rather than by
    Numba's parser, which evaluates the string and builds Numba types: 0.2 ms each, paid
    on the first gradient."""
    arguments = signature[signature.index("(") + 1:signature.rindex(")")]
    kinds = []
    for name, dims in _ARGUMENT.findall(arguments):
        if dims:
            axes = [axis.strip() for axis in dims.split(",")]
            contiguous = axes[-1] == "::1" and all(axis == ":" for axis in axes[:-1])
            kinds.append((np.dtype(name), len(axes), contiguous))
        else:
            kinds.append({"b": bool, "i": int, "u": int}.get(name[0], float))
    return tuple(kinds)


def cache_dir() -> Path:
    """Where the module is built and looked for: GRADSERVE_AOT_DIR, else NUMBA_CACHE_DIR,
    else `__pycache__` here (as Numba's own cache)."""
    for name in ("GRADSERVE_AOT_DIR", "NUMBA_CACHE_DIR"):
        if os.environ.get(name):
            return Path(os.environ[name])
    return _HERE / "__pycache__"


def module_name() -> str:
    """The built module's name: `_gradserve_kernels_` and a stamp of what it was built from
    and for (sources, versions, CPU)."""
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((_HERE / f"{name}.py").read_bytes())
    for part in (sys.version, np.__version__, numba.__version__, binding.get_host_cpu_name(),
                 binding.get_host_cpu_features().flatten()):
        digest.update(part.encode())
    return f"_gradserve_kernels_{digest.hexdigest()[:16]}"


_module = None
_LOAD_LOCK = threading.Lock()


def _load():
    """The built module in the cache directory, or None when there is none for this stamp."""
    global _module
    with _LOAD_LOCK:
        if _module is None:
            name = module_name()
            path = cache_dir() / (name + sysconfig.get_config_var("EXT_SUFFIX"))
            _module = False
            if path.is_file():
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                _module = module
        return _module or None


def _built_functions(kernel: Entry) -> dict[tuple, Callable]:
    module = _load()
    if module is None:
        return {}
    return {_signature_kinds(signature): getattr(module, f"{kernel.name}__{i}")
            for i, signature in enumerate(kernel.built_signatures)
            if hasattr(module, f"{kernel.name}__{i}")}


def _calling(dispatcher, arity: int):
    """A function that calls `dispatcher`: built instead of the kernel itself, it compiles
    the kernel with the kernel's own options (the error model: the interpreter's division
    by zero gives inf, not an exception), which pycc would not pass on to the function it
    exports."""
    kernel = dispatcher
    return {
        4: lambda a, b, c, d: kernel(a, b, c, d),
        5: lambda a, b, c, d, e: kernel(a, b, c, d, e),
        6: lambda a, b, c, d, e, f: kernel(a, b, c, d, e, f),
        10: lambda a, b, c, d, e, f, g, h, i, j: kernel(a, b, c, d, e, f, g, h, i, j),
    }[arity]


def build(directory: Path | None = None) -> Path:
    """Builds every entry point for its signatures into `directory` (the cache directory);
    the module's path."""
    from numba.pycc import CC

    for name in _KERNEL_MODULES:
        importlib.import_module(f"core.kernels.{name}")
    directory = Path(directory or cache_dir())
    directory.mkdir(parents=True, exist_ok=True)
    compiler = CC(module_name())
    compiler.output_dir = str(directory)
    compiler.target_cpu = "host"
    compiler.verbose = False
    for kernel in _ENTRIES:
        for i, signature in enumerate(kernel.built_signatures):
            compiler.export(f"{kernel.name}__{i}", signature)(
                _calling(kernel.dispatcher, len(_signature_kinds(signature))))
    compiler.compile()
    return directory / compiler.output_file

