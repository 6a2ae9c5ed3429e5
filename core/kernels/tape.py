"""Groups of elementwise nodes run as one step: a tape, an int program over the rows of
a small scratch buffer, executed by one Numba loop.

A group holds nodes of one float dtype and one static shape whose inputs are of that
shape or single values (broadcast scalars). When the plan is made it is compiled into
instructions `(opcode, row d, row a, row b, k)`: row d computed from rows a and b, or
(LOAD) input k loaded into row d, or (STORE) row a stored into output k. Rows are
reused as soon as their values are dead, and the program runs over the elements in
tiles of TILE, so intermediates stay in cache and never become arrays: one pass over
memory for the whole group, and no Python between its nodes. The same interpreter
serves 80,000 ops over [16]-vectors (a tile is the vector; an instruction costs a few
nanoseconds, a Python step about two microseconds) and 150 ops over a million floats
(float32 tanh, exp, sin, ... in the vectorisable forms of core/kernels/fastmath.py).

There is no code generated per graph: `run_tape` is compiled once per dtype and cached
on disk by Numba (in NUMBA_CACHE_DIR if set, else in `__pycache__` here, else, when this
directory is not writable, in the per-user cache directory Numba picks). Large groups run
in pieces on THREADS threads (GRADSERVE_THREADS, else NUMBA_NUM_THREADS, else
OMP_NUM_THREADS, else the CPUs this process may use); the interpreter releases the GIL.
"""

import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

import numba
import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from core.errors import DeadlineExceeded, GraphError, ResourceLimitError
from core.kernels import aot
from core.kernels import fastmath as fm

# Elements per tile: measured best from 512 to 2048 (a group's live rows, a few dozen,
# stay in L2; shorter tiles cost more in instructions dispatched than they save).
TILE = 1024
# Work (elements x instructions) per piece: a piece takes a few milliseconds, and the
# deadline is checked between pieces. Groups of more than one piece run on THREADS threads.
PIECE_WORK = 1 << 25


def _threads() -> int:
    for name in ("GRADSERVE_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.strip().isdigit() and int(value) > 0:
            return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


THREADS = _threads()
# float32 groups of at least this many elements use the approximations of fastmath.py
# (at most 4.5 ulp off); smaller ones libm's functions in float64, rounded once.
APPROXIMATE_FROM = 4096

# -- opcodes -----------------------------------------------------------------------------

(LOAD, STORE, COPY, ADD, SUB, MUL, DIV, NEG, SQUARE, SQRT, RSQRT, RECIPROCAL, EXP, LOG,
 TANH, SIGMOID, SIN, COS, ABS, SIGN, RELU, RELU6, FLOOR, CEIL, SOFTSIGN, MAXIMUM, MINIMUM,
 SQUARED_DIFFERENCE, DIV_NO_NAN, MUL_NO_NAN, TANH_GRAD, SIGMOID_GRAD, SQRT_GRAD, RSQRT_GRAD,
 RECIPROCAL_GRAD, RELU_GRAD, RELU6_GRAD, SOFTPLUS_GRAD, SOFTSIGN_GRAD, GREATER,
 GREATER_EQUAL, LESS, LESS_EQUAL, EQUAL, NOT_EQUAL, SELECT, SINCOS, MUL_SCALAR, MUL_ADD,
 MUL_SCALAR_ADD) = range(50)

# The ops a group can hold: op type -> opcode, each the same formula as the op's NumPy
# kernel in core/ops. AddN becomes a chain of ADDs, left to right as its kernel sums; a Mul
# read only by one sum is multiplied inside the ADD that adds it (MUL_ADD: one pass over
# the rows instead of two, rounded as the two ops round); a bool (a comparison's result,
# a select's condition) is held as 1.0 or 0.0.
UNARY = {
    "Neg": NEG, "Square": SQUARE, "Sqrt": SQRT, "Rsqrt": RSQRT, "Reciprocal": RECIPROCAL,
    "Inv": RECIPROCAL, "Exp": EXP, "Log": LOG, "Tanh": TANH, "Sigmoid": SIGMOID, "Sin": SIN,
    "Cos": COS, "Abs": ABS, "Sign": SIGN, "Relu": RELU, "Relu6": RELU6, "Floor": FLOOR,
    "Ceil": CEIL, "Softsign": SOFTSIGN, "Identity": COPY, "BroadcastTo": COPY,
}
BINARY = {
    "Add": ADD, "AddV2": ADD, "Sub": SUB, "Mul": MUL, "RealDiv": DIV, "Div": DIV,
    "Maximum": MAXIMUM, "Minimum": MINIMUM, "SquaredDifference": SQUARED_DIFFERENCE,
    "DivNoNan": DIV_NO_NAN, "MulNoNan": MUL_NO_NAN, "TanhGrad": TANH_GRAD,
    "SigmoidGrad": SIGMOID_GRAD, "SqrtGrad": SQRT_GRAD, "RsqrtGrad": RSQRT_GRAD,
    "ReciprocalGrad": RECIPROCAL_GRAD, "ReluGrad": RELU_GRAD, "Relu6Grad": RELU6_GRAD,
    "SoftplusGrad": SOFTPLUS_GRAD, "SoftsignGrad": SOFTSIGN_GRAD,
}
COMPARISONS = {
    "Greater": GREATER, "GreaterEqual": GREATER_EQUAL, "Less": LESS, "LessEqual": LESS_EQUAL,
    "Equal": EQUAL, "NotEqual": NOT_EQUAL,
}
SUMS = frozenset({"Add", "AddV2", "AddN"})
FILLS = {"ZerosLike": 0.0, "OnesLike": 1.0}    # a constant row; the input gives the shape
OPS = frozenset(UNARY) | frozenset(BINARY) | frozenset(COMPARISONS) | frozenset(FILLS) | {
    "AddN", "SelectV2", "Select"}
# Ops worth a tape even alone (their float32 forms beat NumPy's by several times).
TRANSCENDENTAL = frozenset({EXP, LOG, TANH, SIGMOID, SIN, COS, SOFTPLUS_GRAD})
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
BOOL = np.dtype(bool)


def data_inputs(node):
    """The inputs of a member whose elements it reads (not BroadcastTo's shape, not the
    input of ZerosLike, which only gives the shape)."""
    if node.op == "BroadcastTo":
        return node.inputs[:1]
    return () if node.op in FILLS else node.inputs


def fusion_key(node) -> tuple | None:
    """(dtype, shape) when `node` can join a group computing in that float dtype over that
    static shape: its inputs of that shape or single values, else None."""
    op = node.op
    if op not in OPS or len(node.output_dtypes) != 1:
        return None
    shape = node.output_shapes[0]
    if shape is None or None in shape:
        return None
    inputs = data_inputs(node)
    if op in COMPARISONS:
        dtype = inputs[0].dtype
    else:
        dtype = node.output_dtypes[0]
    if dtype not in DTYPES:
        return None
    for i, t in enumerate(inputs):
        expected = BOOL if i == 0 and op in ("SelectV2", "Select") else dtype
        producer, index = t.node, t.index
        if producer.output_dtypes[index] != expected:
            return None
        t_shape = producer.output_shapes[index]
        if t_shape != shape and (t_shape is None or None in t_shape or _size(t_shape) != 1
                                 or len(t_shape) > len(shape)):
            return None
    if op == "BroadcastTo":
        target = node.inputs[1].const_value
        if target is None or tuple(int(d) for d in np.asarray(target).reshape(-1)) != shape:
            return None
    return dtype, tuple(shape)


# -- the interpreter -----------------------------------------------------------------------

@intrinsic
def _pointer(typingctx, address, like):
    """The int `address` as a pointer to elements of the dtype of array `like`."""
    pointer = types.CPointer(like.dtype)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(pointer))
    return pointer(types.intp, like), codegen


# No division-by-zero checks (they would stop vectorisation), and no fused multiply-adds
# outside the approximations: a group's arithmetic rounds as its NumPy kernels round.
JIT_OPTIONS = {"error_model": "numpy"}
_jit = njit(**JIT_OPTIONS)


@_jit
def _maximum(x, y):
    """np.maximum: NaN if either is NaN."""
    r = x if x >= y else y
    if math.isnan(y):
        r = y
    if math.isnan(x):
        r = x
    return r


@_jit
def _minimum(x, y):
    r = x if x <= y else y
    if math.isnan(y):
        r = y
    if math.isnan(x):
        r = x
    return r


@_jit
def _sign(x, zero, one):
    """np.sign: -1, 0 or 1, NaN for NaN."""
    r = one if x > zero else zero
    r = -one if x < zero else r
    return x if math.isnan(x) else r


# The transcendental loops are functions of their own: LLVM vectorises them better there
# than inlined in the interpreter's loop (measured: 0.41 against 0.55 ns per float32 tanh).

@_jit
def _tanh(out, x, w, exact):
    if exact:
        for j in range(w):
            out[j] = fm.tanh_exact(x[j])
    else:
        for j in range(w):
            out[j] = fm.tanh(x[j])


@_jit
def _sigmoid(out, x, w, exact):
    if exact:
        for j in range(w):
            out[j] = fm.sigmoid_exact(x[j])
        return
    far = False
    for j in range(w):
        out[j] = fm.sigmoid_near(x[j])
        far |= fm.sigmoid_far(x[j])
    if far:     # tails (|x| > 87, float32): 2^n in two steps, through the denormals
        for j in range(w):
            if fm.sigmoid_far(x[j]):
                out[j] = fm.sigmoid(x[j])


@_jit
def _exp(out, x, w, exact):
    if exact:
        for j in range(w):
            out[j] = fm.exp_exact(x[j])
    else:
        for j in range(w):
            out[j] = fm.exp(x[j])


@_jit
def _log(out, x, w, exact):
    if exact:
        for j in range(w):
            out[j] = fm.log_exact(x[j])
    else:
        for j in range(w):
            out[j] = fm.log(x[j])


@_jit
def _softplus_grad(out, g, f, w, one, exact):
    if exact:
        for j in range(w):
            out[j] = g[j] / (one + fm.exp_exact(-f[j]))
    else:
        for j in range(w):
            out[j] = g[j] / (one + fm.exp(-f[j]))


@_jit
def _sin(out, x, w, cosine, exact):
    inexact = exact
    if not exact:
        for j in range(w):
            out[j] = fm.cos(x[j]) if cosine else fm.sin(x[j])
            inexact |= fm.reduction_inexact(x[j])
    if inexact:
        for j in range(w):
            if exact or fm.reduction_inexact(x[j]):
                out[j] = fm.cos_exact(x[j]) if cosine else fm.sin_exact(x[j])


@_jit
def _sincos(sine, cosine, x, w, exact):
    inexact = exact
    if not exact:
        for j in range(w):
            sine[j], cosine[j] = fm.sincos(x[j])
            inexact |= fm.reduction_inexact(x[j])
    if inexact:
        for j in range(w):
            if exact or fm.reduction_inexact(x[j]):
                sine[j] = fm.sin_exact(x[j])
                cosine[j] = fm.cos_exact(x[j])


@njit(cache=True, nogil=True, **JIT_OPTIONS)
def run_tape(code, fills, consts, ins, outs, num_rows, tile, start, stop, exact):
    """Runs `code` over elements [start, stop) in tiles: rows `fills[:, 0]` hold
    `consts[fills[:, 1]]` throughout; an instruction (op, d, a, b, k) computes row d from
    rows a and b (SELECT: its condition in row k; SINCOS: the cosine into row b; MUL_ADD
    and MUL_SCALAR_ADD: a * b + row k, rounded after each operation as Mul then Add), LOAD
    copies a tile of input `ins[k]` (an address) into row d, STORE row a into output
    `outs[k]`. With `exact`, transcendental functions are libm's in float64 (else float32
    uses the approximations of fastmath.py)."""
    rows = np.empty((num_rows, tile), consts.dtype)
    for i in range(fills.shape[0]):
        rows[fills[i, 0]] = consts[fills[i, 1]]
    k = np.empty(5, consts.dtype)
    k[0], k[1], k[2], k[3], k[4] = 0.0, 1.0, 6.0, 0.5, -0.5
    zero, one, six, half, minus_half = k[0], k[1], k[2], k[3], k[4]
    # Rows are taken as arrays over raw addresses: no reference counts to update, which
    # would cost more than the arithmetic on short rows.
    base = rows.ctypes.data
    stride = tile * rows.itemsize
    for t0 in range(start, stop, tile):
        w = min(tile, stop - t0)
        for i in range(code.shape[0]):
            op = code[i, 0]
            out = numba.carray(_pointer(base + code[i, 1] * stride, consts), w)
            x = numba.carray(_pointer(base + code[i, 2] * stride, consts), w)
            y = numba.carray(_pointer(base + code[i, 3] * stride, consts), w)
            if op == MUL:
                for j in range(w):
                    out[j] = x[j] * y[j]
            elif op == MUL_ADD:
                z = numba.carray(_pointer(base + code[i, 4] * stride, consts), w)
                for j in range(w):
                    out[j] = x[j] * y[j] + z[j]
            elif op == MUL_SCALAR_ADD:
                c = y[0]
                z = numba.carray(_pointer(base + code[i, 4] * stride, consts), w)
                for j in range(w):
                    out[j] = x[j] * c + z[j]
            elif op == MUL_SCALAR:
                c = y[0]
                for j in range(w):
                    out[j] = x[j] * c
            elif op == ADD:
                for j in range(w):
                    out[j] = x[j] + y[j]
            elif op == SUB:
                for j in range(w):
                    out[j] = x[j] - y[j]
            elif op == DIV:
                for j in range(w):
                    out[j] = x[j] / y[j]
            elif op == NEG:
                for j in range(w):
                    out[j] = -x[j]
            elif op == LOAD:
                src = numba.carray(_pointer(ins[code[i, 4]] + t0 * rows.itemsize, consts), w)
                for j in range(w):
                    out[j] = src[j]
            elif op == STORE:
                dst = numba.carray(_pointer(outs[code[i, 4]] + t0 * rows.itemsize, consts), w)
                for j in range(w):
                    dst[j] = x[j]
            elif op == COPY:
                for j in range(w):
                    out[j] = x[j]
            elif op == TANH:
                _tanh(out, x, w, exact)
            elif op == SIGMOID:
                _sigmoid(out, x, w, exact)
            elif op == EXP:
                _exp(out, x, w, exact)
            elif op == LOG:
                _log(out, x, w, exact)
            elif op == SIN:
                _sin(out, x, w, False, exact)
            elif op == COS:
                _sin(out, x, w, True, exact)
            elif op == SINCOS:
                _sincos(out, y, x, w, exact)
            elif op == TANH_GRAD:
                for j in range(w):
                    out[j] = y[j] * (one - x[j] * x[j])
            elif op == SIGMOID_GRAD:
                for j in range(w):
                    out[j] = y[j] * x[j] * (one - x[j])
            elif op == SQUARE:
                for j in range(w):
                    out[j] = x[j] * x[j]
            elif op == SQRT:
                for j in range(w):
                    out[j] = np.sqrt(x[j])
            elif op == RSQRT:
                for j in range(w):
                    out[j] = one / np.sqrt(x[j])
            elif op == RECIPROCAL:
                for j in range(w):
                    out[j] = one / x[j]
            elif op == ABS:
                for j in range(w):
                    out[j] = abs(x[j])
            elif op == SIGN:
                for j in range(w):
                    out[j] = _sign(x[j], zero, one)
            elif op == RELU:
                for j in range(w):
                    out[j] = _maximum(x[j], zero)
            elif op == RELU6:
                for j in range(w):
                    out[j] = _minimum(_maximum(x[j], zero), six)
            elif op == FLOOR:
                for j in range(w):
                    out[j] = np.floor(x[j])
            elif op == CEIL:
                for j in range(w):
                    out[j] = np.ceil(x[j])
            elif op == SOFTSIGN:
                for j in range(w):
                    out[j] = x[j] / (one + abs(x[j]))
            elif op == MAXIMUM:
                for j in range(w):
                    out[j] = _maximum(x[j], y[j])
            elif op == MINIMUM:
                for j in range(w):
                    out[j] = _minimum(x[j], y[j])
            elif op == SQUARED_DIFFERENCE:
                for j in range(w):
                    diff = x[j] - y[j]
                    out[j] = diff * diff
            elif op == DIV_NO_NAN:
                for j in range(w):
                    out[j] = zero if y[j] == zero else x[j] / y[j]
            elif op == MUL_NO_NAN:
                for j in range(w):
                    out[j] = zero if y[j] == zero else x[j] * y[j]
            elif op == SQRT_GRAD:
                for j in range(w):
                    out[j] = y[j] * half / x[j]
            elif op == RSQRT_GRAD:
                for j in range(w):
                    out[j] = y[j] * minus_half * (x[j] * x[j] * x[j])
            elif op == RECIPROCAL_GRAD:
                for j in range(w):
                    out[j] = -y[j] * x[j] * x[j]
            elif op == RELU_GRAD:
                for j in range(w):
                    out[j] = x[j] * (one if y[j] > zero else zero)
            elif op == RELU6_GRAD:
                for j in range(w):
                    out[j] = x[j] * (one if y[j] > zero and y[j] < six else zero)
            elif op == SELECT:
                condition = numba.carray(_pointer(base + code[i, 4] * stride, consts), w)
                for j in range(w):
                    out[j] = x[j] if condition[j] != zero else y[j]
            elif op == GREATER:
                for j in range(w):
                    out[j] = one if x[j] > y[j] else zero
            elif op == GREATER_EQUAL:
                for j in range(w):
                    out[j] = one if x[j] >= y[j] else zero
            elif op == LESS:
                for j in range(w):
                    out[j] = one if x[j] < y[j] else zero
            elif op == LESS_EQUAL:
                for j in range(w):
                    out[j] = one if x[j] <= y[j] else zero
            elif op == EQUAL:
                for j in range(w):
                    out[j] = one if x[j] == y[j] else zero
            elif op == NOT_EQUAL:
                for j in range(w):
                    out[j] = one if x[j] != y[j] else zero
            elif op == SOFTPLUS_GRAD:
                _softplus_grad(out, x, y, w, one, exact)
            elif op == SOFTSIGN_GRAD:
                for j in range(w):
                    s = one + abs(y[j])
                    out[j] = x[j] / (s * s)
    return rows.shape[0]  # keeps `rows` alive to the end: the loops read it by address


def _depend_on(dispatcher, *modules) -> None:
    """Numba keys a function's disk cache on its own source file only: fold in the files of
    the functions it inlines, so that editing those recompiles it too."""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is not None and hasattr(cache_file, "_source_stamp"):
        stamps = [(os.stat(m.__file__).st_mtime, os.stat(m.__file__).st_size) for m in modules]
        cache_file._source_stamp = (cache_file._source_stamp, *stamps)


_depend_on(run_tape, fm)
# One piece at a time: the built interpreter when there is one (core.kernels.aot). Pieces
# on several threads at once call the dispatcher, which releases the GIL.
_run_tape = aot.entry(run_tape, "i8(i4[:, ::1], i4[:, ::1], {t}[::1], i8[::1], i8[::1], i8, i8, "
                                "i8, i8, b1)")


# -- compiling a group -------------------------------------------------------------------

class Tape:
    """Member nodes (in schedule order) of one dtype and static shape, compiled to a
    program. `inputs` are the tensors it reads from outside, `outputs` the member outputs
    wanted outside (`wanted`: (node, index) pairs); `run` maps arrays for the inputs to
    arrays for the outputs. Single values known when planning (`constants`: Const node ->
    value) are built into the program."""

    def __init__(self, members, dtype, shape, wanted, constants):
        self.members = list(members)
        self.dtype = np.dtype(dtype)
        self.shape = tuple(shape)
        self.size = _size(self.shape)
        self.tile = max(1, min(TILE, self.size))
        self.inputs: list = []
        self.outputs: list = []
        compiler = _Compiler(self, constants)
        compiler.compile(wanted)
        self.num_rows = max(compiler.count, 1)
        self._code = np.array(compiler.code, np.int32).reshape(-1, 5)
        self._fills = np.array(compiler.fills, np.int32).reshape(-1, 2)
        self._consts = np.array(compiler.consts or [0.0], self.dtype)
        self._scalar_inputs = compiler.scalar_inputs   # (input index, const index)
        self._array_inputs = compiler.array_inputs     # input index, by `ins` index
        self._bool_outputs = [k for k, t in enumerate(self.outputs) if t.dtype == BOOL]

    @property
    def scratch_bytes(self) -> int:
        return self.num_rows * self.tile * self.dtype.itemsize

    def run(self, arrays, deadline=None) -> list[np.ndarray]:
        """The outputs' values from the inputs' (`arrays`, in the order of `inputs`)."""
        consts = self._consts
        if self._scalar_inputs:
            consts = consts.copy()
            for k, index in self._scalar_inputs:
                value = arrays[k]
                if np.size(value) != 1:
                    raise self._error(k, value)
                consts[index] = value.item()
        dtype, size = self.dtype, self.size
        keep = [arrays[k] for k in self._array_inputs]
        for index, value in enumerate(keep):
            if (type(value) is not np.ndarray or value.dtype != dtype
                    or not value.flags.c_contiguous):
                value = keep[index] = np.ascontiguousarray(value, dtype)
            if value.size != size:
                raise self._error(self._array_inputs[index], value)
        results = []
        for out in self.outputs:
            try:
                results.append(np.empty(self.shape, dtype))
            except MemoryError:
                raise ResourceLimitError(f"node {out.node.name!r} ({out.node.op}) needs more "
                                         f"memory than is available", out.node.name) from None
        if size:
            ins = np.array([value.ctypes.data for value in keep], np.int64)
            outs = np.array([value.ctypes.data for value in results], np.int64)
            self._execute(consts, ins, outs, deadline)
        for k in self._bool_outputs:
            results[k] = results[k] != 0
        return results

    def _execute(self, consts, ins, outs, deadline) -> None:
        args = (self._code, self._fills, consts, ins, outs, self.num_rows, self.tile)
        n = self.size
        exact = n < APPROXIMATE_FROM
        if self._piece >= n:
            _run_tape(*args, 0, n, exact)
            return
        piece = self._piece
        starts = range(0, n, piece)
        threads = min(THREADS, len(starts))
        for first in range(0, len(starts), threads):
            if deadline is not None and time.monotonic() > deadline:
                node = self.members[0]
                raise DeadlineExceeded(f"the evaluation ran out of time in the group of "
                                       f"{len(self.members)} elementwise nodes from node "
                                       f"{node.name!r} ({node.op})", node.name)
            batch = starts[first:first + threads]
            if len(batch) == 1:
                _run_tape(*args, batch[0], min(batch[0] + piece, n), exact)
                continue
            futures = [_pool().submit(run_tape, *args, s, min(s + piece, n), exact)
                       for s in batch]
            try:
                for future in futures:
                    future.result()
            finally:  # the pieces read and write arrays by address: never leave one running
                wait(futures)

    @property
    def _piece(self) -> int:
        """Elements per piece: about PIECE_WORK instructions x elements, whole tiles."""
        return max(1, PIECE_WORK // (len(self._code) * self.tile)) * self.tile

    def _error(self, k, value) -> GraphError:
        t = self.inputs[k]
        reader = next(node for node in self.members if t in data_inputs(node))
        return GraphError(f"node {reader.name!r} ({reader.op}) cannot be computed: its input "
                          f"{t.name!r} has {np.size(value)} elements, expected "
                          f"{self.size if _size(t.shape) != 1 else 1}", reader.name)


class _Compiler:
    """Turns a tape's members into instructions, allocating rows as values live and die."""

    def __init__(self, tape: Tape, constants):
        self.tape = tape
        self.constants = constants
        self.members = set(tape.members)
        self.code: list[tuple[int, ...]] = []
        self.fills: list[tuple[int, int]] = []       # (row, const index)
        self.consts: list = []
        self.scalar_inputs: list[tuple[int, int]] = []
        self.array_inputs: list[int] = []
        self.rows: dict = {}              # (node, index) -> the row holding that value
        self.uses: dict = {}              # (node, index) -> reads by members not yet made
        self.products: dict = {}          # (node, 0) of a Mul -> (operand rows, keys)
        self.permanent: set[int] = set()  # rows filled once for the whole run
        self.free: list[int] = []
        self.count = 0
        self._const_rows: dict[bytes, int] = {}

    def alloc(self) -> int:
        if self.free:
            return self.free.pop()
        self.count += 1
        return self.count - 1

    def release(self, row: int) -> None:
        if row not in self.permanent:
            self.free.append(row)

    def constant_row(self, value) -> int:
        """A row filled with `value` (one per distinct value)."""
        value = np.asarray(value, self.tape.dtype).reshape(-1)[0]
        key = value.tobytes()
        if key not in self._const_rows:
            row = self.alloc()
            self.permanent.add(row)
            self.fills.append((row, len(self.consts)))
            self.consts.append(value)
            self._const_rows[key] = row
        return self._const_rows[key]

    def single_values(self, operands) -> None:
        """Rows for every single value the members read from outside (and for the
        constants ZerosLike/OnesLike make), filled before any row is reused."""
        tape = self.tape
        for node, keys in zip(tape.members, operands):
            if node.op in FILLS:
                self.constant_row(FILLS[node.op])
            for key in keys:
                producer, index = key
                if key in self.rows or producer in self.members:
                    continue
                t = producer.outputs[index]
                if _size(t.shape) != 1:
                    continue
                if producer in self.constants:
                    self.rows[key] = self.constant_row(self.constants[producer])
                    continue
                row = self.rows[key] = self.alloc()
                self.permanent.add(row)
                self.scalar_inputs.append((len(tape.inputs), len(self.consts)))
                tape.inputs.append(t)
                self.fills.append((row, len(self.consts)))
                self.consts.append(0.0)

    def row_of(self, key) -> int:
        """The row of a value, LOADed from outside at its first use."""
        row = self.rows.get(key)
        if row is None:
            producer, index = key
            if producer in self.members:
                raise AssertionError(f"{producer.name} is read before it is computed")
            self.array_inputs.append(len(self.tape.inputs))
            self.tape.inputs.append(producer.outputs[index])
            row = self.rows[key] = self.alloc()
            self.code.append((LOAD, row, 0, 0, len(self.array_inputs) - 1))
        return row

    def compile(self, wanted) -> None:
        tape = self.tape
        operands = [[(t.node, t.index) for t in data_inputs(node)] for node in tape.members]
        uses = self.uses
        reader: dict = {}
        for node, keys in zip(tape.members, operands):
            for key in keys:
                uses[key] = uses.get(key, 0) + 1
                reader[key] = node
        self.single_values(operands)
        partner = _sin_cos_pairs(tape.members, operands)
        ahead: dict = {}         # member -> the row its value was computed into earlier
        for node, keys in zip(tape.members, operands):
            op = node.op
            out = (node, 0)
            if (BINARY.get(op) == MUL and out not in wanted and uses.get(out) == 1
                    and reader[out].op in SUMS):
                # computed inside the one addition that reads it; its operands stay live
                self.products[out] = ([self.row_of(key) for key in keys], keys)
                continue
            if op in SUMS:
                row = self.sum(keys)
            else:
                row = self.compute(node, [self.row_of(key) for key in keys], partner, ahead)
            self.consume(keys)
            self.rows[out] = row
            if out in wanted:
                self.code.append((STORE, 0, row, 0, len(tape.outputs)))
                tape.outputs.append(node.outputs[0])
            if out not in uses:
                self.release(row)

    def compute(self, node, args, partner, ahead) -> int:
        """Emits a member other than a sum; returns the row of its value."""
        op = node.op
        if node in ahead:
            return ahead.pop(node)
        if node in partner:
            row, other = self.alloc(), self.alloc()
            sine, cosine = (row, other) if op == "Sin" else (other, row)
            self.code.append((SINCOS, sine, args[0], cosine, 0))
            ahead[partner[node]] = other
            return row
        if op in FILLS:
            return self.constant_row(FILLS[op])
        if UNARY.get(op) == COPY and args[0] in self.permanent:
            return args[0]    # a single value broadcast: its filled row itself
        row = self.alloc()
        if op in ("SelectV2", "Select"):
            self.code.append((SELECT, row, args[1], args[2], args[0]))
            return row
        opcode = UNARY.get(op, BINARY.get(op, COMPARISONS.get(op)))
        if opcode == MUL:
            opcode, args = self.multiplication(*args)
        self.code.append((opcode, row, args[0], args[1] if len(args) > 1 else 0, 0))
        return row

    def sum(self, keys) -> int:
        """Emits Add or AddN: left to right, as AddN's kernel sums. A product deferred for
        it is multiplied within the addition that adds it (MUL_ADD)."""
        terms = [self.products.pop(key, None) or self.row_of(key) for key in keys]
        if len(terms) > 1 and isinstance(terms[0], tuple) and not isinstance(terms[1], tuple):
            terms[0], terms[1] = terms[1], terms[0]     # a + b is b + a, bit for bit
        acc, temporary = terms[0], False
        if isinstance(acc, tuple):
            acc, temporary = self.product(acc), True
        if len(terms) == 1:
            if not temporary:
                row = self.alloc()
                self.code.append((COPY, row, acc, 0, 0))
                return row
            return acc
        for term in terms[1:]:
            row = self.alloc()
            if isinstance(term, tuple):
                (a, b), product_keys = term
                opcode, (a, b) = self.multiplication(a, b)
                self.code.append((MUL_ADD if opcode == MUL else MUL_SCALAR_ADD, row, a, b, acc))
                self.consume(product_keys)
            else:
                self.code.append((ADD, row, acc, term, 0))
            if temporary:
                self.free.append(acc)
            acc, temporary = row, True
        return acc

    def product(self, term) -> int:
        """Emits a deferred product on its own (a sum that cannot take it in)."""
        (a, b), keys = term
        opcode, (a, b) = self.multiplication(a, b)
        row = self.alloc()
        self.code.append((opcode, row, a, b, 0))
        self.consume(keys)
        return row

    def multiplication(self, a, b) -> tuple[int, tuple[int, int]]:
        """MUL, or MUL_SCALAR with the single value's row second."""
        if a in self.permanent:
            return MUL_SCALAR, (b, a)
        return (MUL_SCALAR if b in self.permanent else MUL), (a, b)

    def consume(self, keys) -> None:
        """One read of each of `keys` done: rows of values read no more are free."""
        for key in keys:
            self.uses[key] -= 1
            if self.uses[key] == 0 and key in self.rows:
                self.release(self.rows[key])


def _sin_cos_pairs(members, operands) -> dict:
    """Sin and Cos members of one input (a sine and its gradient), each to the other: they
    share one SINCOS instruction."""
    by_input: dict = {}
    for node, keys in zip(members, operands):
        if node.op in ("Sin", "Cos"):
            by_input.setdefault(keys[0], {}).setdefault(node.op, node)
    partner = {}
    for pair in by_input.values():
        if len(pair) == 2:
            partner[pair["Sin"]] = pair["Cos"]
            partner[pair["Cos"]] = pair["Sin"]
    return partner


def _size(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


_POOL = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The threads pieces run on, shared by every evaluation of the process."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(THREADS, thread_name_prefix="gradserve-tape")
        return _POOL


def warm_up() -> None:
    """Loads (or, the first time, compiles and caches) the interpreter for both dtypes, so
    that the first evaluation does not wait for it: a server can call this at start-up.
    The built one when there is one, and the jitted one too when pieces run on threads."""
    for interpret in [_run_tape, run_tape] if THREADS > 1 else [_run_tape]:
        for dtype in DTYPES:
            out = np.empty(1, dtype)
            interpret(np.array([[STORE, 0, 0, 0, 0]], np.int32), np.array([[0, 0]], np.int32),
                      np.ones(1, dtype), np.empty(0, np.int64), np.array([out.ctypes.data]), 1,
                      1, 0, 1, False)
